-- set-user-computed-trait: a computed trait's current value on a user (computed_traits).
-- params: $1 canonical_segment_id, $2 trait_key, $3 value (text: a string as it is, other values as JSON),
--   $4 updated_at (ms), $5 seq
-- returns: nothing
INSERT INTO computed_traits (canonical_segment_id, trait_key, value, updated_at, seq, uuid_ts)
VALUES ($1, $2, $3, to_timestamp($4::float8 / 1000), $5, now())
ON CONFLICT (canonical_segment_id, trait_key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at,
  seq = excluded.seq, uuid_ts = excluded.uuid_ts
