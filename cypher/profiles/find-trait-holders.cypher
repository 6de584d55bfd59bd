// find-trait-holders: the live profiles of a space holding any of some traits, with their traits, in one
// scan of the space's profiles (a preview over the whole space, docs/adr/0022-audiences.md "Preview"; a
// profile holding none of them has none of them to compare). Traits are mirrored as `trait.<key>`
// properties (src/identity/traits.ts), so holding one is its property being set.
// params: $space, $properties (list of `trait.<key>` property names)
// returns: id, traits (JSON string)
MATCH (p:Profile {space: $space})
WHERE p.merged IS NULL AND any(property IN $properties WHERE p[property] IS NOT NULL)
RETURN p.id AS id, p.traits AS traits
