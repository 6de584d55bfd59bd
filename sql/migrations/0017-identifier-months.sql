-- 0017-identifier-months: the months in which each identifier has events of each stream, so that a
-- profile's events of some streams are looked up in those months' partitions of event_identifiers only,
-- and not at all for an identifier without any (docs/adr/0021-computed-traits.md, "Windows and
-- partitions"). A row per (identifier, type, stream name, month received): `name` is a track's name, and
-- empty for pages and screens (the `Page Viewed` and `Screen Viewed` streams read every one); `month` is
-- the UTC month start of received_at, as the event tables' partitions are bounded. Written with the
-- event_identifiers rows, in the same statement (finish-batch, store-fast-effects, store-legacy-events);
-- rows whose events were removed since (retention, deletion) stay and only cost a lookup that finds
-- nothing; a person's deletion removes its identifiers' rows (sql/privacy/delete-person.sql). This
-- migration fills it from the stored events: stop every process of an older version before it runs, since
-- one ingesting afterwards writes event_identifiers rows without their months, which reads never find.
CREATE TABLE identifier_months (
  space text        NOT NULL,
  key   text COLLATE "C" NOT NULL,
  type  text        NOT NULL,
  name  text        NOT NULL,
  month timestamptz NOT NULL,
  PRIMARY KEY (space, key, type, name, month)
);

INSERT INTO identifier_months (space, key, type, name, month)
SELECT DISTINCT space, key, type, CASE WHEN type = 'track' THEN coalesce(name, '') ELSE '' END,
       date_trunc('month', received_at, 'UTC')
FROM event_identifiers
WHERE type IN ('track', 'page', 'screen');
