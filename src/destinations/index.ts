export {
  DestinationsService,
  DEFAULT_DESTINATION_SETTINGS,
  MAX_DELIVERIES_PAGE,
  type DestinationSettings,
  type Destination,
  type DestinationRefusal,
  type CreateDestinationResult,
  type UpdateDestinationResult,
  type DeliveryObserver,
} from './destinations.service.ts';
export {
  ANALYZE_AFTER_QUEUED,
  DESTINATION_QUERIES,
  type DeliveryStatus,
  type DeliveryView,
} from './destinations.repository.ts';
export {
  callOf,
  retryDelayMs,
  type DeliveryMode,
  type QueuedDelivery,
  type SubjectIdentity,
} from './calls.ts';
export { addressRefusal, checkWebhookUrl } from './url-guard.ts';
export { decryptSecret, encryptSecret } from './secrets.ts';
