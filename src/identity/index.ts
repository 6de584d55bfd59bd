export {
  EMAIL_MIGRATION,
  IdentityService,
  UnknownSpaceError,
  type ApplyResult,
  type BatchEffect,
  type SetRulesResult,
} from './identity.service.ts';
export { IDENTITY_QUERIES, MigrationRepository, type MigrationState } from './identity.repository.ts';
export type { Violation } from './decide.ts';
export {
  extractIdentifiers,
  normaliseIdentifier,
  identifierKey,
  identifierProblem,
  parseIdentifierKey,
  type Identifier,
} from './identifiers.ts';
export { blockedValueProblem, type IdentifierRule, type BlockedValue, type Window } from './rules.ts';
export { searchableValue, type TraitState } from './traits.ts';
export {
  checkInvariants,
  INVARIANT_CHECKS,
  REVIEW_LISTS,
  reviewLists,
  type InvariantResult,
} from './invariants.ts';
export type { FastEvent } from './fast-path.ts';
