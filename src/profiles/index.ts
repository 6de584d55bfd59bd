export { ProfilesService } from './profiles.service.ts';
export {
  PROFILE_QUERIES,
  type ProfileView,
  type AccountView,
  type IdentifierView,
} from './profiles.repository.ts';
