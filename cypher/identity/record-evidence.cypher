// record-evidence: records that identifiers were seen together (a star around each event's most trusted
// identifier), so that explain and unmerge need no re-ingestion.
// params: $space, $pairs (list of {from, to (keys), messageId (first of this batch), firstAt, lastAt
//         (ISO-8601), count})
// returns: recorded
UNWIND $pairs AS pair
MATCH (a:Identifier {space: $space, key: pair.from})
MATCH (b:Identifier {space: $space, key: pair.to})
MERGE (a)-[w:SEEN_WITH]->(b)
ON CREATE SET w.firstMessageId = pair.messageId, w.firstAt = datetime(pair.firstAt),
              w.lastAt = datetime(pair.lastAt), w.count = 0
SET w.count = w.count + pair.count,
    w.firstAt = CASE WHEN datetime(pair.firstAt) < w.firstAt THEN datetime(pair.firstAt) ELSE w.firstAt END,
    w.lastAt = CASE WHEN datetime(pair.lastAt) > w.lastAt THEN datetime(pair.lastAt) ELSE w.lastAt END
RETURN count(w) AS recorded
