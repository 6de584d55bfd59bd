export {
  SyncService,
  DEFAULT_SYNC_SETTINGS,
  type AddTargetResult,
  type SyncHooks,
  type SyncRun,
  type SyncSettings,
  type SyncStep,
  type SyncTargetStatus,
} from './sync.service.ts';
export { SYNC_QUERIES } from './sync.repository.ts';
export { SecretBox } from './secrets.ts';
export {
  TARGET_KINDS,
  TARGET_QUERIES,
  TARGETS_DIR,
  openTarget,
  type TargetKind,
  type SyncTarget,
} from './targets.ts';
