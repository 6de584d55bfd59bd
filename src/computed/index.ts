export {
  ComputedTraitsService,
  DEFAULT_COMPUTED_SETTINGS,
  CONSUMER,
  MAX_CHANGES_PAGE,
  emptyValue,
  type ComputedSettings,
  type ComputedTrait,
  type CreateResult,
  type KeepAsTraits,
  type ProfileComputedValue,
} from './computed.service.ts';
export {
  COMPUTED_QUERIES,
  type TraitLevel,
  type TraitStatus,
  type ValueChange,
} from './computed.repository.ts';
