-- create-trait: a new SQL trait; nothing when the key was ever used in the space by a SQL trait, a
-- computed trait or an audience (keys are never reused, SEMANTICS.md §9, §10).
-- params: $1 space, $2 key, $3 level (USERS | ACCOUNTS), $4 target id, $5 query, $6 schedule,
--         $7 description, $8 first scheduled run (timestamptz)
-- returns: created (1 row when created, none when the key is taken)
INSERT INTO sql_traits (space, key, level, target_id, query, schedule, description, next_run_at)
SELECT $1, $2, $3, $4, $5, $6, $7, $8
WHERE NOT EXISTS (SELECT 1 FROM computed_traits WHERE space = $1 AND key = $2)
ON CONFLICT (space, key) DO NOTHING
RETURNING 1 AS created
