-- add-pending-batch: records that a batch's events are stored and its identity effect is still to be
-- written to the graph and copied back (docs/adr/0018-event-store.md), in the transaction storing them.
-- params: $1 batch id (uuid), $2 space, $3 messageIds (text[], in batch order)
-- returns: nothing
INSERT INTO pending_batches (batch_id, space, message_ids) VALUES ($1::uuid, $2, $3::text[])
