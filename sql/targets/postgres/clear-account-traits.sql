-- clear-account-traits: every trait of an account, before its whole new traits are written (a group call's
-- change-log entry holds them all, so a trait it lacks was removed).
-- params: $1 group_id
-- returns: nothing
DELETE FROM account_traits WHERE group_id = $1
