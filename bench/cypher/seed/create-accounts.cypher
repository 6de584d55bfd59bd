// create-accounts (bench seeding): accounts as cypher/identity/lock-accounts and link-accounts leave them.
// params: $space, $accounts (list of {groupId, createdAt, updatedAt (ISO-8601), traits, traitsMeta (JSON)})
// returns: created
UNWIND $accounts AS row
CREATE (a:Account {space: $space, groupId: row.groupId, createdAt: datetime(row.createdAt),
                   updatedAt: datetime(row.updatedAt), traits: row.traits, traitsMeta: row.traitsMeta})
RETURN count(a) AS created
