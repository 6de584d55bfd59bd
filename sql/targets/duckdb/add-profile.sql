-- add-profile: a profile seen for the first time: its id_graph_updates row (mapped to itself) and its
-- profile_merges row.
-- params: $1 segment_id, $2 triggering event type, $3 triggering event id, $4 timestamp (ms),
--   $5 received_at (ms), $6 seq (change-log position)
-- returns: nothing
INSERT INTO id_graph_updates (segment_id, canonical_segment_id, triggering_event_type, triggering_event_id,
                              "timestamp", received_at, seq, uuid_ts)
VALUES ($1, $1, $2, $3, to_timestamp($4::DOUBLE / 1000), to_timestamp($5::DOUBLE / 1000), $6, now())
