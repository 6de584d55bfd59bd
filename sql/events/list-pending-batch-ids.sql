-- list-pending-batch-ids: every pending batch id, so that graph markers of batches not yet finished are
-- kept (sweep-batches.cypher).
-- params: none
-- returns: batch_id (text)
SELECT batch_id::text AS batch_id FROM pending_batches
