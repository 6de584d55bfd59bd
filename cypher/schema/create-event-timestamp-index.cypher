// Migration: event histories are read newest first.
CREATE INDEX event_timestamp IF NOT EXISTS FOR (e:Event) ON (e.timestamp)
