-- sql-trait-isolation: asked before a SQL trait's query runs on a PostgreSQL target
-- (docs/adr/0025-sql-traits.md): whether the connection can read the event store's own tables (a target
-- in the event store's database) or another sync target's tables (another space's rows) in any schema.
-- Either refuses the run: the query must see only its space's synced rows.
-- params: none
-- returns: event_store, other_targets (counts of such tables the connection may SELECT from)
SELECT count(*) FILTER (WHERE c.relname IN ('stitchgraph_migrations', 'message_ids', 'identity_map'))::int
         AS event_store,
       count(*) FILTER (WHERE c.relname = '_stitchgraph_sync' AND n.nspname <> current_schema())::int
         AS other_targets
FROM pg_catalog.pg_class c
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f')
  AND c.relname IN ('stitchgraph_migrations', 'message_ids', 'identity_map', '_stitchgraph_sync')
  AND has_schema_privilege(n.oid, 'USAGE')
  AND has_table_privilege(c.oid, 'SELECT')
