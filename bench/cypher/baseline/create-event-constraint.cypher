// create-event-constraint (graph-events raw baseline): the old design's deduplication constraint on Event
// nodes, which the service no longer creates (events are in PostgreSQL since issue 12); run once before the
// baseline, so that it keeps paying the unique index entry it paid then.
// params: none
// returns: nothing
CREATE CONSTRAINT bench_event_message_id IF NOT EXISTS FOR (e:Event) REQUIRE (e.space, e.messageId) IS UNIQUE
