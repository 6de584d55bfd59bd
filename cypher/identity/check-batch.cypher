// check-batch: the space's rules version (so cached rules can be reused) and, when the batch's identity
// effect was already written (a resend or the recovery pass finishing it), that effect
// (docs/adr/0018-event-store.md).
// params: $space, $batchId
// returns: rulesVersion (null when the space does not exist), effect (JSON text, or null when not applied)
OPTIONAL MATCH (s:Space {id: $space})
OPTIONAL MATCH (b:AppliedBatch {id: $batchId})
RETURN CASE WHEN s IS NULL THEN null ELSE coalesce(s.rulesVersion, 0) END AS rulesVersion,
       b.effect AS effect
