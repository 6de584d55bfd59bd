// list-email-identifiers: one page, in (space, key) order after a cursor, of the email identifiers that
// may not be normalised (SEMANTICS.md §8: format characters, not NFC, not lower case, untrimmed; the
// caller decides with the service's own normalisation), with the profile each identifies and the keys of
// that profile's other identifiers. One scan of the email identifiers a page; usually one page in all.
// params: $space (null: every space), $afterSpace, $afterKey (null for the first page), $limit
// returns: space, key, value, profileId (or null), otherKeys (keys of the profile's other identifiers)
MATCH (i:Identifier)
WHERE i.type = 'email' AND ($space IS NULL OR i.space = $space)
  AND (i.value =~ '(?s).*\\p{Cf}.*' OR i.value <> toLower(normalize(i.value, NFC)) OR i.value <> trim(i.value))
  AND ($afterSpace IS NULL OR i.space > $afterSpace OR (i.space = $afterSpace AND i.key > $afterKey))
WITH i
ORDER BY i.space, i.key
LIMIT $limit
OPTIONAL MATCH (i)-[:IDENTIFIES]->(p:Profile)
OPTIONAL MATCH (o:Identifier)-[:IDENTIFIES]->(p)
WHERE o <> i
WITH i, p, collect(o.key) AS otherKeys
ORDER BY i.space, i.key
RETURN i.space AS space, i.key AS key, i.value AS value, p.id AS profileId, otherKeys
