-- subject-identity: the user_id and anonymous_id a delivery names for some profiles: those of the profile,
-- or of its survivor when it was merged away since (profile_merges), first by value when several.
-- params: $1 space, $2 profile ids (text[])
-- returns: subject_id, profile_id (live), user_id, anonymous_id
SELECT s.subject_id, p.profile_id,
       (SELECT min(substr(key, 9)) FROM identity_map WHERE space = $1 AND profile_id = p.profile_id
          AND key LIKE 'user_id:%') AS user_id,
       (SELECT min(substr(key, 14)) FROM identity_map WHERE space = $1 AND profile_id = p.profile_id
          AND key LIKE 'anonymous_id:%') AS anonymous_id
FROM unnest($2::text[]) AS s(subject_id)
CROSS JOIN LATERAL (
  SELECT coalesce((SELECT survivor_id FROM profile_merges WHERE space = $1 AND merged_id = s.subject_id),
                  s.subject_id) AS profile_id
) p
