-- record-merge: a merge's id_graph_updates rows: every segment_id that mapped to the merged profile now
-- maps to the survivor (Segment's recursive entries), the merged profile's own id among them.
-- params: $1 merged canonical id, $2 survivor canonical id, $3 triggering event type, $4 triggering event
--   id, $5 timestamp (ms), $6 received_at (ms), $7 seq
-- returns: segment_id (one row per row written)
INSERT INTO id_graph_updates (segment_id, canonical_segment_id, triggering_event_type, triggering_event_id,
                              "timestamp", received_at, seq, uuid_ts)
SELECT segment_id, $2, $3, $4, to_timestamp($5::DOUBLE / 1000), to_timestamp($6::DOUBLE / 1000), $7, now()
FROM profile_merges WHERE canonical_segment_id = $1
RETURNING segment_id
