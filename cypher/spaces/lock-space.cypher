// lock-space: takes the space's write lock, so that rule changes and new-type registrations serialise.
// params: $space
// returns: rulesVersion
MATCH (s:Space {id: $space})
SET s.rulesVersion = coalesce(s.rulesVersion, 0) + 1
RETURN s.rulesVersion AS rulesVersion
