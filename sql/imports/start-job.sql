-- start-job: a job's header was accepted; it is RUNNING with these columns.
-- params: $1 id, $2 columns (text[])
-- returns: nothing
UPDATE profile_imports
SET status = 'RUNNING', columns = $2, updated_at = now()
WHERE id = $1
