-- reset: empties every table of the sync (a resync starts again from the change log's first row).
-- params: none (several statements)
-- returns: nothing
DELETE FROM id_graph_updates;
DELETE FROM external_id_mapping_updates;
DELETE FROM profile_traits_updates;
DELETE FROM identifies;
DELETE FROM tracks;
DELETE FROM pages;
DELETE FROM screens;
DELETE FROM groups;
DELETE FROM aliases;
DELETE FROM profile_merges;
DELETE FROM user_identifiers;
DELETE FROM user_traits;
DELETE FROM _stitchgraph_sync_values;
DELETE FROM audience_membership_updates;
DELETE FROM computed_trait_updates;
DELETE FROM audience_memberships;
DELETE FROM account_audience_memberships;
DELETE FROM computed_traits;
DELETE FROM account_computed_traits;
DELETE FROM account_traits;
DELETE FROM account_members;
