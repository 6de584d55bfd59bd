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
