// delete-legacy-events: removes Event nodes, with their FROM edges, once PostgreSQL holds them
// (docs/adr/0018-event-store.md). Deleting what is already gone changes nothing.
// params: $space, $messageIds (list)
// returns: deleted
UNWIND $messageIds AS wanted
MATCH (e:Event {space: $space, messageId: wanted})
DETACH DELETE e
RETURN count(*) AS deleted
