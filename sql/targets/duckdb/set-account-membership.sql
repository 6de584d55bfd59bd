-- set-account-membership: an account in an audience since a time (account_audience_memberships).
-- params: $1 group_id, $2 audience_key, $3 since (ms), $4 seq
-- returns: nothing
INSERT INTO account_audience_memberships (group_id, audience_key, since, seq, uuid_ts)
VALUES ($1, $2, to_timestamp($3::DOUBLE / 1000), $4, now())
ON CONFLICT (group_id, audience_key) DO UPDATE SET since = excluded.since, seq = excluded.seq,
  uuid_ts = excluded.uuid_ts
