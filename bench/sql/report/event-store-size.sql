-- event-store-size (bench report): bytes on disk of each event-store table the issue prices per stored
-- event (the event tables, event_identifiers, event_violations, message_ids), with all their partitions,
-- indexes and TOAST (pg_total_relation_size of the table and of every relation in its partition tree; a
-- partitioned parent itself holds nothing, and a plain table has no tree).
-- params: none
-- returns: relation, bytes (float8)
SELECT t.relation, sum(pg_total_relation_size(p.relid))::float8 AS bytes
FROM unnest(ARRAY['identifies', 'tracks', 'pages', 'screens', 'groups', 'aliases', 'event_identifiers',
                  'event_violations', 'message_ids']) AS t(relation)
CROSS JOIN LATERAL (
  SELECT relid FROM pg_partition_tree(t.relation::regclass)
  UNION
  SELECT t.relation::regclass
) AS p
GROUP BY t.relation
ORDER BY t.relation
