// Thin resolvers for the identity rules (SEMANTICS.md §3).
import type { BlockedValueResolvers, MutationResolvers, QueryResolvers } from '../generated/graphql.ts';
import { blockedValueProblem } from '../identity/index.ts';
import { requireScope } from './auth.ts';

export const rulesQueries: QueryResolvers = {
  identityRules: (_, __, { space, services }) => services.identity.rules(space),
};

export const rulesMutations: MutationResolvers = {
  setIdentityRules: async (_, { rules }, ctx) => {
    requireScope(ctx, 'admin');
    const { space, services } = ctx;
    const result = await services.identity.setRules(
      space,
      rules.map((r) => ({
        type: r.type,
        priority: r.priority,
        limit: r.limit,
        window: r.window ?? 'EVER',
        blockedValues: (r.blockedValues ?? []).map((b) => ({ value: b.value, match: b.match })),
      })),
    );
    return {
      ok: result.ok,
      rules: result.rules,
      errors: result.ok
        ? []
        : result.problems.map((p) => ({
            code: 'VALIDATION_FAILED',
            message: p.message,
            path: ['rules', ...p.path],
          })),
    };
  },
};

export const blockedValueFields: BlockedValueResolvers = {
  problem: (blocked) => blockedValueProblem(blocked),
};
