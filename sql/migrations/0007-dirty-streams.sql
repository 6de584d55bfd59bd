-- 0007-dirty-streams: which event streams moved for a subject marked for recomputation
-- (docs/adr/0021-computed-traits.md, "Only what moved"). An event marks its profile with the one stream it
-- belongs to (a track's name, `Page Viewed` or `Screen Viewed`), and a recomputation then evaluates only
-- the computed traits that read those streams. NULL: every computation of the level (a merge, an
-- identifier, a window, a membership, a trait change, or marks written before this column existed).
ALTER TABLE computed_dirty ADD COLUMN streams text[];
