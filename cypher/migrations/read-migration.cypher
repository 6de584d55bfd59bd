// read-migration: the state of a one-off data migration (docs/adr/0014-input-hygiene.md).
// params: $id (the migration's name)
// returns: done (boolean), afterSpace, afterKey (the resume cursor; null before the first page),
//          counts (JSON text of running totals, or null)
OPTIONAL MATCH (m:Migration {id: $id})
RETURN coalesce(m.done, false) AS done, m.afterSpace AS afterSpace, m.afterKey AS afterKey,
       m.counts AS counts
