-- fill-identity-map: adds identifiers written before the event store to identity_map, leaving those the
-- ordinary commits have mapped since (docs/adr/0018-event-store.md). Run after lock-identity-map in the
-- same transaction, with the graph read made under that lock, so a commit that re-points a profile later
-- also re-points these rows.
-- params: $1 space, $2 links (jsonb array of {key, profile_id})
-- returns: inserted
WITH inserted AS (
  INSERT INTO identity_map (space, key, profile_id)
  SELECT $1, l.key, l.profile_id
  FROM jsonb_to_recordset($2::jsonb) AS l(key text, profile_id text)
  ON CONFLICT (space, key) DO NOTHING
  RETURNING 1
)
SELECT count(*)::int AS inserted FROM inserted
