// Thin resolvers for Profiles Sync's status (docs/adr/0024-profiles-sync.md); admin only, since a target's
// location names a server or a file.
import type { QueryResolvers, SyncTargetResolvers } from '../generated/graphql.ts';
import { requireScope } from './auth.ts';

export const syncQueries: QueryResolvers = {
  syncTargets: (_, __, ctx) => {
    requireScope(ctx, 'admin');
    return ctx.services.sync.targets(ctx.space);
  },
};

export const SyncTarget: SyncTargetResolvers = {
  kind: (t) => (t.kind === 'duckdb' ? 'DUCKDB' : 'POSTGRES'),
  lagChanges: (t) => t.lag.changes,
  lagSeconds: (t) => t.lag.ms / 1000,
};
