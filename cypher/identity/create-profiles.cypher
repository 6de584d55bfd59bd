// create-profiles: new, empty live profiles (their identifiers and properties are written afterwards).
// params: $space, $profiles (list of {id, createdAt (ISO-8601)})
// returns: created
UNWIND $profiles AS row
CREATE (p:Profile {id: row.id, space: $space, createdAt: datetime(row.createdAt),
                   updatedAt: datetime(row.createdAt), mergeCount: 0, traits: '{}', traitsMeta: '{}'})
RETURN count(p) AS created
