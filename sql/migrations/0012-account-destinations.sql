-- 0012-account-destinations: destinations receive account-level audiences and computed traits as `group`
-- calls (docs/adr/0023-webhook-destinations.md, "Account-level computations"). Numbered 0012: 0010 and 0011
-- are taken by SQL traits and profile imports.
ALTER TABLE destination_keys
  ADD COLUMN level text NOT NULL DEFAULT 'USERS' CHECK (level IN ('USERS', 'ACCOUNTS'));
ALTER TABLE destination_deliveries DROP CONSTRAINT destination_deliveries_mode_check;
-- `group`: an account-level key's call (its subject_id is then the group id).
ALTER TABLE destination_deliveries
  ADD CONSTRAINT destination_deliveries_mode_check CHECK (mode IN ('identify', 'track', 'group'));
