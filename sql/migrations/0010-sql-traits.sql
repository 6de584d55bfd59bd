-- 0010-sql-traits: SQL traits (SEMANTICS.md §11, docs/adr/0025-sql-traits.md): a query a user writes
-- against one of the space's sync targets, run on a schedule or on demand, whose rows become traits
-- through ordinary identify (or group) calls. The definitions, every run with its counts and error, and
-- the values each identifier was last sent, from which the next run finds what changed and what is gone.

-- A space's SQL traits. Keys are never reused: a deleted trait keeps its row (deleted_at set), and its
-- runs. next_run_at is the next scheduled slot; a process claims a slot by moving it forward only from
-- the value it read (compare and set), so two processes never run one slot twice.
CREATE TABLE sql_traits (
  space       text        NOT NULL,
  key         text COLLATE "C" NOT NULL,
  level       text        NOT NULL CHECK (level IN ('USERS', 'ACCOUNTS')),
  target_id   text        NOT NULL,
  query       text        NOT NULL,
  schedule    text        NOT NULL,
  description text,
  next_run_at timestamptz NOT NULL,
  -- The trait columns of its latest result that passed the contract: the trait keys it writes, which the
  -- Profile API shows under class=sql_trait.
  columns     text[]      NOT NULL DEFAULT '{}',
  created_at  timestamptz NOT NULL DEFAULT now(),
  deleted_at  timestamptz,
  PRIMARY KEY (space, key)
);
CREATE INDEX ON sql_traits (next_run_at) WHERE deleted_at IS NULL;

-- Every run: its number within the trait (part of the messageIds it sends), what started it, its counts
-- and, when it was refused or failed, a code and the message (the database's own for a bad query).
-- heartbeat_at moves while a run sends; a RUNNING run whose heartbeat stopped was interrupted.
CREATE TABLE sql_trait_runs (
  space        text        NOT NULL,
  key          text COLLATE "C" NOT NULL,
  run          integer     NOT NULL,
  trigger      text        NOT NULL CHECK (trigger IN ('SCHEDULE', 'MANUAL')),
  status       text        NOT NULL CHECK (status IN ('RUNNING', 'SUCCEEDED', 'FAILED')),
  started_at   timestamptz NOT NULL DEFAULT now(),
  heartbeat_at timestamptz NOT NULL DEFAULT now(),
  finished_at  timestamptz,
  rows_read    integer     NOT NULL DEFAULT 0,
  changed      integer     NOT NULL DEFAULT 0,
  removed      integer     NOT NULL DEFAULT 0,
  refused      integer     NOT NULL DEFAULT 0,
  error_code   text,
  error        text,
  PRIMARY KEY (space, key, run)
);
-- At most one run of a trait at a time, across processes.
CREATE UNIQUE INDEX sql_trait_runs_one_running ON sql_trait_runs (space, key) WHERE status = 'RUNNING';

-- The trait values last sent for each identifier of a trait's results (the columns other than the id).
CREATE TABLE sql_trait_values (
  space    text        NOT NULL,
  key      text COLLATE "C" NOT NULL,
  id_value text        NOT NULL,
  traits   jsonb       NOT NULL,
  run      integer     NOT NULL,
  PRIMARY KEY (space, key, id_value)
);
