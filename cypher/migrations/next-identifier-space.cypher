// next-identifier-space: the first space after a space id that holds identifiers, read from the
// identifier_key index (the event move fills the identity map space by space).
// params: $after (a space id; '' for the first)
// returns: space (no row when no later space holds any)
MATCH (i:Identifier)
WHERE i.space > $after AND i.key IS NOT NULL
WITH i
ORDER BY i.space, i.key
LIMIT 1
RETURN i.space AS space
