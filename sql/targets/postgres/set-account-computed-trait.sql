-- set-account-computed-trait: a computed trait's current value on an account (account_computed_traits).
-- params: $1 group_id, $2 trait_key, $3 value (text: a string as it is, other values as JSON),
--   $4 updated_at (ms), $5 seq
-- returns: nothing
INSERT INTO account_computed_traits (group_id, trait_key, value, updated_at, seq, uuid_ts)
VALUES ($1, $2, $3, to_timestamp($4::float8 / 1000), $5, now())
ON CONFLICT (group_id, trait_key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at,
  seq = excluded.seq, uuid_ts = excluded.uuid_ts
