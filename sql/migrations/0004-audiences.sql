-- 0004-audiences: audiences (SEMANTICS.md §10, docs/adr/0022-audiences.md) are kept as computations of
-- the same kind as computed traits: a definition per key (one namespace with the space's computed traits:
-- an audience is referred to as a trait, `trait('vip') = true`), and a boolean value per subject whose
-- `true` is membership. computed_values holds a member's row (value true, updated_at: since when) and a
-- non-member's only while the clock alone may bring it in (value false with expires_at);
-- computed_value_changes records every entry (new_value true) and exit (old_value true).
ALTER TABLE computed_traits
  ADD COLUMN kind text NOT NULL DEFAULT 'computed_trait' CHECK (kind IN ('computed_trait', 'audience')),
  ADD COLUMN include_anonymous boolean NOT NULL DEFAULT false;

-- An audience's history of entries and exits, newest first, a page at a time.
CREATE INDEX ON computed_value_changes (space, trait_key, id);
