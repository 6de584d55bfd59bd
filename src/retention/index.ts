export {
  RetentionService,
  DEFAULT_RETENTION_SETTINGS,
  MAX_RETENTION_DAYS,
  type MarkRemoved,
  type RetentionError,
  type RetentionHooks,
  type RetentionObserver,
  type RetentionRun,
  type RetentionSettings,
  type SetRetentionResult,
} from './retention.service.ts';
export { RETENTION_QUERIES, type RetentionSetting } from './retention.repository.ts';
