-- 0013-sync-values: Profiles Sync also follows computed_value_changes (audience memberships and computed
-- trait values, docs/adr/0024-profiles-sync.md "Audiences and computed traits"): the changes of a space in
-- commit-safe (txid, id) order, and the event store's copy of where each target stands in them.
CREATE INDEX ON computed_value_changes (space, txid, id);
ALTER TABLE sync_targets ADD COLUMN synced_values_txid text, ADD COLUMN synced_values_id bigint;
