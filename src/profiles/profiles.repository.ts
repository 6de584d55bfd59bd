// Profile and account reads, mapped to domain types at this boundary (STYLE.md §6).
import type { Graph, Row } from '../graph/index.ts';

export interface IdentifierView {
  type: string;
  value: string;
}

export interface AccountView {
  groupId: string;
  traits: Record<string, unknown>;
  createdAt: Date;
}

export interface ProfileView {
  id: string;
  createdAt: Date;
  updatedAt: Date;
  identifiers: IdentifierView[];
  traits: Record<string, unknown>;
  accounts: AccountView[];
}

export const PROFILE_QUERIES = ['profiles/find-profile-by-identifier', 'profiles/find-account'] as const;

export class ProfilesRepository {
  constructor(private readonly graph: Graph) {}

  async findByIdentifierKey(space: string, key: string): Promise<ProfileView | null> {
    const [row] = await this.graph.readOne('profiles/find-profile-by-identifier', { space, key });
    return row === undefined ? null : rowToProfile(row);
  }

  async findAccount(space: string, groupId: string): Promise<AccountView | null> {
    const [row] = await this.graph.readOne('profiles/find-account', { space, groupId });
    return row === undefined ? null : rowToAccount(row);
  }
}

function rowToProfile(row: Row): ProfileView {
  const identifiers = Array.isArray(row.identifiers) ? (row.identifiers as Row[]) : [];
  const accounts = Array.isArray(row.accounts) ? (row.accounts as Row[]) : [];
  return {
    id: String(row.id),
    createdAt: new Date(Number(row.createdAt)),
    updatedAt: new Date(Number(row.updatedAt)),
    identifiers: identifiers.map((i) => ({ type: String(i.type), value: String(i.value) })),
    traits: parseJsonObject(row.traits),
    accounts: accounts.map(rowToAccount),
  };
}

function rowToAccount(row: Row): AccountView {
  return {
    groupId: String(row.groupId),
    traits: parseJsonObject(row.traits),
    createdAt: new Date(Number(row.createdAt)),
  };
}

function parseJsonObject(json: unknown): Record<string, unknown> {
  if (typeof json !== 'string') return {};
  const value: unknown = JSON.parse(json);
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : {};
}
