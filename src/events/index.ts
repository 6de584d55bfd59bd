export { EventStore, type StoreBatch } from './events.service.ts';
export {
  EVENT_QUERIES,
  slug,
  type Change,
  type EventLink,
  type FinishedBatch,
  type LoggedChange,
  type PageQuery,
  type StoredEvent,
} from './events.repository.ts';
export {
  LegacyEventMigration,
  EVENT_MOVE_MIGRATION,
  DEFAULT_MOVE_BATCH,
  MAX_MOVE_BATCH,
  type EventMoveOptions,
  type EventMoveProgress,
  type EventMoveResult,
} from './legacy-migration.ts';
export {
  LEGACY_MIGRATION_QUERIES,
  LEGACY_MIGRATION_SQL,
  UnreadableEventError,
} from './legacy-migration.repository.ts';
