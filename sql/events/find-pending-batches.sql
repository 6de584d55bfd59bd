-- find-pending-batches: the pending batches holding any of the given messageIds of a space: a resent event
-- whose batch a crash left half done finishes it (docs/adr/0018-event-store.md).
-- params: $1 space, $2 messageIds (text[])
-- returns: batch_id (text), message_ids (text[])
SELECT batch_id::text AS batch_id, message_ids
FROM pending_batches
WHERE space = $1 AND message_ids && $2::text[]
