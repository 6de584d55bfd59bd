// drop-event-constraint: the deduplication constraint of Event nodes, once none is left (deduplication
// is PostgreSQL's message_ids since the event store, docs/adr/0018-event-store.md).
// params: none
// returns: nothing
DROP CONSTRAINT event_message_id IF EXISTS
