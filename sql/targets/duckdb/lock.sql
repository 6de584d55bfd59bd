-- lock: taken first in every sync transaction: nothing to do: DuckDB lets one process at a time open a file for writing.
-- params: none
-- returns: locked (false)
SELECT false AS locked
