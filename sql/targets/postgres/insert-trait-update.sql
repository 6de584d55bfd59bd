-- insert-trait-update: a computed trait's new value (computed_trait_updates; null: its empty value, or the
-- profile merged away).
-- params: $1 id, $2 level (USERS, ACCOUNTS), $3 canonical_segment_id (USERS) or null, $4 group_id
--   (ACCOUNTS) or null, $5 trait_key, $6 value (text: a string as it is, other values as JSON), $7 cause,
--   $8 timestamp (ms), $9 seq
-- returns: nothing
INSERT INTO computed_trait_updates (id, level, canonical_segment_id, group_id, trait_key, value, cause,
  "timestamp", seq, uuid_ts)
VALUES ($1, $2, $3, $4, $5, $6, $7, to_timestamp($8::float8 / 1000), $9, now())
