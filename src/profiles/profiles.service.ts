// Profile reads. Lookups normalise the identifier as ingestion does (SEMANTICS.md §2).
import { identifierKey, normaliseIdentifier } from '../identity/index.ts';
import { ProfilesRepository, type AccountView, type ProfileView } from './profiles.repository.ts';
import type { Graph } from '../graph/index.ts';

export class ProfilesService {
  private readonly repo: ProfilesRepository;

  constructor(graph: Graph) {
    this.repo = new ProfilesRepository(graph);
  }

  async profileBy(space: string, type: string, value: string): Promise<ProfileView | null> {
    const id = normaliseIdentifier(type, value);
    return id === null ? null : this.repo.findByIdentifierKey(space, identifierKey(id));
  }

  account(space: string, groupId: string): Promise<AccountView | null> {
    return this.repo.findAccount(space, groupId);
  }
}
