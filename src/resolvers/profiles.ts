// Thin resolvers for profile and account reads.
import type { QueryResolvers } from '../generated/graphql.ts';

export const profileQueries: QueryResolvers = {
  profile: (_, { by }, { space, services }) => services.profiles.profileBy(space, by.type, by.value),
  account: (_, { groupId }, { space, services }) => services.profiles.account(space, groupId),
};
