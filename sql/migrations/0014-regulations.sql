-- 0014-regulations: deletion and suppression requests (SEMANTICS.md §12, docs/adr/0027-deletion-and-
-- suppression.md), named after Segment's regulation types. A request is recorded INITIALIZED, RUNNING while
-- its deletion passes run, and FINISHED or FAILED at the end, with the time it ended. Suppressed identifier
-- keys are kept per request, so UNSUPPRESS lifts exactly what the requests about that person suppressed.
-- Numbered 0014: 0010-0013 are taken by other branches.
CREATE TABLE regulations (
  id             text        PRIMARY KEY,
  space          text        NOT NULL,
  type           text        NOT NULL CHECK (type IN ('SUPPRESS_ONLY', 'DELETE_ONLY', 'SUPPRESS_WITH_DELETE',
                                                      'UNSUPPRESS')),
  -- The identifier the request names, normalised ("type:value"), as the caller gave it.
  subject_key    text COLLATE "C" NOT NULL,
  status         text        NOT NULL CHECK (status IN ('INITIALIZED', 'RUNNING', 'FINISHED', 'FAILED')),
  -- Profiles deleted (live and merged-away ids), identifier keys suppressed or lifted, events deleted.
  profiles       integer     NOT NULL DEFAULT 0,
  identifiers    integer     NOT NULL DEFAULT 0,
  events         bigint      NOT NULL DEFAULT 0,
  error_code     text,
  error_message  text,
  created_at     timestamptz NOT NULL DEFAULT now(),
  updated_at     timestamptz NOT NULL DEFAULT now(),
  finished_at    timestamptz
);
CREATE INDEX ON regulations (space, created_at DESC, id);
CREATE INDEX ON regulations (status) WHERE status IN ('INITIALIZED', 'RUNNING');

-- One row per identifier key a request suppressed; ingestion answers events carrying any of them as
-- suppressed. Read whole per space by every process (src/privacy/suppression.ts) and refreshed.
CREATE TABLE suppressed_identifiers (
  space         text        NOT NULL,
  key           text COLLATE "C" NOT NULL,
  regulation_id text        NOT NULL REFERENCES regulations (id),
  created_at    timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (space, key, regulation_id)
);
CREATE INDEX ON suppressed_identifiers (regulation_id);
