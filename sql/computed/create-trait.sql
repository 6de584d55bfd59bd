-- create-trait: a new computed trait or audience, status COMPUTING; nothing when the key was ever used in
-- the space by either, or by a SQL trait (keys are never reused, SEMANTICS.md §9, §10; ADR 0025).
-- params: $1 space, $2 key, $3 level (USERS | ACCOUNTS), $4 definition (canonical text), $5 description,
--         $6 kind (computed_trait | audience), $7 include anonymous (boolean; audiences)
-- returns: created (1 row when created, none when the key exists)
INSERT INTO computed_traits (space, key, level, definition, description, status, kind, include_anonymous)
SELECT $1, $2, $3, $4, $5, 'COMPUTING', $6, $7
WHERE NOT EXISTS (SELECT 1 FROM sql_traits WHERE space = $1 AND key = $2)
ON CONFLICT (space, key) DO NOTHING
RETURNING 1 AS created
