-- live-traits: every space's computed traits and audiences that are kept up to date (COMPUTING or LIVE).
-- params: none
-- returns: space, key, kind, level, definition, include_anonymous, status
SELECT space, key, kind, level, definition, include_anonymous, status
FROM computed_traits
WHERE status IN ('COMPUTING', 'LIVE')
ORDER BY space, key
