// count-legacy-events: how many Event nodes, as the version before the event store wrote them, are left
// to move to PostgreSQL (docs/adr/0018-event-store.md); the total of the migration's progress bar.
// params: $space (null: every space)
// returns: events
MATCH (e:Event)
WHERE $space IS NULL OR e.space = $space
RETURN count(e) AS events
