// drop-event-timestamp-index: the index of Event nodes by time, once none is left
// (docs/adr/0018-event-store.md).
// params: none
// returns: nothing
DROP INDEX event_timestamp IF EXISTS
