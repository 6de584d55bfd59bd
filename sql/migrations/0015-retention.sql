-- 0015-retention: event retention (SEMANTICS.md §12, docs/adr/0028-retention.md). A space may keep its events
-- for a set number of days of received_at; older ones are removed by the engine, a whole month's partitions
-- at once when every space with events in that month allows it, otherwise the space's rows in batches.

-- Settings of a space that live beside the data they govern. retention_days NULL: events are kept forever.
CREATE TABLE space_settings (
  space          text        PRIMARY KEY,
  retention_days integer     CHECK (retention_days BETWEEN 1 AND 3650),
  updated_at     timestamptz NOT NULL DEFAULT now()
);

-- A space's oldest claims first: what the batches take, and whether a space has events in a month.
CREATE INDEX ON message_ids (space, received_at);

-- Locks the month's partition of every event table (those stitchgraph_ensure_month creates) for the rest of
-- the transaction, serialised with partition creation by the same advisory lock: from here on no event
-- lands in the month, so what the caller then checks (every space with events in it allows the drop) stays
-- true until the drop commits. Returns how many partitions the month has.
CREATE FUNCTION stitchgraph_lock_month(month date) RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
  parent text;
  locked integer := 0;
  first_day date := make_date(extract(year FROM month)::int, extract(month FROM month)::int, 1);
BEGIN
  PERFORM pg_advisory_xact_lock(hashtext('stitchgraph_ensure_month'));
  -- A drop waits at most this long for readers of the month rather than queueing everyone behind it; the
  -- transaction is then tried again (lock_not_available is transient, src/postgres/database.ts).
  PERFORM set_config('lock_timeout', '5s', true);
  FOREACH parent IN ARRAY ARRAY['identifies', 'tracks', 'pages', 'screens', 'groups', 'aliases',
                                'event_identifiers', 'event_violations'] LOOP
    IF to_regclass(parent || '_' || to_char(first_day, 'YYYY_MM')) IS NOT NULL THEN
      EXECUTE format('LOCK TABLE %I IN ACCESS EXCLUSIVE MODE', parent || '_' || to_char(first_day, 'YYYY_MM'));
      locked := locked + 1;
    END IF;
  END LOOP;
  RETURN locked;
END;
$$;

-- Drops the month's partitions with the month's deduplication claims (the claims of every space: the caller
-- has checked that each space with events in the month allows it); returns the partitions dropped and the
-- claims deleted (one per event).
CREATE FUNCTION stitchgraph_drop_month(month date) RETURNS TABLE (partitions integer, events bigint)
LANGUAGE plpgsql AS $$
DECLARE
  parent text;
  first_day date := make_date(extract(year FROM month)::int, extract(month FROM month)::int, 1);
  next_day date := (first_day + interval '1 month')::date;
BEGIN
  partitions := 0;
  PERFORM stitchgraph_lock_month(first_day);
  DELETE FROM message_ids
  WHERE received_at >= (first_day::timestamp AT TIME ZONE 'UTC')
    AND received_at < (next_day::timestamp AT TIME ZONE 'UTC');
  GET DIAGNOSTICS events = ROW_COUNT;
  FOREACH parent IN ARRAY ARRAY['identifies', 'tracks', 'pages', 'screens', 'groups', 'aliases',
                                'event_identifiers', 'event_violations'] LOOP
    IF to_regclass(parent || '_' || to_char(first_day, 'YYYY_MM')) IS NOT NULL THEN
      EXECUTE format('DROP TABLE %I', parent || '_' || to_char(first_day, 'YYYY_MM'));
      partitions := partitions + 1;
    END IF;
  END LOOP;
  RETURN NEXT;
END;
$$;
