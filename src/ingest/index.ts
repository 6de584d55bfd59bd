export { IngestService, type EventOutcome, type BatchOutcome } from './ingest.service.ts';
export { validateEvent, validateBatch, LIMITS, type ValidEvent, type EventType } from './event.ts';
export { trackingApi, type TrackingApiDeps } from './tracking-api.ts';
export { RateLimiter, type RateLimitOptions, type RateDecision } from './rate-limit.ts';
