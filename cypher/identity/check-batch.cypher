// check-batch: the space's rules version (so cached rules can be reused) and which of a batch's
// messageIds the space already stores (deduplication, SEMANTICS.md §1).
// params: $space, $messageIds (list)
// returns: rulesVersion (null when the space does not exist), stored (list of messageIds)
OPTIONAL MATCH (s:Space {id: $space})
CALL () {
  UNWIND $messageIds AS wanted
  MATCH (e:Event {space: $space, messageId: wanted})
  RETURN collect(e.messageId) AS stored
}
RETURN CASE WHEN s IS NULL THEN null ELSE coalesce(s.rulesVersion, 0) END AS rulesVersion, stored
