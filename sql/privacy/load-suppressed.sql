-- load-suppressed: every identifier key suppressed in a space (src/privacy/suppression.ts keeps them in
-- memory and reads them again every SUPPRESSION_REFRESH_MS).
-- params: $1 space
-- returns: key
SELECT DISTINCT key FROM suppressed_identifiers WHERE space = $1
