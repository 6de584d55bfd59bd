-- 0016-delivery-heads: the sender finds due deliveries by walking the pending ones in id order and keeping
-- each that no earlier pending delivery of its (destination, subject) precedes (sql/destinations/
-- take-deliveries.sql, docs/adr/0023-webhook-destinations.md). This index is that walk: it holds only
-- pending rows, so delivered ones cost nothing, and the walk stops as soon as it has a round's worth.
-- Numbered 0016: 0015 is taken by another branch.
CREATE INDEX destination_deliveries_pending_id ON destination_deliveries (id) WHERE status = 'PENDING';
