export {
  ProfilesService,
  type Connection,
  type EventArgs,
  type EventBounds,
  type IdentifierPageArgs,
  type LinkedUser,
  type PageArgs,
  type ProfileSearch,
  type TraitEntry,
  type TraitPageArgs,
  type TraitView,
  MAX_TRAIT_PAGE_SIZE,
} from './profiles.service.ts';
export { profileApi, PROFILE_API_LIMITS } from './profile-api.ts';
export { ProfileLoaders } from './loaders.ts';
import type { Connection } from './profiles.service.ts';
import type { EventView, ProfileView } from './profiles.repository.ts';
export type EventConnectionView = Connection<EventView>;
export type EventEdgeView = EventConnectionView['edges'][number];
export type ProfileConnectionView = Connection<ProfileView>;
export type ProfileEdgeView = ProfileConnectionView['edges'][number];
export { MAX_PAGE_SIZE } from './cursors.ts';
export {
  PROFILE_QUERIES,
  type ProfileView,
  type AccountView,
  type AccountStateView,
  type EventView,
  type MergeView,
  type ViolationView,
  type ProfileIdentifierView,
  type ProfileMetadataView,
} from './profiles.repository.ts';
