-- store-events: claims each event's (space, messageId) and stores the events that it claimed, each in the
-- table of its type, in one statement (docs/adr/0018-event-store.md). An event whose messageId the space
-- holds already is left out: a concurrent writer of the same messageId waits for this one's commit and
-- then finds it held. Rows come as one jsonb array; times are epoch milliseconds.
-- params: $1 space, $2 events (jsonb array of {id, type, received_at, timestamp, sent_at, original_timestamp,
--         user_id, anonymous_id, event, event_text, name, category, group_id, previous_id, properties,
--         traits, context, integrations, warnings}), no messageId twice
-- returns: message_id (one row per event claimed and stored)
WITH input AS (
  SELECT *
  FROM jsonb_to_recordset($2::jsonb) AS r(
    id text, type text, received_at float8, "timestamp" float8, sent_at float8, original_timestamp float8,
    user_id text, anonymous_id text, event text, event_text text, name text, category text, group_id text,
    previous_id text, properties jsonb, traits jsonb, context jsonb, integrations jsonb, warnings jsonb)
),
claimed AS (
  INSERT INTO message_ids (space, message_id, type, received_at)
  SELECT $1, id, type, to_timestamp(received_at / 1000) FROM input
  ON CONFLICT DO NOTHING
  RETURNING message_id
),
fresh AS (
  SELECT i.id, i.type, to_timestamp(i.received_at / 1000) AS received_at,
         to_timestamp(i."timestamp" / 1000) AS "timestamp", to_timestamp(i.sent_at / 1000) AS sent_at,
         to_timestamp(i.original_timestamp / 1000) AS original_timestamp, i.user_id, i.anonymous_id,
         i.event, i.event_text, i.name, i.category, i.group_id, i.previous_id, i.properties, i.traits,
         i.context, i.integrations, i.warnings
  FROM input i JOIN claimed c ON c.message_id = i.id
),
identify_rows AS (
  INSERT INTO identifies (space, id, received_at, "timestamp", sent_at, original_timestamp, user_id,
                          anonymous_id, traits, context, integrations, warnings)
  SELECT $1, id, received_at, "timestamp", sent_at, original_timestamp, user_id, anonymous_id, traits,
         context, integrations, warnings
  FROM fresh WHERE type = 'identify'
),
track_rows AS (
  INSERT INTO tracks (space, id, received_at, "timestamp", sent_at, original_timestamp, user_id,
                      anonymous_id, event, event_text, properties, context, integrations, warnings)
  SELECT $1, id, received_at, "timestamp", sent_at, original_timestamp, user_id, anonymous_id, event,
         event_text, properties, context, integrations, warnings
  FROM fresh WHERE type = 'track'
),
page_rows AS (
  INSERT INTO pages (space, id, received_at, "timestamp", sent_at, original_timestamp, user_id,
                     anonymous_id, name, category, properties, context, integrations, warnings)
  SELECT $1, id, received_at, "timestamp", sent_at, original_timestamp, user_id, anonymous_id, name,
         category, properties, context, integrations, warnings
  FROM fresh WHERE type = 'page'
),
screen_rows AS (
  INSERT INTO screens (space, id, received_at, "timestamp", sent_at, original_timestamp, user_id,
                       anonymous_id, name, category, properties, context, integrations, warnings)
  SELECT $1, id, received_at, "timestamp", sent_at, original_timestamp, user_id, anonymous_id, name,
         category, properties, context, integrations, warnings
  FROM fresh WHERE type = 'screen'
),
group_rows AS (
  INSERT INTO groups (space, id, received_at, "timestamp", sent_at, original_timestamp, user_id,
                      anonymous_id, group_id, traits, context, integrations, warnings)
  SELECT $1, id, received_at, "timestamp", sent_at, original_timestamp, user_id, anonymous_id, group_id,
         traits, context, integrations, warnings
  FROM fresh WHERE type = 'group'
),
alias_rows AS (
  INSERT INTO aliases (space, id, received_at, "timestamp", sent_at, original_timestamp, user_id,
                       anonymous_id, previous_id, context, integrations, warnings)
  SELECT $1, id, received_at, "timestamp", sent_at, original_timestamp, user_id, anonymous_id,
         previous_id, context, integrations, warnings
  FROM fresh WHERE type = 'alias'
)
SELECT message_id FROM claimed
