-- add-traits-update: a profile's changed traits (profile_traits_updates; a removed trait is null).
-- params: $1 segment_id, $2 canonical_segment_id, $3 traits (JSON text), $4 triggering event id,
--   $5 triggering event type, $6 timestamp (ms), $7 received_at (ms), $8 seq
-- returns: nothing
INSERT INTO profile_traits_updates (segment_id, canonical_segment_id, traits, triggering_event_id,
  triggering_event_type, "timestamp", received_at, seq, uuid_ts)
VALUES ($1, $2, CAST($3 AS jsonb), $4, $5, to_timestamp($6::float8 / 1000), to_timestamp($7::float8 / 1000), $8, now())
