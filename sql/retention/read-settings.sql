-- read-settings: a space's retention setting (docs/adr/0028-retention.md); no row: events kept forever.
-- params: $1 space
-- returns: retention_days (integer or null), updated_at (epoch ms)
SELECT retention_days, (extract(epoch FROM updated_at) * 1000)::float8 AS updated_at
FROM space_settings WHERE space = $1
