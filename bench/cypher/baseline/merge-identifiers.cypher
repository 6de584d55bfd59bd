// merge-identifiers (raw ingest baseline): creates missing identifiers and moves their seen times, with no
// read of who owns them. Sorted by key, as the engine sorts, so concurrent batches lock in one order.
// params: $space, $identifiers (list of {key, type, value, first, last (ISO-8601)}, sorted by key)
// returns: merged
UNWIND $identifiers AS id
MERGE (i:Identifier {space: $space, key: id.key})
ON CREATE SET i.type = id.type, i.value = id.value, i.firstSeen = datetime(id.first),
              i.lastSeen = datetime(id.last)
SET i.lastSeen = CASE WHEN datetime(id.last) > i.lastSeen THEN datetime(id.last) ELSE i.lastSeen END
RETURN count(i) AS merged
