// create-event-timestamp-index (graph-events raw baseline): the old design's index on event time, which
// the service no longer creates; run once before the baseline, with create-event-constraint.
// params: none
// returns: nothing
CREATE INDEX bench_event_timestamp IF NOT EXISTS FOR (e:Event) ON (e.timestamp)
