// Migration: one Audience node per audience key per space (docs/adr/0022-audiences.md).
CREATE CONSTRAINT audience_key IF NOT EXISTS FOR (a:Audience) REQUIRE (a.space, a.key) IS UNIQUE
