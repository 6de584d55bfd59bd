-- store-fast-effects: for events that change nothing in the graph (every identifier already on one
-- profile, no traits, no account: the fast path of docs/adr/0018-event-store.md), what finish-batch
-- writes for the others: the identifiers each resolved with, and its change-log entry. Run in the
-- transaction that stored them, for the events it claimed.
-- params: $1 space, $2 identifiers of events (as finish-batch's $3), $3 changes (as finish-batch's $8)
-- returns: linked (rows written)
WITH linked AS (
  INSERT INTO event_identifiers (space, key, "timestamp", message_id, type, name, received_at)
  SELECT $1, r.key, to_timestamp(r."timestamp" / 1000), r.message_id, r.type, r.name,
         to_timestamp(r.received_at / 1000)
  FROM jsonb_to_recordset($2::jsonb) AS r(key text, "timestamp" float8, message_id text, type text,
                                          name text, received_at float8)
  RETURNING 1
),
months AS (
  -- As finish-batch's: the months each identifier has events of each stream in, in the same order.
  INSERT INTO identifier_months (space, key, type, name, month)
  SELECT DISTINCT $1, r.key, r.type, CASE WHEN r.type = 'track' THEN coalesce(r.name, '') ELSE '' END,
         date_trunc('month', to_timestamp(r.received_at / 1000), 'UTC')
  FROM jsonb_to_recordset($2::jsonb) AS r(key text, type text, name text, received_at float8)
  WHERE r.type IN ('track', 'page', 'screen')
  ORDER BY 2, 3, 4, 5
  ON CONFLICT DO NOTHING
),
logged AS (
  INSERT INTO changes (space, kind, payload)
  SELECT $1, c.kind, c.payload
  FROM jsonb_array_elements($3::jsonb) WITH ORDINALITY AS e(value, ord),
       jsonb_to_record(e.value) AS c(kind text, payload jsonb)
  ORDER BY e.ord
)
SELECT count(*)::int AS linked FROM linked
