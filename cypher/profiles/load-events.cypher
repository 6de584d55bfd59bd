// load-events: one page of the event history of several profiles (every event carried by any identifier
// the profile holds, so merged histories read as one), keyset-paged on (timestamp, messageId).
// params: $ids (list of profile ids), $first (page size + 1), $newestFirst (boolean),
//         $types (list or null), $names (list or null: track event / page / screen name),
//         $since, $until (epoch ms or null; since inclusive, until exclusive),
//         $afterTime (epoch ms or null), $afterId (messageId or null): the cursor
// returns: profileId, events (list of {messageId, type, event, name, category, properties, traits, context,
//          userId, anonymousId, groupId, previousId, timestamp, receivedAt (epoch ms), warnings (JSON text or null)})
UNWIND $ids AS profileId
MATCH (p:Profile {id: profileId})
CALL (p) {
  MATCH (e:Event)-[:FROM]->(:Identifier)-[:IDENTIFIES]->(p)
  WITH DISTINCT e, e.timestamp.epochMillis AS t
  WHERE ($types IS NULL OR e.type IN $types)
    AND ($names IS NULL OR coalesce(e.event, e.name) IN $names)
    AND ($since IS NULL OR t >= $since)
    AND ($until IS NULL OR t < $until)
    AND ($afterTime IS NULL
         OR ($newestFirst AND (t < $afterTime OR (t = $afterTime AND e.messageId < $afterId)))
         OR (NOT $newestFirst AND (t > $afterTime OR (t = $afterTime AND e.messageId > $afterId))))
  WITH e, t
  ORDER BY CASE WHEN $newestFirst THEN -t ELSE t END,
           CASE WHEN $newestFirst THEN null ELSE e.messageId END,
           CASE WHEN $newestFirst THEN e.messageId ELSE null END DESC
  LIMIT $first
  RETURN collect({messageId: e.messageId, type: e.type, event: e.event, name: e.name, category: e.category,
                  properties: e.properties, traits: e.traits, context: e.context, userId: e.userId,
                  anonymousId: e.anonymousId, groupId: e.groupId, previousId: e.previousId,
                  timestamp: t, receivedAt: e.receivedAt.epochMillis,
                  warnings: e.warnings}) AS events
}
RETURN profileId, events
