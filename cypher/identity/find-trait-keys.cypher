// find-trait-keys: which of the given profile property names (`trait.<key>`) the space already mirrors.
// params: $space, $keys (list of property names)
// returns: known (list of property names)
UNWIND $keys AS wanted
OPTIONAL MATCH (t:TraitKey {space: $space, key: wanted})
RETURN collect(t.key) AS known
