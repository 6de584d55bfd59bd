-- 0008-destinations: webhook destinations for audiences and computed traits (SEMANTICS.md §10 "Activation",
-- docs/adr/0023-webhook-destinations.md): a destination's settings, its encrypted signing secret, its
-- cursor over computed_value_changes (commit-safe order, as 0006), the snapshot that split each key's
-- initial sync from the changes that follow it, and the durable outbox of deliveries.

CREATE TABLE destinations (
  space       text        NOT NULL,
  id          text        PRIMARY KEY,
  name        text        NOT NULL,
  kind        text        NOT NULL CHECK (kind IN ('webhook')),
  url         text        NOT NULL,
  -- 'identify' and/or 'track'.
  modes       text[]      NOT NULL,
  -- The signing secret (whsec_…), AES-256-GCM under DESTINATION_SECRET_KEY: v1:<iv>:<tag>:<ciphertext>.
  secret      text        NOT NULL,
  -- The last change turned into deliveries, in (txid, id) order.
  cursor_txid xid8        NOT NULL,
  cursor_id   bigint      NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX ON destinations (space);

-- The audiences and computed traits a destination receives. snapshot: the one its initial sync read the
-- current values in; a change of a transaction visible in it is part of that sync, any other follows it.
CREATE TABLE destination_keys (
  destination_id text        NOT NULL REFERENCES destinations (id) ON DELETE CASCADE,
  trait_key      text COLLATE "C" NOT NULL,
  computation    text        NOT NULL CHECK (computation IN ('audience', 'computed_trait')),
  snapshot       pg_snapshot NOT NULL,
  PRIMARY KEY (destination_id, trait_key)
);

-- One call to send: an identify or a track for one change of one subject (or one current value, for the
-- initial sync). Sent in id order per (destination, subject); PENDING until sent (DELIVERED) or given up
-- (FAILED). leased_until: a sender has it in flight until then (a crashed sender's lease runs out).
CREATE TABLE destination_deliveries (
  id              bigserial   PRIMARY KEY,
  destination_id  text        NOT NULL REFERENCES destinations (id) ON DELETE CASCADE,
  space           text        NOT NULL,
  subject_id      text        NOT NULL,
  computation     text        NOT NULL CHECK (computation IN ('audience', 'computed_trait')),
  trait_key       text COLLATE "C" NOT NULL,
  mode            text        NOT NULL CHECK (mode IN ('identify', 'track')),
  old_value       jsonb,
  new_value       jsonb,
  -- The computed_value_changes row it delivers; null for the initial sync.
  change_id       bigint,
  message_id      text        NOT NULL,
  at              timestamptz NOT NULL,
  status          text        NOT NULL DEFAULT 'PENDING' CHECK (status IN ('PENDING', 'DELIVERED', 'FAILED')),
  attempts        int         NOT NULL DEFAULT 0,
  next_attempt_at timestamptz NOT NULL DEFAULT now(),
  leased_until    timestamptz,
  last_error      text,
  last_status     int,
  -- The body last sent.
  payload         jsonb,
  created_at      timestamptz NOT NULL DEFAULT now(),
  delivered_at    timestamptz,
  UNIQUE (destination_id, message_id)
);
CREATE INDEX ON destination_deliveries (destination_id, subject_id, id) WHERE status = 'PENDING';
CREATE INDEX ON destination_deliveries (destination_id, status, id);
