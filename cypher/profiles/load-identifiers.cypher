// load-identifiers: the identifiers of several profiles, each with when it was first seen and the event
// that added it to the profile.
// params: $ids (list of profile ids)
// returns: profileId, identifiers (list of {type, value, firstSeen, addedAt (epoch ms), messageId})
UNWIND $ids AS profileId
MATCH (p:Profile {id: profileId})
CALL (p) {
  MATCH (i:Identifier)-[r:IDENTIFIES]->(p)
  WITH i, r ORDER BY i.type, i.value
  RETURN collect({type: i.type, value: i.value, firstSeen: i.firstSeen.epochMillis,
                  addedAt: r.since.epochMillis, messageId: r.by}) AS identifiers
}
RETURN profileId, identifiers
