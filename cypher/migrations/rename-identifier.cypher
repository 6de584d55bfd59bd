// rename-identifier: gives an identifier its normalised key and value, unless another identifier of the
// space already has that key (then nothing changes and renamed is 0).
// params: $space, $from (key), $to (key), $value (the normalised value)
// returns: renamed (0 or 1)
MATCH (i:Identifier {space: $space, key: $from})
WHERE NOT EXISTS { MATCH (:Identifier {space: $space, key: $to}) }
SET i.key = $to, i.value = $value
RETURN count(i) AS renamed
