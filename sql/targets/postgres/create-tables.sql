-- create-tables: Profiles Sync's tables in Segment's shapes (docs/adr/0024-profiles-sync.md lists where
-- they differ), created unless they exist, and the sync's own position in the change log. Run in the
-- sync transaction, so a target is never left with half of them.
-- params: none (several statements)
-- returns: nothing
CREATE TABLE IF NOT EXISTS _stitchgraph_sync (
  target_id text PRIMARY KEY,
  txid text NOT NULL,
  position bigint NOT NULL,
  generation bigint NOT NULL,
  rows_written bigint NOT NULL,
  updated_at timestamptz NOT NULL
);
CREATE TABLE IF NOT EXISTS id_graph_updates (
  segment_id text NOT NULL,
  canonical_segment_id text NOT NULL,
  triggering_event_type text,
  triggering_event_id text,
  "timestamp" timestamptz,
  received_at timestamptz,
  seq bigint NOT NULL,
  uuid_ts timestamptz NOT NULL
);
CREATE TABLE IF NOT EXISTS external_id_mapping_updates (
  id text PRIMARY KEY,
  segment_id text NOT NULL,
  external_id_type text NOT NULL,
  external_id_value text NOT NULL,
  external_id_hash text NOT NULL,
  triggering_event_id text,
  triggering_event_name text,
  triggering_event_type text,
  triggering_event_source_id text,
  "timestamp" timestamptz,
  received_at timestamptz,
  seq bigint NOT NULL,
  uuid_ts timestamptz NOT NULL
);
CREATE TABLE IF NOT EXISTS profile_traits_updates (
  segment_id text NOT NULL,
  canonical_segment_id text NOT NULL,
  traits jsonb NOT NULL,
  triggering_event_id text,
  triggering_event_type text,
  "timestamp" timestamptz,
  received_at timestamptz,
  seq bigint NOT NULL,
  uuid_ts timestamptz NOT NULL
);
CREATE TABLE IF NOT EXISTS identifies (
  id text PRIMARY KEY,
  segment_id text,
  event_source_id text,
  received_at timestamptz,
  "timestamp" timestamptz,
  sent_at timestamptz,
  original_timestamp timestamptz,
  user_id text,
  anonymous_id text,
  traits jsonb,
  context jsonb,
  uuid_ts timestamptz NOT NULL
);
CREATE TABLE IF NOT EXISTS tracks (
  id text PRIMARY KEY,
  segment_id text,
  event_source_id text,
  received_at timestamptz,
  "timestamp" timestamptz,
  sent_at timestamptz,
  original_timestamp timestamptz,
  user_id text,
  anonymous_id text,
  event text,
  event_text text,
  properties jsonb,
  context jsonb,
  uuid_ts timestamptz NOT NULL
);
CREATE TABLE IF NOT EXISTS pages (
  id text PRIMARY KEY,
  segment_id text,
  event_source_id text,
  received_at timestamptz,
  "timestamp" timestamptz,
  sent_at timestamptz,
  original_timestamp timestamptz,
  user_id text,
  anonymous_id text,
  name text,
  category text,
  properties jsonb,
  context jsonb,
  uuid_ts timestamptz NOT NULL
);
CREATE TABLE IF NOT EXISTS screens (
  id text PRIMARY KEY,
  segment_id text,
  event_source_id text,
  received_at timestamptz,
  "timestamp" timestamptz,
  sent_at timestamptz,
  original_timestamp timestamptz,
  user_id text,
  anonymous_id text,
  name text,
  category text,
  properties jsonb,
  context jsonb,
  uuid_ts timestamptz NOT NULL
);
CREATE TABLE IF NOT EXISTS groups (
  id text PRIMARY KEY,
  segment_id text,
  event_source_id text,
  received_at timestamptz,
  "timestamp" timestamptz,
  sent_at timestamptz,
  original_timestamp timestamptz,
  user_id text,
  anonymous_id text,
  group_id text,
  traits jsonb,
  context jsonb,
  uuid_ts timestamptz NOT NULL
);
CREATE TABLE IF NOT EXISTS aliases (
  id text PRIMARY KEY,
  segment_id text,
  event_source_id text,
  received_at timestamptz,
  "timestamp" timestamptz,
  sent_at timestamptz,
  original_timestamp timestamptz,
  user_id text,
  anonymous_id text,
  previous_id text,
  context jsonb,
  uuid_ts timestamptz NOT NULL
);
CREATE TABLE IF NOT EXISTS profile_merges (
  segment_id text PRIMARY KEY,
  canonical_segment_id text NOT NULL,
  "timestamp" timestamptz,
  received_at timestamptz,
  seq bigint NOT NULL,
  uuid_ts timestamptz NOT NULL
);
CREATE TABLE IF NOT EXISTS user_identifiers (
  canonical_segment_id text NOT NULL,
  type text NOT NULL,
  value text NOT NULL,
  "timestamp" timestamptz,
  received_at timestamptz,
  seq bigint NOT NULL,
  uuid_ts timestamptz NOT NULL,
  PRIMARY KEY (type, value)
);
CREATE TABLE IF NOT EXISTS user_traits (
  canonical_segment_id text NOT NULL,
  name text NOT NULL,
  value text,
  "timestamp" timestamptz,
  received_at timestamptz,
  seq bigint NOT NULL,
  uuid_ts timestamptz NOT NULL,
  PRIMARY KEY (canonical_segment_id, name)
);
CREATE TABLE IF NOT EXISTS _stitchgraph_sync_values (
  target_id text PRIMARY KEY,
  txid text NOT NULL,
  change_id bigint NOT NULL,
  updated_at timestamptz NOT NULL
);
CREATE TABLE IF NOT EXISTS audience_membership_updates (
  id text PRIMARY KEY,
  level text NOT NULL,
  canonical_segment_id text,
  group_id text,
  audience_key text NOT NULL,
  entered boolean NOT NULL,
  cause text,
  "timestamp" timestamptz,
  seq bigint NOT NULL,
  uuid_ts timestamptz NOT NULL
);
CREATE TABLE IF NOT EXISTS computed_trait_updates (
  id text PRIMARY KEY,
  level text NOT NULL,
  canonical_segment_id text,
  group_id text,
  trait_key text NOT NULL,
  value text,
  cause text,
  "timestamp" timestamptz,
  seq bigint NOT NULL,
  uuid_ts timestamptz NOT NULL
);
CREATE TABLE IF NOT EXISTS audience_memberships (
  canonical_segment_id text NOT NULL,
  audience_key text NOT NULL,
  since timestamptz,
  seq bigint NOT NULL,
  uuid_ts timestamptz NOT NULL,
  PRIMARY KEY (canonical_segment_id, audience_key)
);
CREATE TABLE IF NOT EXISTS account_audience_memberships (
  group_id text NOT NULL,
  audience_key text NOT NULL,
  since timestamptz,
  seq bigint NOT NULL,
  uuid_ts timestamptz NOT NULL,
  PRIMARY KEY (group_id, audience_key)
);
CREATE TABLE IF NOT EXISTS computed_traits (
  canonical_segment_id text NOT NULL,
  trait_key text NOT NULL,
  value text,
  updated_at timestamptz,
  seq bigint NOT NULL,
  uuid_ts timestamptz NOT NULL,
  PRIMARY KEY (canonical_segment_id, trait_key)
);
CREATE TABLE IF NOT EXISTS account_computed_traits (
  group_id text NOT NULL,
  trait_key text NOT NULL,
  value text,
  updated_at timestamptz,
  seq bigint NOT NULL,
  uuid_ts timestamptz NOT NULL,
  PRIMARY KEY (group_id, trait_key)
);
CREATE TABLE IF NOT EXISTS account_traits (
  group_id text NOT NULL,
  name text NOT NULL,
  value text,
  "timestamp" timestamptz,
  received_at timestamptz,
  seq bigint NOT NULL,
  uuid_ts timestamptz NOT NULL,
  PRIMARY KEY (group_id, name)
);
CREATE TABLE IF NOT EXISTS account_members (
  group_id text NOT NULL,
  canonical_segment_id text NOT NULL,
  since timestamptz,
  seq bigint NOT NULL,
  uuid_ts timestamptz NOT NULL,
  PRIMARY KEY (group_id, canonical_segment_id)
);
