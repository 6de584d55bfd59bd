-- fill-profile-merges: adds merges made before the event store to profile_merges, leaving those the
-- ordinary commits have recorded since (docs/adr/0018-event-store.md). Run after lock-identity-map in the
-- same transaction, with the graph read made under that lock, as fill-identity-map is.
-- params: $1 space, $2 merges (jsonb array of {merged_id, survivor_id, at (epoch ms or null)})
-- returns: inserted
WITH inserted AS (
  INSERT INTO profile_merges (space, merged_id, survivor_id, at)
  SELECT $1, m.merged_id, m.survivor_id, coalesce(to_timestamp(m.at / 1000), now())
  FROM jsonb_to_recordset($2::jsonb) AS m(merged_id text, survivor_id text, at float8)
  ON CONFLICT (space, merged_id) DO NOTHING
  RETURNING 1
)
SELECT count(*)::int AS inserted FROM inserted
