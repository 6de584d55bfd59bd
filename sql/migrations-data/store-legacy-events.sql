-- store-legacy-events: stores a page of events moved from the graph, each in the table of its type, with
-- the identifiers it resolved with and its violations (docs/adr/0018-event-store.md). Runs after
-- claim-legacy-events in the same transaction, so every event of the page holds a claim. An event is
-- stored only when its claim has no row: the claim this page just made, or one whose row is missing (a
-- claim that a refusal removed since is made again). A claim with its row (an earlier run of this page
-- that committed before it could delete the nodes, or the same messageId resent to this version) is left
-- alone, so a page moved twice stores nothing twice. The row of a claim is looked for in the table of the
-- claim's type and the partition of its received_at.
-- JSON fields come as the graph's JSON text, cast here, so large numbers keep every digit (§8).
-- params: $1 space, $2 events (jsonb array of {id, type, received_at, timestamp, sent_at,
--         original_timestamp (epoch ms), user_id, anonymous_id, event (slug), event_text, name, category,
--         group_id, previous_id, link_name (track event or page/screen name), properties, traits, context,
--         integrations, warnings, violations (JSON text or null), keys (identifier keys)})
-- returns: message_id (one row per event stored)
WITH input AS (
  SELECT r.*, to_timestamp(r.received_at / 1000) AS received
  FROM jsonb_to_recordset($2::jsonb) AS r(
    id text, type text, received_at float8, "timestamp" float8, sent_at float8, original_timestamp float8,
    user_id text, anonymous_id text, event text, event_text text, name text, category text, group_id text,
    previous_id text, link_name text, properties text, traits text, context text, integrations text,
    warnings text, violations text, keys text[])
),
fresh AS (
  SELECT i.id, i.type, i.received, to_timestamp(i."timestamp" / 1000) AS "timestamp",
         to_timestamp(i.sent_at / 1000) AS sent_at,
         to_timestamp(i.original_timestamp / 1000) AS original_timestamp, i.user_id, i.anonymous_id,
         i.event, i.event_text, i.name, i.category, i.group_id, i.previous_id, i.link_name,
         i.properties::jsonb AS properties, i.traits::jsonb AS traits, i.context::jsonb AS context,
         i.integrations::jsonb AS integrations, nullif(i.warnings::jsonb, '[]'::jsonb) AS warnings,
         nullif(i.violations::jsonb, '[]'::jsonb) AS violations, i.keys
  FROM input i
  LEFT JOIN message_ids m ON m.space = $1 AND m.message_id = i.id
  WHERE m.message_id IS NULL OR NOT CASE m.type
    WHEN 'identify' THEN EXISTS (SELECT 1 FROM identifies t
                                 WHERE t.space = $1 AND t.id = i.id AND t.received_at = m.received_at)
    WHEN 'track' THEN EXISTS (SELECT 1 FROM tracks t
                              WHERE t.space = $1 AND t.id = i.id AND t.received_at = m.received_at)
    WHEN 'page' THEN EXISTS (SELECT 1 FROM pages t
                             WHERE t.space = $1 AND t.id = i.id AND t.received_at = m.received_at)
    WHEN 'screen' THEN EXISTS (SELECT 1 FROM screens t
                               WHERE t.space = $1 AND t.id = i.id AND t.received_at = m.received_at)
    WHEN 'group' THEN EXISTS (SELECT 1 FROM groups t
                              WHERE t.space = $1 AND t.id = i.id AND t.received_at = m.received_at)
    WHEN 'alias' THEN EXISTS (SELECT 1 FROM aliases t
                              WHERE t.space = $1 AND t.id = i.id AND t.received_at = m.received_at)
    ELSE false
  END
),
reclaimed AS (
  INSERT INTO message_ids (space, message_id, type, received_at)
  SELECT $1, id, type, received FROM fresh
  ON CONFLICT DO NOTHING
),
identify_rows AS (
  INSERT INTO identifies (space, id, received_at, "timestamp", sent_at, original_timestamp, user_id,
                          anonymous_id, traits, context, integrations, warnings)
  SELECT $1, id, received, "timestamp", sent_at, original_timestamp, user_id, anonymous_id, traits,
         context, integrations, warnings
  FROM fresh WHERE type = 'identify'
),
track_rows AS (
  INSERT INTO tracks (space, id, received_at, "timestamp", sent_at, original_timestamp, user_id,
                      anonymous_id, event, event_text, properties, context, integrations, warnings)
  SELECT $1, id, received, "timestamp", sent_at, original_timestamp, user_id, anonymous_id, event,
         event_text, properties, context, integrations, warnings
  FROM fresh WHERE type = 'track'
),
page_rows AS (
  INSERT INTO pages (space, id, received_at, "timestamp", sent_at, original_timestamp, user_id,
                     anonymous_id, name, category, properties, context, integrations, warnings)
  SELECT $1, id, received, "timestamp", sent_at, original_timestamp, user_id, anonymous_id, name,
         category, properties, context, integrations, warnings
  FROM fresh WHERE type = 'page'
),
screen_rows AS (
  INSERT INTO screens (space, id, received_at, "timestamp", sent_at, original_timestamp, user_id,
                       anonymous_id, name, category, properties, context, integrations, warnings)
  SELECT $1, id, received, "timestamp", sent_at, original_timestamp, user_id, anonymous_id, name,
         category, properties, context, integrations, warnings
  FROM fresh WHERE type = 'screen'
),
group_rows AS (
  INSERT INTO groups (space, id, received_at, "timestamp", sent_at, original_timestamp, user_id,
                      anonymous_id, group_id, traits, context, integrations, warnings)
  SELECT $1, id, received, "timestamp", sent_at, original_timestamp, user_id, anonymous_id, group_id,
         traits, context, integrations, warnings
  FROM fresh WHERE type = 'group'
),
alias_rows AS (
  INSERT INTO aliases (space, id, received_at, "timestamp", sent_at, original_timestamp, user_id,
                       anonymous_id, previous_id, context, integrations, warnings)
  SELECT $1, id, received, "timestamp", sent_at, original_timestamp, user_id, anonymous_id,
         previous_id, context, integrations, warnings
  FROM fresh WHERE type = 'alias'
),
linked AS (
  INSERT INTO event_identifiers (space, key, "timestamp", message_id, type, name, received_at)
  SELECT $1, k.key, f."timestamp", f.id, f.type, f.link_name, f.received
  FROM fresh f CROSS JOIN LATERAL unnest(f.keys) AS k(key)
),
months AS (
  -- As finish-batch's: the months each identifier has events of each stream in, in the same order.
  INSERT INTO identifier_months (space, key, type, name, month)
  SELECT DISTINCT $1, k.key, f.type, CASE WHEN f.type = 'track' THEN coalesce(f.link_name, '') ELSE '' END,
         date_trunc('month', f.received, 'UTC')
  FROM fresh f CROSS JOIN LATERAL unnest(f.keys) AS k(key)
  WHERE f.type IN ('track', 'page', 'screen')
  ORDER BY 2, 3, 4, 5
  ON CONFLICT DO NOTHING
),
violated AS (
  INSERT INTO event_violations (space, message_id, "timestamp", violations, received_at)
  SELECT $1, id, "timestamp", violations, received
  FROM fresh WHERE violations IS NOT NULL
)
SELECT id AS message_id FROM fresh
