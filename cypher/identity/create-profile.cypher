// create-profile: a new, empty live profile.
// params: $space, $id, $now (ISO-8601)
// returns: id
CREATE (p:Profile {id: $id, space: $space, createdAt: datetime($now), updatedAt: datetime($now), mergeCount: 0,
                   traits: '{}', traitsMeta: '{}'})
RETURN p.id AS id
