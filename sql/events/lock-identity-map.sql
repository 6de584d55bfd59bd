-- lock-identity-map: serialises the transactions that copy identity effects of one space into
-- identity_map and profile_merges, so each sees every earlier one (docs/adr/0018-event-store.md).
-- params: $1 space
-- returns: locked (1)
SELECT 1 AS locked FROM (SELECT pg_advisory_xact_lock(hashtext('stitchgraph.identity_map'), hashtext($1))) AS l
