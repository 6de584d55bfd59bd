// load-event-identifiers: the identifiers each of several events carried and resolved with (its FROM
// edges), the `external_ids` of an event in the Profile API.
// params: $space, $messageIds (list)
// returns: messageId, identifiers (list of {type, value}, by type then value)
UNWIND $messageIds AS wanted
MATCH (e:Event {space: $space, messageId: wanted})
CALL (e) {
  OPTIONAL MATCH (e)-[:FROM]->(i:Identifier)
  WITH i ORDER BY i.type, i.value
  WHERE i IS NOT NULL
  RETURN collect({type: i.type, value: i.value}) AS identifiers
}
RETURN wanted AS messageId, identifiers
