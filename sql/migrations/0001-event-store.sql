-- 0001-event-store: the event store (docs/adr/0018-event-store.md, issue 12). Every accepted call is a row
-- of the table Segment's warehouses name after its type (identifies, tracks, pages, screens, groups,
-- aliases), with Segment's column names and properties, traits and context as jsonb. Each table is
-- partitioned by month of received_at, so retention drops whole partitions; the monthly partitions are
-- created by stitchgraph_ensure_month() ahead of time (sql/events/ensure-partitions.sql).
-- Columns of ours beside Segment's: space (the tenant), warnings (SEMANTICS.md §8). Ids and identifier keys
-- compare byte-wise (COLLATE "C"), so pages order alike on every server whatever its locale.

CREATE TABLE identifies (
  space              text        NOT NULL,
  id                 text COLLATE "C" NOT NULL,
  received_at        timestamptz NOT NULL,
  "timestamp"        timestamptz NOT NULL,
  sent_at            timestamptz,
  original_timestamp timestamptz,
  user_id            text,
  anonymous_id       text,
  traits             jsonb,
  context            jsonb       NOT NULL,
  integrations       jsonb       NOT NULL,
  warnings           jsonb,
  uuid_ts            timestamptz NOT NULL DEFAULT now()
) PARTITION BY RANGE (received_at);

CREATE TABLE tracks (
  space              text        NOT NULL,
  id                 text COLLATE "C" NOT NULL,
  received_at        timestamptz NOT NULL,
  "timestamp"        timestamptz NOT NULL,
  sent_at            timestamptz,
  original_timestamp timestamptz,
  user_id            text,
  anonymous_id       text,
  event              text        NOT NULL,
  event_text         text        NOT NULL,
  properties         jsonb,
  context            jsonb       NOT NULL,
  integrations       jsonb       NOT NULL,
  warnings           jsonb,
  uuid_ts            timestamptz NOT NULL DEFAULT now()
) PARTITION BY RANGE (received_at);

CREATE TABLE pages (
  space              text        NOT NULL,
  id                 text COLLATE "C" NOT NULL,
  received_at        timestamptz NOT NULL,
  "timestamp"        timestamptz NOT NULL,
  sent_at            timestamptz,
  original_timestamp timestamptz,
  user_id            text,
  anonymous_id       text,
  name               text,
  category           text,
  properties         jsonb,
  context            jsonb       NOT NULL,
  integrations       jsonb       NOT NULL,
  warnings           jsonb,
  uuid_ts            timestamptz NOT NULL DEFAULT now()
) PARTITION BY RANGE (received_at);

CREATE TABLE screens (
  space              text        NOT NULL,
  id                 text COLLATE "C" NOT NULL,
  received_at        timestamptz NOT NULL,
  "timestamp"        timestamptz NOT NULL,
  sent_at            timestamptz,
  original_timestamp timestamptz,
  user_id            text,
  anonymous_id       text,
  name               text,
  category           text,
  properties         jsonb,
  context            jsonb       NOT NULL,
  integrations       jsonb       NOT NULL,
  warnings           jsonb,
  uuid_ts            timestamptz NOT NULL DEFAULT now()
) PARTITION BY RANGE (received_at);

CREATE TABLE groups (
  space              text        NOT NULL,
  id                 text COLLATE "C" NOT NULL,
  received_at        timestamptz NOT NULL,
  "timestamp"        timestamptz NOT NULL,
  sent_at            timestamptz,
  original_timestamp timestamptz,
  user_id            text,
  anonymous_id       text,
  group_id           text        NOT NULL,
  traits             jsonb,
  context            jsonb       NOT NULL,
  integrations       jsonb       NOT NULL,
  warnings           jsonb,
  uuid_ts            timestamptz NOT NULL DEFAULT now()
) PARTITION BY RANGE (received_at);

CREATE TABLE aliases (
  space              text        NOT NULL,
  id                 text COLLATE "C" NOT NULL,
  received_at        timestamptz NOT NULL,
  "timestamp"        timestamptz NOT NULL,
  sent_at            timestamptz,
  original_timestamp timestamptz,
  user_id            text,
  anonymous_id       text,
  previous_id        text        NOT NULL,
  context            jsonb       NOT NULL,
  integrations       jsonb       NOT NULL,
  warnings           jsonb,
  uuid_ts            timestamptz NOT NULL DEFAULT now()
) PARTITION BY RANGE (received_at);

