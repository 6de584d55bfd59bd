export {
  SpacesService,
  SpaceError,
  hashSecret,
  SPACE_ID_PATTERN,
  type Principal,
  type CreatedKey,
} from './spaces.service.ts';
export { SPACE_QUERIES, type KeyInfo, type KeyKind, type Scope } from './spaces.repository.ts';
