export {
  IngestService,
  BATCH_CHUNK,
  type EventOutcome,
  type BatchOutcome,
  type IngestObserver,
} from './ingest.service.ts';
export type { QueueStats } from './write-queue.ts';
export { validateEvent, validateBatch, LIMITS, type ValidEvent, type EventType } from './event.ts';
export { trackingApi, type TrackingApiDeps } from './tracking-api.ts';
export { RateLimiter, type RateLimitOptions, type RateDecision } from './rate-limit.ts';
export { TwoStoreCommit, RECOVERY_AGE_MS, type CommitStep } from './commit.ts';
