// register-trait-keys: registers profile property names (`trait.<key>`) for mirroring while the space
// mirrors fewer than $cap of them (SEMANTICS.md §8: a write key must not grow the database's property
// names without bound; docs/adr/0014). Takes the space's write lock, so concurrent registrations count
// right; names another transaction registered meanwhile are found, not created twice.
// params: $space, $keys (list of property names, sorted), $cap
// returns: allowed (the given names the space now mirrors)
MATCH (s:Space {id: $space})
SET s.traitKeyCount = coalesce(s.traitKeyCount, 0)
WITH s
UNWIND $keys AS wanted
OPTIONAL MATCH (t:TraitKey {space: $space, key: wanted})
WITH s, collect(t.key) AS known, collect(CASE WHEN t IS NULL THEN wanted END) AS missing
WITH s, known, missing[0..CASE WHEN $cap > s.traitKeyCount THEN $cap - s.traitKeyCount ELSE 0 END] AS added
FOREACH (key IN added | CREATE (:TraitKey {space: $space, key: key}))
SET s.traitKeyCount = s.traitKeyCount + size(added)
RETURN known + added AS allowed
