-- 0011-profile-imports: Profiles CSV upload jobs (SEMANTICS.md §12, docs/adr/0026-profiles-csv-upload.md).
-- A job is created QUEUED when an upload starts, RUNNING once its header is accepted, and DONE or FAILED
-- at the end; its counts are written as it goes, so GraphQL shows progress while the file streams in.
-- Per-row errors are kept for the first IMPORT_ERRORS_CAP (1,000) refused rows of a job, one per line;
-- `refused` counts them all. Numbered 0011: 0010 is taken by another branch.
CREATE TABLE profile_imports (
  id            text        PRIMARY KEY,
  space         text        NOT NULL,
  status        text        NOT NULL CHECK (status IN ('QUEUED', 'RUNNING', 'DONE', 'FAILED')),
  -- 'cli' or 'http': how the file arrived.
  source        text        NOT NULL,
  file_name     text,
  -- The file's size when known up front (the CLI's stat, an HTTP Content-Length); null otherwise.
  bytes_total   bigint,
  bytes_read    bigint      NOT NULL DEFAULT 0,
  columns       text[]      NOT NULL DEFAULT '{}',
  rows          bigint      NOT NULL DEFAULT 0,
  applied       bigint      NOT NULL DEFAULT 0,
  duplicates    bigint      NOT NULL DEFAULT 0,
  refused       bigint      NOT NULL DEFAULT 0,
  -- Why the whole file was refused or the job stopped (FAILED only).
  error_code    text,
  error_message text,
  error_field   text,
  created_at    timestamptz NOT NULL DEFAULT now(),
  updated_at    timestamptz NOT NULL DEFAULT now(),
  finished_at   timestamptz
);
CREATE INDEX ON profile_imports (space, created_at DESC, id);

CREATE TABLE profile_import_errors (
  job_id  text   NOT NULL REFERENCES profile_imports (id) ON DELETE CASCADE,
  line    bigint NOT NULL,
  code    text   NOT NULL,
  message text   NOT NULL,
  field   text,
  PRIMARY KEY (job_id, line)
);
