// find-event: whether the space already stores an event with this messageId.
// params: $space, $messageId
// returns: messageId
MATCH (e:Event {space: $space, messageId: $messageId})
RETURN e.messageId AS messageId
