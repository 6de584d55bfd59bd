// load-account-events: one page of an account's event history, the group calls that named it, keyset-paged
// on (timestamp, messageId) as load-events is. They are reached through the account's members, whose
// identifiers carried them, so the space's other events are never scanned.
// params: $space, $groupId, $first (page size + 1), $newestFirst (boolean),
//         $names (list or null: track event / page / screen name, which group calls lack),
//         $since, $until (epoch ms or null; since inclusive, until exclusive),
//         $afterTime (epoch ms or null), $afterId (messageId or null): the cursor
// returns: one row per event: messageId, type, event, name, category, properties, traits, context, userId,
//          anonymousId, groupId, previousId, timestamp, receivedAt (epoch ms), warnings (JSON text or null)
MATCH (a:Account {space: $space, groupId: $groupId})<-[:MEMBER_OF]-(:Profile)
      <-[:IDENTIFIES]-(:Identifier)<-[:FROM]-(e:Event)
WHERE e.type = 'group' AND e.groupId = $groupId
WITH DISTINCT e, e.timestamp.epochMillis AS t
WHERE ($names IS NULL OR coalesce(e.event, e.name) IN $names)
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
RETURN e.messageId AS messageId, e.type AS type, e.event AS event, e.name AS name, e.category AS category,
       e.properties AS properties, e.traits AS traits, e.context AS context, e.userId AS userId,
       e.anonymousId AS anonymousId, e.groupId AS groupId, e.previousId AS previousId, t AS timestamp,
       e.receivedAt.epochMillis AS receivedAt, e.warnings AS warnings
