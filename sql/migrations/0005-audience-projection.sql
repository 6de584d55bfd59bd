-- 0005-audience-projection: subjects whose audience memberships the graph must show anew (docs/adr/0022:
-- Neo4j Browser's IN_AUDIENCE edges). A row is written in the transaction that changes a membership; the
-- projector writes the subject's current memberships to Neo4j, then removes the row, so a crash between
-- the two stores leaves the row for the next pass and the graph converges on what PostgreSQL holds.
CREATE TABLE audience_projection (
  space      text        NOT NULL,
  level      text        NOT NULL CHECK (level IN ('USERS', 'ACCOUNTS')),
  subject_id text        NOT NULL,
  since      timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (space, level, subject_id)
);
