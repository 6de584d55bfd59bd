-- create-regulation: records a deletion or suppression request, INITIALIZED (docs/adr/0027).
-- params: $1 id, $2 space, $3 type, $4 subject key (normalised "type:value")
-- returns: id
INSERT INTO regulations (id, space, type, subject_key, status)
VALUES ($1, $2, $3, $4, 'INITIALIZED')
RETURNING id
