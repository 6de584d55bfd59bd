// Thin resolvers for the Segment calls (STYLE.md §3): read arguments, call the ingest service.
import type { MutationResolvers } from '../generated/graphql.ts';

export const eventMutations: MutationResolvers = {
  identify: (_, { input }, { space, services }) => services.ingest.send(space, 'identify', input),
  track: (_, { input }, { space, services }) => services.ingest.send(space, 'track', input),
  page: (_, { input }, { space, services }) => services.ingest.send(space, 'page', input),
  screen: (_, { input }, { space, services }) => services.ingest.send(space, 'screen', input),
  group: (_, { input }, { space, services }) => services.ingest.send(space, 'group', input),
  alias: (_, { input }, { space, services }) => services.ingest.send(space, 'alias', input),
  batch: (_, { input }, { space, services }) => services.ingest.batch(space, input),
};
