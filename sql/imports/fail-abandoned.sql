-- fail-abandoned: jobs QUEUED or RUNNING that no process has touched since $1 lost their upload (the
-- process that read it stopped); they are FAILED with code INTERRUPTED. Uploading the file again resumes
-- it: rows already applied are duplicates (docs/adr/0026-profiles-csv-upload.md).
-- params: $1 not updated since (timestamptz)
-- returns: id
UPDATE profile_imports
SET status = 'FAILED', error_code = 'INTERRUPTED',
    error_message = 'The upload stopped before its end (the process reading it went away); upload the file again: rows already applied are skipped as duplicates.',
    updated_at = now(), finished_at = now()
WHERE status IN ('QUEUED', 'RUNNING') AND updated_at < $1
RETURNING id
