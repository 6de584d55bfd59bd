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
  type AudienceResult,
  type AudienceMemberView,
  type AudienceChangeView,
  type Membership,
  type CustomTraitsSource,
  type MembershipProjection,
  type ProfileComputedValue,
} from './computed.service.ts';
export { AudienceGraph, AUDIENCE_GRAPH_QUERIES } from './audience-graph.ts';
export { evaluateSubject, evaluationOrder, type Computation, type SubjectInput } from './evaluate-subject.ts';
export {
  COMPUTED_QUERIES,
  type TraitLevel,
  type TraitStatus,
  type ValueChange,
} from './computed.repository.ts';
