// Migration: one rule per identifier type per space.
CREATE CONSTRAINT identifier_rule_type IF NOT EXISTS FOR (r:IdentifierRule) REQUIRE (r.space, r.type) IS UNIQUE
