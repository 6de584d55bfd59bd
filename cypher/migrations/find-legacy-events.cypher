// find-legacy-events: whether the graph still holds events of the version before the event store, or a
// move of them that has not finished (its identity map pass), so start-up can tell the operator to run
// `events migrate`. Reads at most one Event node.
// params: $migration (the id prefix of the move's per-space progress markers)
// returns: eventsLeft (boolean), unfinished (boolean)
OPTIONAL MATCH (e:Event)
WITH e
LIMIT 1
OPTIONAL MATCH (m:Migration)
WHERE m.id STARTS WITH $migration AND m.done = false
WITH e, m
LIMIT 1
RETURN e IS NOT NULL AS eventsLeft, m IS NOT NULL AS unfinished
