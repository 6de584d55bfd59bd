// Migration: one account per group id per space.
CREATE CONSTRAINT account_key IF NOT EXISTS FOR (a:Account) REQUIRE (a.space, a.groupId) IS UNIQUE
