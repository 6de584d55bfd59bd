-- probe: asked when a target is added, about the connection's schema: whether it holds the event store's
-- own tables (a target there would write into them), a sync's position table, and tables with the names
-- a sync writes (another tool's, when no position table is there: a resync would empty them).
-- params: none
-- returns: event_store, ours, named (counts)
SELECT count(*) FILTER (WHERE table_name = 'stitchgraph_migrations')::int AS event_store,
       count(*) FILTER (WHERE table_name = '_stitchgraph_sync')::int AS ours,
       count(*) FILTER (WHERE table_name IN ('id_graph_updates', 'external_id_mapping_updates',
         'profile_traits_updates', 'identifies', 'tracks', 'pages', 'screens', 'groups', 'aliases',
         'profile_merges', 'user_identifiers', 'user_traits'))::int AS named
FROM information_schema.tables
WHERE table_schema = current_schema()