-- How profile reads find events: one row per identifier an event carried and resolved with (what FROM
-- edges were in the graph). A profile's events are its identifiers' events, so a merge moves no row.
-- name is the track event or page/screen name, so that filters run before any event table is read.
CREATE TABLE event_identifiers (
  space       text        NOT NULL,
  key         text COLLATE "C" NOT NULL,
  "timestamp" timestamptz NOT NULL,
  message_id  text COLLATE "C" NOT NULL,
  type        text        NOT NULL,
  name        text,
  received_at timestamptz NOT NULL
) PARTITION BY RANGE (received_at);

-- The violations resolution recorded for an event (SEMANTICS.md §4), only for events that had any.
CREATE TABLE event_violations (
  space       text        NOT NULL,
  message_id  text COLLATE "C" NOT NULL,
  "timestamp" timestamptz NOT NULL,
  violations  jsonb       NOT NULL,
  received_at timestamptz NOT NULL
) PARTITION BY RANGE (received_at);

CREATE INDEX ON identifies (space, id);
CREATE INDEX ON tracks (space, id);
CREATE INDEX ON pages (space, id);
CREATE INDEX ON screens (space, id);
CREATE INDEX ON groups (space, id);
CREATE INDEX ON groups (space, group_id, "timestamp", id);
CREATE INDEX ON aliases (space, id);
CREATE INDEX ON event_identifiers (space, key, "timestamp", message_id);
CREATE INDEX ON event_identifiers (space, message_id);
CREATE INDEX ON event_violations (space, message_id);

-- Deduplication by (space, messageId) (SEMANTICS.md §1). A partitioned table cannot hold a unique key
-- without its partition key, so the claim lives here, kept as long as the event (retention deletes both).
CREATE TABLE message_ids (
  space       text        NOT NULL,
  message_id  text COLLATE "C" NOT NULL,
  type        text        NOT NULL,
  received_at timestamptz NOT NULL,
  PRIMARY KEY (space, message_id)
);
CREATE INDEX ON message_ids (received_at);

-- Batches whose events are stored but whose identity effect is not yet recorded here (the two-store
-- commit of docs/adr/0018-event-store.md): a row lives from the event rows' commit until the graph's effect
-- has been copied back; the recovery pass finishes what a crash left.
CREATE TABLE pending_batches (
  batch_id    uuid        PRIMARY KEY,
  space       text        NOT NULL,
  message_ids text[]      NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now()
);

-- The change log: what each commit changed, in commit order, for consumers (computed traits, audiences,
-- destinations, Profiles Sync) that follow changes instead of rescanning. Ordered by (txid, position);
-- a reader only reads below the oldest transaction still running (sql/events/read-changes.sql), so a row
-- never appears behind a position already read.
CREATE TABLE changes (
  position bigserial   PRIMARY KEY,
  txid     xid8        NOT NULL DEFAULT pg_current_xact_id(),
  space    text        NOT NULL,
  kind     text        NOT NULL,
  payload  jsonb       NOT NULL,
  at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX ON changes (txid, position);

-- Which profile each identifier belongs to, in step with the graph through the same commits, for SQL over
-- events. profile_merges maps a merged-away profile to its survivor (one hop, as MERGED_INTO does).
CREATE TABLE identity_map (
  space      text NOT NULL,
  key        text COLLATE "C" NOT NULL,
  profile_id text NOT NULL,
  PRIMARY KEY (space, key)
);
CREATE INDEX ON identity_map (space, profile_id);

CREATE TABLE profile_merges (
  space       text        NOT NULL,
  merged_id   text        NOT NULL,
  survivor_id text        NOT NULL,
  at          timestamptz NOT NULL,
  PRIMARY KEY (space, merged_id)
);
CREATE INDEX ON profile_merges (space, survivor_id);

-- Creates the month's partition of every event table unless it exists. Serialised by an advisory lock,
-- since two processes creating the same partition at once would otherwise fail one of them.
CREATE FUNCTION stitchgraph_ensure_month(month date) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  parent text;
  first_day date := make_date(extract(year FROM month)::int, extract(month FROM month)::int, 1);
  next_day date := (first_day + interval '1 month')::date;
BEGIN
  PERFORM pg_advisory_xact_lock(hashtext('stitchgraph_ensure_month'));
  FOREACH parent IN ARRAY ARRAY['identifies', 'tracks', 'pages', 'screens', 'groups', 'aliases',
                                'event_identifiers', 'event_violations'] LOOP
    EXECUTE format('CREATE TABLE IF NOT EXISTS %I PARTITION OF %I FOR VALUES FROM (%L) TO (%L)',
                   parent || '_' || to_char(first_day, 'YYYY_MM'), parent,
                   to_char(first_day, 'YYYY-MM-DD') || ' 00:00:00+00',
                   to_char(next_day, 'YYYY-MM-DD') || ' 00:00:00+00');
  END LOOP;
END;
$$;
