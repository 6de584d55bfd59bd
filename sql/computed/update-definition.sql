-- update-definition: an audience's new definition (and include anonymous), computed again over the space's
-- history: status COMPUTING, progress 0. Members stay as they were until the recomputation reaches them.
-- params: $1 space, $2 key, $3 definition (canonical text), $4 include anonymous, $5 description (null: kept),
--         $6 kind
-- returns: updated (1 row when the definition exists and is not deleted)
UPDATE computed_traits
SET definition = $3, include_anonymous = $4, description = coalesce($5, description),
    status = 'COMPUTING', progress = 0, failure = NULL, updated_at = now()
WHERE space = $1 AND key = $2 AND kind = $6 AND status <> 'DELETED'
RETURNING 1 AS updated
