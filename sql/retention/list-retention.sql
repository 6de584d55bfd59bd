-- list-retention: the spaces that keep their events for a set number of days (docs/adr/0028-retention.md).
-- params: none
-- returns: space, retention_days
SELECT space, retention_days FROM space_settings WHERE retention_days IS NOT NULL ORDER BY space
