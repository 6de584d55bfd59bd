// Migration: a key's secret hash identifies it (and lookups by hash use this constraint's index).
CREATE CONSTRAINT api_key_hash IF NOT EXISTS FOR (k:ApiKey) REQUIRE k.hash IS UNIQUE
