-- set-account-trait: a trait's value on an account (account_traits): strings as they are, other values as JSON.
-- params: $1 group_id, $2 name, $3 value, $4 timestamp (ms), $5 received_at (ms), $6 seq
-- returns: nothing
INSERT INTO account_traits (group_id, name, value, "timestamp", received_at, seq, uuid_ts)
VALUES ($1, $2, $3, to_timestamp($4::float8 / 1000), to_timestamp($5::float8 / 1000), $6, now())
ON CONFLICT (group_id, name) DO UPDATE SET value = excluded.value, "timestamp" = excluded."timestamp",
  received_at = excluded.received_at, seq = excluded.seq, uuid_ts = excluded.uuid_ts
