// Thin resolvers for SQL traits (SEMANTICS.md §11, docs/adr/0025-sql-traits.md): reading needs the read
// scope, defining, deleting and running need admin; refusals of the service become `Error`s with the path
// of the offending field.
import type {
  MutationResolvers,
  QueryResolvers,
  SqlTraitResolvers,
  SqlTraitStatus,
} from '../generated/graphql.ts';
import { InputError } from '../errors.ts';
import type { SqlTrait as SqlTraitModel } from '../sql-traits/index.ts';
import { requireScope } from './auth.ts';

export const sqlTraitQueries: QueryResolvers = {
  sqlTraits: (_, __, ctx) => {
    requireScope(ctx, 'read');
    return ctx.services.sqlTraits.list(ctx.space);
  },
  sqlTrait: (_, { key }, ctx) => {
    requireScope(ctx, 'read');
    return ctx.services.sqlTraits.get(ctx.space, key);
  },
};

export const sqlTraitMutations: MutationResolvers = {
  createSqlTrait: async (_, { input }, ctx) => {
    requireScope(ctx, 'admin');
    const result = await ctx.services.sqlTraits.create(ctx.space, {
      key: input.key,
      targetId: input.targetId,
      query: input.query,
      schedule: input.schedule ?? null,
      level: input.level ?? 'USERS',
      description: input.description ?? null,
    });
    if (result.ok) return { sqlTrait: result.trait, errors: [] };
    return { sqlTrait: null, errors: [{ code: result.code, message: result.message, path: result.path }] };
  },
  deleteSqlTrait: async (_, { key }, ctx) => {
    requireScope(ctx, 'admin');
    if (await ctx.services.sqlTraits.delete(ctx.space, key)) return { deleted: true, errors: [] };
    return {
      deleted: false,
      errors: [
        { code: 'NOT_FOUND', message: `this space has no SQL trait ${JSON.stringify(key)}`, path: ['key'] },
      ],
    };
  },
  runSqlTrait: async (_, { key }, ctx) => {
    requireScope(ctx, 'admin');
    const result = await ctx.services.sqlTraits.run(ctx.space, key);
    // A run changes profiles' traits: nothing this request loaded before stays valid.
    ctx.loaders.clearAll();
    if (result.ok) return { run: result.run, errors: [] };
    return {
      run: null,
      errors: [
        { code: result.code, message: result.message, path: result.code === 'NOT_FOUND' ? ['key'] : [] },
      ],
    };
  },
};

function status(t: SqlTraitModel): SqlTraitStatus {
  if (t.lastRun === null) return 'PENDING';
  if (t.lastRun.status === 'RUNNING') return 'RUNNING';
  return t.lastRun.status === 'SUCCEEDED' ? 'LIVE' : 'FAILED';
}

export const SqlTrait: SqlTraitResolvers = {
  status: (t) => status(t),
  runs: (t, { first }, { space, services }) => {
    if (first < 1 || first > 100) throw new InputError(`first must be 1 to 100, got ${first}`, ['first']);
    return services.sqlTraits.runs(space, t.key, first);
  },
};
