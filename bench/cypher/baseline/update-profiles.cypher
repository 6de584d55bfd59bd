// update-profiles (raw ingest baseline): blind writes of the properties ingestion maintains on each
// touched profile (activity times; traits JSON and their `trait.<key>` mirror when an identify set them).
// params: $profiles (list of {id, lastEventAt, lastSeenAt (ISO-8601), props (map)}, sorted by id), $now
// returns: updated
UNWIND $profiles AS row
MATCH (p:Profile {id: row.id})
SET p.updatedAt = datetime($now), p.lastSeenAt = datetime(row.lastSeenAt),
    p.lastEventAt = CASE WHEN datetime(row.lastEventAt) > p.lastEventAt THEN datetime(row.lastEventAt)
                    ELSE p.lastEventAt END
SET p += row.props
RETURN count(p) AS updated
