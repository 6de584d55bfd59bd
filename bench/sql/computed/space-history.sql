-- space-history (bench W7): a space's stored events, those of them that are tracks named as given (what a
-- trait over that event matches), and its profiles that hold an identifier (what a backfill walks).
-- params: $1 space, $2 track name (as sent)
-- returns: events, matching, profiles (float8)
SELECT (SELECT count(*) FROM message_ids WHERE space = $1)::float8 AS events,
       (SELECT count(*) FROM tracks WHERE space = $1 AND event_text = $2)::float8 AS matching,
       (SELECT count(DISTINCT profile_id) FROM identity_map WHERE space = $1)::float8 AS profiles
