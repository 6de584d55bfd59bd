-- live-traits: every space's computed traits that are kept up to date (COMPUTING or LIVE).
-- params: none
-- returns: space, key, level, definition, status
SELECT space, key, level, definition, status
FROM computed_traits
WHERE status IN ('COMPUTING', 'LIVE')
ORDER BY space, key
