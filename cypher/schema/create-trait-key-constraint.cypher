// Migration: one registration per mirrored trait key per space (SEMANTICS.md §8; docs/adr/0014).
CREATE CONSTRAINT trait_key IF NOT EXISTS FOR (t:TraitKey) REQUIRE (t.space, t.key) IS UNIQUE
