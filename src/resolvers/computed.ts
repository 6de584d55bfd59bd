// Thin resolvers for computed traits (SEMANTICS.md §9, docs/adr/0021-computed-traits.md): refusals of the
// service become `Error`s with the path of the offending input field.
import type {
  AccountResolvers,
  ComputedTraitChangeResolvers,
  MutationResolvers,
  ProfileResolvers,
  QueryResolvers,
} from '../generated/graphql.ts';
import type { CreateResult } from '../computed/index.ts';
import { requireScope } from './auth.ts';

export const computedQueries: QueryResolvers = {
  computedTraits: (_, __, { space, services }) => services.computed.list(space),
  computedTrait: (_, { key }, { space, services }) => services.computed.get(space, key),
};

export const computedMutations: MutationResolvers = {
  createComputedTrait: async (_, { input }, ctx) => {
    requireScope(ctx, 'admin');
    const { space, services } = ctx;
    const result = await services.computed.create(space, {
      key: input.key,
      definition: input.definition,
      level: input.level ?? 'USERS',
      description: input.description ?? null,
    });
    if (result.ok) return { ok: true, computedTrait: result.trait, errors: [] };
    return { ok: false, computedTrait: null, errors: [refusal(result)] };
  },
  deleteComputedTrait: async (_, { key }, ctx) => {
    requireScope(ctx, 'admin');
    const { space, services, loaders } = ctx;
    const result = await services.computed.deleteKeepingValues(space, key);
    // The profiles' traits changed: nothing this request loaded before stays valid.
    loaders.clearAll();
    if (result !== null) return { deleted: true, keptOnProfiles: result.keptOnProfiles, errors: [] };
    return {
      deleted: false,
      keptOnProfiles: 0,
      errors: [
        {
          code: 'NOT_FOUND',
          message: `this space has no computed trait ${JSON.stringify(key)}`,
          path: ['key'],
        },
      ],
    };
  },
};

export const AccountComputed: Pick<AccountResolvers, 'computedTraits' | 'computedTraitChanges'> = {
  computedTraits: (a, _, { loaders }) => loaders.accountComputedValues.load(a.groupId),
  computedTraitChanges: (a, { first }, { space, services }) =>
    services.computed.changes(space, a.groupId, first, 'ACCOUNTS'),
};

export const ProfileComputed: Pick<ProfileResolvers, 'computedTraits' | 'computedTraitChanges'> = {
  computedTraits: (p, _, { loaders }) => loaders.computedValues.load(p.id),
  computedTraitChanges: (p, { first }, { space, services }) => services.computed.changes(space, p.id, first),
};

export const ComputedTraitChange: ComputedTraitChangeResolvers = {
  key: (c) => c.traitKey,
};

type Refusal = Extract<CreateResult, { ok: false }>;

const PATHS: Record<Refusal['code'], string> = {
  INVALID_DEFINITION: 'definition',
  INVALID_KEY: 'key',
  KEY_TAKEN: 'key',
  TOO_MANY_TRAITS: 'key',
  TOO_MANY_EXPRESSIONS: 'definition',
};

function refusal(r: Refusal) {
  const where = r.position === undefined ? '' : ` (line ${r.position.line}, column ${r.position.column})`;
  return { code: r.code, message: `${r.message}${where}`, path: ['input', PATHS[r.code]] };
}
