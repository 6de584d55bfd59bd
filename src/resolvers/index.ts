// The resolver map, assembled from one file per domain.
import type { Resolvers } from '../generated/graphql.ts';
import {
  AccountComputed,
  ComputedTraitChange,
  ProfileComputed,
  computedMutations,
  computedQueries,
} from './computed.ts';
import { eventMutations } from './events.ts';
import {
  AccountAudiences,
  Audience,
  AudienceChange,
  AudienceMember,
  ProfileAudiences,
  audienceMutations,
  audienceQueries,
  audienceSubscriptions,
} from './audiences.ts';
import { Delivery, Destination, destinationMutations, destinationQueries } from './destinations.ts';
import { Account, Profile, profileQueries } from './profiles.ts';
import { blockedValueFields, rulesMutations, rulesQueries } from './rules.ts';
import { SyncTarget, syncQueries } from './sync.ts';
import { SqlTrait, sqlTraitMutations, sqlTraitQueries } from './sql-traits.ts';
import { ImportJob, importQueries } from './imports.ts';
import { Regulation, regulationMutations, regulationQueries } from './regulations.ts';
import { EventRetention, retentionMutations, retentionQueries } from './retention.ts';
import {
  DateTimeScalar,
  JSONObjectScalar,
  JSONScalar,
  SegmentIdScalar,
  SegmentTimestampScalar,
} from './scalars.ts';

export const VERSION = '0.1.0';

export const resolvers: Resolvers = {
  JSON: JSONScalar,
  JSONObject: JSONObjectScalar,
  DateTime: DateTimeScalar,
  SegmentId: SegmentIdScalar,
  SegmentTimestamp: SegmentTimestampScalar,
  Query: {
    version: () => VERSION,
    ...rulesQueries,
    ...profileQueries,
    ...computedQueries,
    ...audienceQueries,
    ...destinationQueries,
    ...syncQueries,
    ...sqlTraitQueries,
    ...importQueries,
    ...regulationQueries,
    ...retentionQueries,
  },
  Regulation,
  EventRetention,
  SyncTarget,
  SqlTrait,
  ImportJob,
  Profile: { ...Profile, ...ProfileComputed, ...ProfileAudiences },
  ComputedTraitChange,
  Account: { ...Account, ...AccountComputed, ...AccountAudiences },
  Audience,
  AudienceMember,
  AudienceChange,
  Destination,
  Delivery,
  Subscription: audienceSubscriptions,
  BlockedValue: blockedValueFields,
  Mutation: {
    ...eventMutations,
    ...rulesMutations,
    ...computedMutations,
    ...audienceMutations,
    ...destinationMutations,
    ...sqlTraitMutations,
    ...regulationMutations,
    ...retentionMutations,
  },
};
