-- set-columns: the trait columns a SQL trait's result has (the trait keys it writes), recorded once the
-- result passed the contract.
-- params: $1 space, $2 key, $3 columns (text[])
-- returns: nothing
UPDATE sql_traits SET columns = $3 WHERE space = $1 AND key = $2
