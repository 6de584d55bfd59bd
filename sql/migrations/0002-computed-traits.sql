-- Computed traits (SEMANTICS.md §9, docs/adr/0021-computed-traits.md): definitions, the maintained values,
-- every change of a value, the subjects whose values are due for recomputation, and the change-log cursor
-- of the consumer that marks them.

-- A space's computed traits. Keys are never reused: a deleted trait keeps its row (status DELETED).
CREATE TABLE computed_traits (
  space       text        NOT NULL,
  key         text COLLATE "C" NOT NULL,
  level       text        NOT NULL CHECK (level IN ('USERS', 'ACCOUNTS')),
  definition  text        NOT NULL,
  description text,
  status      text        NOT NULL CHECK (status IN ('COMPUTING', 'LIVE', 'FAILED', 'DELETED')),
  progress    real        NOT NULL DEFAULT 0,
  failure     text,
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now(),
  deleted_at  timestamptz,
  PRIMARY KEY (space, key)
);

-- The value of a trait for a subject (a live profile id), kept only when it is not the trait's empty value
-- (0 for counts, null otherwise). expires_at: when the oldest event in the trait's window ages out, the
-- moment the value may change without a new event.
CREATE TABLE computed_values (
  space      text        NOT NULL,
  subject_id text        NOT NULL,
  trait_key  text COLLATE "C" NOT NULL,
  value      jsonb       NOT NULL,
  updated_at timestamptz NOT NULL,
  expires_at timestamptz,
  PRIMARY KEY (space, subject_id, trait_key)
);
CREATE INDEX ON computed_values (expires_at) WHERE expires_at IS NOT NULL;
CREATE INDEX ON computed_values (space, trait_key);

-- Every change of a value (issue 13's "changes are events"): old and new (null: the empty value), when,
-- and why: an event (its messageId), a merge, the window, the trait's backfill, a deleted profile.
CREATE TABLE computed_value_changes (
  id         bigserial   PRIMARY KEY,
  space      text        NOT NULL,
  subject_id text        NOT NULL,
  trait_key  text COLLATE "C" NOT NULL,
  old_value  jsonb,
  new_value  jsonb,
  at         timestamptz NOT NULL,
  cause      text        NOT NULL,
  message_id text
);
CREATE INDEX ON computed_value_changes (space, subject_id, id);

-- Subjects whose values are due for recomputation, with the latest cause. A worker takes rows with
-- FOR UPDATE SKIP LOCKED, so several API processes share the work; a crash leaves the row for the next.
CREATE TABLE computed_dirty (
  space      text        NOT NULL,
  subject_id text        NOT NULL,
  cause      text        NOT NULL,
  message_id text,
  since      timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (space, subject_id)
);

-- How far each consumer of the change log has read (read-changes.sql's position).
CREATE TABLE consumer_cursors (
  consumer   text   PRIMARY KEY,
  txid       xid8   NOT NULL,
  position   bigint NOT NULL
);
INSERT INTO consumer_cursors (consumer, txid, position) VALUES ('computed_traits', '0', 0);
