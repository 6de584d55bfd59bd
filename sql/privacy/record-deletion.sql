-- record-deletion: a change-log entry of kind 'deletions' naming the deleted profile ids (never the
-- identifiers' values), so consumers of the log (Profiles Sync, computed traits) can follow (docs/adr/0027).
-- params: $1 space, $2 payload (jsonb: {regulationId, profileIds})
-- returns: nothing
INSERT INTO changes (space, kind, payload) VALUES ($1, 'deletions', $2::jsonb)
