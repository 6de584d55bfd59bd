-- 0006-value-change-order: computed-value changes (audience entries and exits among them) in commit-safe
-- order for live readers (the graphql-ws subscription, docs/adr/0022-audiences.md), as the change log:
-- the writing transaction's id, so that a reader only reads below the oldest transaction still running
-- and no row can later appear behind one it has read.
ALTER TABLE computed_value_changes ADD COLUMN txid xid8 NOT NULL DEFAULT pg_current_xact_id();
CREATE INDEX ON computed_value_changes (space, trait_key, txid, id);
