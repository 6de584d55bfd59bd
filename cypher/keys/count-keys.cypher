// count-keys: how many unrevoked keys exist in all spaces (zero means a fresh installation).
// params: none
// returns: count
MATCH (k:ApiKey)
WHERE k.revokedAt IS NULL
RETURN count(k) AS count
