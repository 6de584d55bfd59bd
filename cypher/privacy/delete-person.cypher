// delete-person: removes a person from the identity graph (docs/adr/0027): the identifiers (with their
// evidence edges) and the profiles, live and merged-away (with their merges, audience and account
// memberships). Profiles of another space are left alone.
// params: $space, $keys (identifier keys), $profileIds (live and merged-away ids)
// returns: identifiers, profiles (counts deleted)
CALL () {
  UNWIND $keys AS wanted
  MATCH (i:Identifier {space: $space, key: wanted})
  DETACH DELETE i
  RETURN count(*) AS identifiers
}
CALL () {
  UNWIND $profileIds AS wanted
  MATCH (p:Profile {id: wanted})
  WHERE p.space = $space
  DETACH DELETE p
  RETURN count(*) AS profiles
}
RETURN identifiers, profiles
