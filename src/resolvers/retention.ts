// Thin resolvers for event retention (SEMANTICS.md §12, docs/adr/0028-retention.md): reading needs the read
// scope, setting the admin scope.
import type { EventRetentionResolvers, MutationResolvers, QueryResolvers } from '../generated/graphql.ts';
import { requireScope } from './auth.ts';

const DAY_MS = 86_400_000;

export const retentionQueries: QueryResolvers = {
  eventRetention: (_, __, ctx) => {
    requireScope(ctx, 'read');
    return ctx.services.retention.retention(ctx.space);
  },
};

export const retentionMutations: MutationResolvers = {
  setEventRetention: async (_, { retentionDays }, ctx) => {
    requireScope(ctx, 'admin');
    const result = await ctx.services.retention.setRetention(ctx.space, retentionDays ?? null);
    return result.ok
      ? { ok: true, retention: result.retention, errors: [] }
      : { ok: false, retention: result.retention, errors: [result.error] };
  },
};

export const EventRetention: EventRetentionResolvers = {
  keepsSince: (setting) =>
    setting.retentionDays === null ? null : new Date(Date.now() - setting.retentionDays * DAY_MS),
};
