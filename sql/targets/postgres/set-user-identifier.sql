-- set-user-identifier: an identifier's row in user_identifiers, on its profile now.
-- params: $1 canonical_segment_id, $2 type, $3 value, $4 timestamp (ms), $5 received_at (ms), $6 seq
-- returns: nothing
INSERT INTO user_identifiers (canonical_segment_id, type, value, "timestamp", received_at, seq, uuid_ts)
VALUES ($1, $2, $3, to_timestamp($4::float8 / 1000), to_timestamp($5::float8 / 1000), $6, now())
ON CONFLICT (type, value) DO UPDATE SET canonical_segment_id = excluded.canonical_segment_id,
  "timestamp" = excluded."timestamp", received_at = excluded.received_at, seq = excluded.seq,
  uuid_ts = excluded.uuid_ts
