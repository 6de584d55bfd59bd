export { IngestService, type EventOutcome, type BatchOutcome } from './ingest.service.ts';
export { validateEvent, validateBatch, LIMITS, type ValidEvent, type EventType } from './event.ts';
