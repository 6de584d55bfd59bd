// Migration: an identifier (type:value) exists once per space; concurrent MERGEs on it serialise here.
CREATE CONSTRAINT identifier_key IF NOT EXISTS FOR (i:Identifier) REQUIRE (i.space, i.key) IS UNIQUE
