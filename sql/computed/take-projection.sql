-- take-projection: some subjects whose graph memberships are due (audience_projection), oldest first,
-- locked for this transaction (other processes skip them). Their memberships are read by the next
-- statement (projection-memberships.sql), whose snapshot is taken after these locks: a change committed
-- while this one waited is read there, and one committed later waits for this transaction (its upsert
-- of the row) and is projected again.
-- params: $1 limit
-- returns: space, level, subject_id
SELECT space, level, subject_id FROM audience_projection ORDER BY since LIMIT $1 FOR UPDATE SKIP LOCKED
