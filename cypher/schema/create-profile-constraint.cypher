// Migration: profile ids are globally unique (merged-away ids stay valid as tombstones).
CREATE CONSTRAINT profile_id IF NOT EXISTS FOR (p:Profile) REQUIRE p.id IS UNIQUE
