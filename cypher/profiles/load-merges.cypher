// load-merges: the profiles merged into each of several profiles, oldest merge first.
// params: $ids (list of profile ids)
// returns: profileId, merges (list of {profileId, at (epoch ms), messageId, reason, identifiers (keys)})
UNWIND $ids AS profileId
MATCH (p:Profile {id: profileId})
CALL (p) {
  OPTIONAL MATCH (m:Profile)-[t:MERGED_INTO]->(p)
  WITH m, t ORDER BY t.at, m.id
  WHERE m IS NOT NULL
  RETURN collect({profileId: m.id, at: t.at.epochMillis, messageId: t.by, reason: t.reason,
                  identifiers: t.identifiers}) AS merges
}
RETURN profileId, merges
