export {
  PrivacyService,
  DEFAULT_PRIVACY_SETTINGS,
  type PrivacySettings,
  type PrivacyHooks,
  type RegulationError,
  type RequestResult,
} from './privacy.service.ts';
export {
  PRIVACY_QUERIES,
  PrivacyRepository,
  PRIVACY_GRAPH_QUERIES,
  REGULATION_TYPES,
  type Regulation,
  type RegulationStatus,
  type RegulationType,
} from './privacy.repository.ts';
export { SuppressionList, SUPPRESSION_REFRESH_MS } from './suppression.ts';
