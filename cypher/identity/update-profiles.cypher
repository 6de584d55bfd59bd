// update-profiles: writes the state the resolution computed for each live profile a batch touched: traits
// (JSON, plus their `trait.<key>` mirror; null values remove), merge count and activity times.
// params: $profiles (list of {id, traits, traitsMeta (JSON strings), traitProps (map), mergeCount,
//         firstEventAt, lastEventAt, firstSeenAt, lastSeenAt (ISO-8601 or null)}), $now (ISO-8601)
// returns: updated
UNWIND $profiles AS row
MATCH (p:Profile {id: row.id})
SET p.traits = row.traits, p.traitsMeta = row.traitsMeta, p.mergeCount = row.mergeCount,
    p.updatedAt = datetime($now),
    p.firstEventAt = CASE WHEN row.firstEventAt IS NULL THEN null ELSE datetime(row.firstEventAt) END,
    p.lastEventAt = CASE WHEN row.lastEventAt IS NULL THEN null ELSE datetime(row.lastEventAt) END,
    p.firstSeenAt = CASE WHEN row.firstSeenAt IS NULL THEN null ELSE datetime(row.firstSeenAt) END,
    p.lastSeenAt = CASE WHEN row.lastSeenAt IS NULL THEN null ELSE datetime(row.lastSeenAt) END
SET p += row.traitProps
RETURN count(p) AS updated
