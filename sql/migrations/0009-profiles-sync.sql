-- 0009-profiles-sync: the warehouses a space's profiles are synced to (SEMANTICS.md §11,
-- docs/adr/0024-profiles-sync.md). Where a target stands in the change log is kept in the target itself,
-- committed with the rows it wrote; `synced_*` here is a copy taken after each commit, for status and lag
-- only. The location (a DuckDB file's path, or a PostgreSQL URL that may hold a password) is stored
-- encrypted (AES-256-GCM, SYNC_SECRET_KEY); `display` is the location without its password, and
-- `location_hash` (an HMAC of the location under the same key) keeps two targets from sharing one place.
-- Numbered 0009: main has 0007 (dirty streams) and 0008 (webhook destinations).
CREATE TABLE sync_targets (
  id                text        PRIMARY KEY,
  space             text        NOT NULL,
  kind              text        NOT NULL CHECK (kind IN ('duckdb', 'postgres')),
  name              text        NOT NULL,
  location          text        NOT NULL,
  location_hash     text        NOT NULL UNIQUE,
  display           text        NOT NULL,
  -- Raised by `sync resync`: a target whose own generation is lower is emptied and read from the start.
  generation        bigint      NOT NULL DEFAULT 1,
  created_at        timestamptz NOT NULL DEFAULT now(),
  synced_txid       text,
  synced_position   bigint,
  synced_generation bigint,
  rows_written      bigint      NOT NULL DEFAULT 0,
  last_synced_at    timestamptz,
  last_error        text,
  last_error_at     timestamptz,
  failures          integer     NOT NULL DEFAULT 0
);
CREATE INDEX ON sync_targets (space, created_at);
