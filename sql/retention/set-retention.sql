-- set-retention: sets how many days of received_at a space keeps its events (null: forever; docs/adr/0028).
-- params: $1 space, $2 days (integer, 1-3650, or null)
-- returns: retention_days, updated_at (epoch ms)
INSERT INTO space_settings (space, retention_days, updated_at) VALUES ($1, $2::integer, now())
ON CONFLICT (space) DO UPDATE SET retention_days = EXCLUDED.retention_days, updated_at = now()
RETURNING retention_days, (extract(epoch FROM updated_at) * 1000)::float8 AS updated_at
