-- create-trait: a new computed trait, status COMPUTING; nothing when the key was ever used in the space
-- (keys are never reused, SEMANTICS.md §9).
-- params: $1 space, $2 key, $3 level (USERS | ACCOUNTS), $4 definition (canonical text), $5 description
-- returns: created (1 row when created, none when the key exists)
INSERT INTO computed_traits (space, key, level, definition, description, status)
VALUES ($1, $2, $3, $4, $5, 'COMPUTING')
ON CONFLICT (space, key) DO NOTHING
RETURNING 1 AS created
