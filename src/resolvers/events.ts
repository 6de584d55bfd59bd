// Thin resolvers for the Segment calls (STYLE.md §3): read arguments, call the ingest service. Loaders
// are cleared afterwards, since the event may have merged profiles this request already loaded.
import type { Context } from '../context.ts';
import type { MutationResolvers } from '../generated/graphql.ts';
import type { EventType } from '../ingest/index.ts';
import { requireScope } from './auth.ts';

const send =
  (type: EventType) =>
  async (_: unknown, { input }: { input: unknown }, ctx: Context) => {
    requireScope(ctx, 'write');
    const { space, services, loaders } = ctx;
    const outcome = await services.ingest.send(space, type, input);
    loaders.clearAll();
    return outcome;
  };

export const eventMutations: MutationResolvers = {
  identify: send('identify'),
  track: send('track'),
  page: send('page'),
  screen: send('screen'),
  group: send('group'),
  alias: send('alias'),
  batch: async (_, { input }, ctx) => {
    requireScope(ctx, 'write');
    const { space, services, loaders } = ctx;
    const outcome = await services.ingest.batch(space, input);
    loaders.clearAll();
    return outcome;
  },
};
