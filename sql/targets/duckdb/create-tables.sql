-- create-tables: Profiles Sync's tables in Segment's shapes (docs/adr/0024-profiles-sync.md lists where
-- they differ), created unless they exist, and the sync's own position in the change log. Run in the
-- sync transaction, so a target is never left with half of them.
-- params: none (several statements)
-- returns: nothing
CREATE TABLE IF NOT EXISTS _stitchgraph_sync (
  target_id VARCHAR PRIMARY KEY,
  txid VARCHAR NOT NULL,
  position BIGINT NOT NULL,
  generation BIGINT NOT NULL,
  rows_written BIGINT NOT NULL,
  updated_at TIMESTAMPTZ NOT NULL
);
CREATE TABLE IF NOT EXISTS id_graph_updates (
  segment_id VARCHAR NOT NULL,
  canonical_segment_id VARCHAR NOT NULL,
  triggering_event_type VARCHAR,
  triggering_event_id VARCHAR,
  "timestamp" TIMESTAMPTZ,
  received_at TIMESTAMPTZ,
  seq BIGINT NOT NULL,
  uuid_ts TIMESTAMPTZ NOT NULL
);
CREATE TABLE IF NOT EXISTS external_id_mapping_updates (
  id VARCHAR PRIMARY KEY,
  segment_id VARCHAR NOT NULL,
  external_id_type VARCHAR NOT NULL,
  external_id_value VARCHAR NOT NULL,
  external_id_hash VARCHAR NOT NULL,
  triggering_event_id VARCHAR,
  triggering_event_name VARCHAR,
  triggering_event_type VARCHAR,
  triggering_event_source_id VARCHAR,
  "timestamp" TIMESTAMPTZ,
  received_at TIMESTAMPTZ,
  seq BIGINT NOT NULL,
  uuid_ts TIMESTAMPTZ NOT NULL
);
CREATE TABLE IF NOT EXISTS profile_traits_updates (
  segment_id VARCHAR NOT NULL,
  canonical_segment_id VARCHAR NOT NULL,
  traits JSON NOT NULL,
  triggering_event_id VARCHAR,
  triggering_event_type VARCHAR,
  "timestamp" TIMESTAMPTZ,
  received_at TIMESTAMPTZ,
  seq BIGINT NOT NULL,
  uuid_ts TIMESTAMPTZ NOT NULL
);
CREATE TABLE IF NOT EXISTS identifies (
  id VARCHAR PRIMARY KEY,
  segment_id VARCHAR,
  event_source_id VARCHAR,
  received_at TIMESTAMPTZ,
  "timestamp" TIMESTAMPTZ,
  sent_at TIMESTAMPTZ,
  original_timestamp TIMESTAMPTZ,
  user_id VARCHAR,
  anonymous_id VARCHAR,
  traits JSON,
  context JSON,
  uuid_ts TIMESTAMPTZ NOT NULL
);
CREATE TABLE IF NOT EXISTS tracks (
  id VARCHAR PRIMARY KEY,
  segment_id VARCHAR,
  event_source_id VARCHAR,
  received_at TIMESTAMPTZ,
  "timestamp" TIMESTAMPTZ,
  sent_at TIMESTAMPTZ,
  original_timestamp TIMESTAMPTZ,
  user_id VARCHAR,
  anonymous_id VARCHAR,
  event VARCHAR,
  event_text VARCHAR,
  properties JSON,
  context JSON,
  uuid_ts TIMESTAMPTZ NOT NULL
);
CREATE TABLE IF NOT EXISTS pages (
  id VARCHAR PRIMARY KEY,
  segment_id VARCHAR,
  event_source_id VARCHAR,
  received_at TIMESTAMPTZ,
  "timestamp" TIMESTAMPTZ,
  sent_at TIMESTAMPTZ,
  original_timestamp TIMESTAMPTZ,
  user_id VARCHAR,
  anonymous_id VARCHAR,
  name VARCHAR,
  category VARCHAR,
  properties JSON,
  context JSON,
  uuid_ts TIMESTAMPTZ NOT NULL
);
CREATE TABLE IF NOT EXISTS screens (
  id VARCHAR PRIMARY KEY,
  segment_id VARCHAR,
  event_source_id VARCHAR,
  received_at TIMESTAMPTZ,
  "timestamp" TIMESTAMPTZ,
  sent_at TIMESTAMPTZ,
  original_timestamp TIMESTAMPTZ,
  user_id VARCHAR,
  anonymous_id VARCHAR,
  name VARCHAR,
  category VARCHAR,
  properties JSON,
  context JSON,
  uuid_ts TIMESTAMPTZ NOT NULL
);
CREATE TABLE IF NOT EXISTS groups (
  id VARCHAR PRIMARY KEY,
  segment_id VARCHAR,
  event_source_id VARCHAR,
  received_at TIMESTAMPTZ,
  "timestamp" TIMESTAMPTZ,
  sent_at TIMESTAMPTZ,
  original_timestamp TIMESTAMPTZ,
  user_id VARCHAR,
  anonymous_id VARCHAR,
  group_id VARCHAR,
  traits JSON,
  context JSON,
  uuid_ts TIMESTAMPTZ NOT NULL
);
CREATE TABLE IF NOT EXISTS aliases (
  id VARCHAR PRIMARY KEY,
  segment_id VARCHAR,
  event_source_id VARCHAR,
  received_at TIMESTAMPTZ,
  "timestamp" TIMESTAMPTZ,
  sent_at TIMESTAMPTZ,
  original_timestamp TIMESTAMPTZ,
  user_id VARCHAR,
  anonymous_id VARCHAR,
  previous_id VARCHAR,
  context JSON,
  uuid_ts TIMESTAMPTZ NOT NULL
);
CREATE TABLE IF NOT EXISTS profile_merges (
  segment_id VARCHAR PRIMARY KEY,
  canonical_segment_id VARCHAR NOT NULL,
  "timestamp" TIMESTAMPTZ,
  received_at TIMESTAMPTZ,
  seq BIGINT NOT NULL,
  uuid_ts TIMESTAMPTZ NOT NULL
);
CREATE TABLE IF NOT EXISTS user_identifiers (
  canonical_segment_id VARCHAR NOT NULL,
  type VARCHAR NOT NULL,
  value VARCHAR NOT NULL,
  "timestamp" TIMESTAMPTZ,
  received_at TIMESTAMPTZ,
  seq BIGINT NOT NULL,
  uuid_ts TIMESTAMPTZ NOT NULL,
  PRIMARY KEY (type, value)
);
CREATE TABLE IF NOT EXISTS user_traits (
  canonical_segment_id VARCHAR NOT NULL,
  name VARCHAR NOT NULL,
  value VARCHAR,
  "timestamp" TIMESTAMPTZ,
  received_at TIMESTAMPTZ,
  seq BIGINT NOT NULL,
  uuid_ts TIMESTAMPTZ NOT NULL,
  PRIMARY KEY (canonical_segment_id, name)
);
CREATE TABLE IF NOT EXISTS _stitchgraph_sync_values (
  target_id text PRIMARY KEY,
  txid text NOT NULL,
  change_id bigint NOT NULL,
  updated_at TIMESTAMPTZ NOT NULL
);
CREATE TABLE IF NOT EXISTS audience_membership_updates (
  id text PRIMARY KEY,
  level text NOT NULL,
  canonical_segment_id text,
  group_id text,
  audience_key text NOT NULL,
  entered boolean NOT NULL,
  cause text,
  "timestamp" TIMESTAMPTZ,
  seq bigint NOT NULL,
  uuid_ts TIMESTAMPTZ NOT NULL
);
CREATE TABLE IF NOT EXISTS computed_trait_updates (
  id text PRIMARY KEY,
  level text NOT NULL,
  canonical_segment_id text,
  group_id text,
  trait_key text NOT NULL,
  value text,
  cause text,
  "timestamp" TIMESTAMPTZ,
  seq bigint NOT NULL,
  uuid_ts TIMESTAMPTZ NOT NULL
);
CREATE TABLE IF NOT EXISTS audience_memberships (
  canonical_segment_id text NOT NULL,
  audience_key text NOT NULL,
  since TIMESTAMPTZ,
  seq bigint NOT NULL,
  uuid_ts TIMESTAMPTZ NOT NULL,
  PRIMARY KEY (canonical_segment_id, audience_key)
);
CREATE TABLE IF NOT EXISTS account_audience_memberships (
  group_id text NOT NULL,
  audience_key text NOT NULL,
  since TIMESTAMPTZ,
  seq bigint NOT NULL,
  uuid_ts TIMESTAMPTZ NOT NULL,
  PRIMARY KEY (group_id, audience_key)
);
CREATE TABLE IF NOT EXISTS computed_traits (
  canonical_segment_id text NOT NULL,
  trait_key text NOT NULL,
  value text,
  updated_at TIMESTAMPTZ,
  seq bigint NOT NULL,
  uuid_ts TIMESTAMPTZ NOT NULL,
  PRIMARY KEY (canonical_segment_id, trait_key)
);
CREATE TABLE IF NOT EXISTS account_computed_traits (
  group_id text NOT NULL,
  trait_key text NOT NULL,
  value text,
  updated_at TIMESTAMPTZ,
  seq bigint NOT NULL,
  uuid_ts TIMESTAMPTZ NOT NULL,
  PRIMARY KEY (group_id, trait_key)
);
CREATE TABLE IF NOT EXISTS account_traits (
  group_id VARCHAR NOT NULL,
  name VARCHAR NOT NULL,
  value VARCHAR,
  "timestamp" TIMESTAMPTZ,
  received_at TIMESTAMPTZ,
  seq BIGINT NOT NULL,
  uuid_ts TIMESTAMPTZ NOT NULL,
  PRIMARY KEY (group_id, name)
);
CREATE TABLE IF NOT EXISTS account_members (
  group_id VARCHAR NOT NULL,
  canonical_segment_id VARCHAR NOT NULL,
  since TIMESTAMPTZ,
  seq BIGINT NOT NULL,
  uuid_ts TIMESTAMPTZ NOT NULL,
  PRIMARY KEY (group_id, canonical_segment_id)
);
