-- lock: taken first in every sync transaction: a transaction-level advisory lock, so that two processes syncing to one database take turns.
-- params: none
-- returns: locked (false)
SELECT pg_advisory_xact_lock(hashtext('stitchgraph_profiles_sync')) IS NULL AS locked
