-- add-identifier: an identifier that joined a profile (external_id_mapping_updates).
-- params: $1 id (change-log position and index), $2 segment_id, $3 external_id_type, $4 external_id_value,
--   $5 external_id_hash, $6 triggering event id, $7 triggering event name, $8 triggering event type,
--   $9 timestamp (ms), $10 received_at (ms), $11 seq
-- returns: nothing
INSERT INTO external_id_mapping_updates (id, segment_id, external_id_type, external_id_value, external_id_hash,
  triggering_event_id, triggering_event_name, triggering_event_type, triggering_event_source_id,
  "timestamp", received_at, seq, uuid_ts)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, NULL, to_timestamp($9::DOUBLE / 1000), to_timestamp($10::DOUBLE / 1000), $11, now())
ON CONFLICT (id) DO NOTHING
