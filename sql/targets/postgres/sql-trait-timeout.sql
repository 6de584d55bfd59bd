-- sql-trait-timeout: the statement timeout of a SQL trait's query, for its read-only transaction alone
-- (docs/adr/0025-sql-traits.md).
-- params: $1 timeout in milliseconds (text)
-- returns: the setting
SELECT set_config('statement_timeout', $1, true) AS statement_timeout
