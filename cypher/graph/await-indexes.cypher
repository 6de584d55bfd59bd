// await-indexes: waits (up to 60 s) until every index is online, after migrations.
// params: none
// returns: nothing
CALL db.awaitIndexes(60)
