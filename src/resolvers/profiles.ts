// Thin resolvers for profile and account reads (issue #4): arguments in, one service or loader call out.
import type { AccountResolvers, ProfileResolvers, QueryResolvers } from '../generated/graphql.ts';

export const profileQueries: QueryResolvers = {
  profile: (_, { by }, { space, services }) => services.profiles.profileBy(space, by.type, by.value),
  profileById: (_, { id }, { loaders }) => loaders.profileById.load(id),
  account: (_, { groupId }, { space, services }) => services.profiles.account(space, groupId),
  profiles: (_, { where, first, after }, { space, services }) =>
    services.profiles.searchProfiles(space, where ?? null, { first, after }),
};

export const Profile: ProfileResolvers = {
  identifiers: (p, _, { loaders }) => loaders.identifiers.load(p.id),
  trait: (p, { key }, { services }) => services.profiles.trait(p, key),
  events: (p, args, { services, loaders }) => services.profiles.events(loaders, p.id, args),
  accounts: (p, _, { loaders }) => loaders.accounts.load(p.id),
  merges: (p, _, { loaders }) => loaders.merges.load(p.id),
  violations: (p, { first }, { services, loaders }) => services.profiles.violations(loaders, p.id, first),
};

export const Account: AccountResolvers = {
  members: (a, args, { services, loaders }) => services.profiles.members(loaders, a.groupId, args),
};
