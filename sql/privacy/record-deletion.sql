-- record-deletion: a change-log entry of kind 'deletions' naming the deleted profile ids (never the
-- identifiers' values) or the deleted account (its id is its group_id, as everywhere in the event store),
-- so consumers of the log (Profiles Sync) can follow (docs/adr/0027).
-- params: $1 space, $2 payload (jsonb: {regulationId, profileIds: text[], groupIds: text[]})
-- returns: nothing
INSERT INTO changes (space, kind, payload) VALUES ($1, 'deletions', $2::jsonb)
