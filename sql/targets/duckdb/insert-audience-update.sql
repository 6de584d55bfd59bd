-- insert-audience-update: an entry into or exit from an audience (audience_membership_updates).
-- params: $1 id, $2 level (USERS, ACCOUNTS), $3 canonical_segment_id (USERS) or null, $4 group_id
--   (ACCOUNTS) or null, $5 audience_key, $6 entered (boolean), $7 cause, $8 timestamp (ms), $9 seq
-- returns: nothing
INSERT INTO audience_membership_updates (id, level, canonical_segment_id, group_id, audience_key, entered,
  cause, "timestamp", seq, uuid_ts)
VALUES ($1, $2, $3, $4, $5, $6, $7, to_timestamp($8::DOUBLE / 1000), $9, now())
