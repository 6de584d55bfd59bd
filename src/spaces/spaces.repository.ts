// Spaces and their keys in the graph. Secrets never reach this layer: only their SHA-256 hashes.
import type { Graph, Row } from '../graph/index.ts';

export type KeyKind = 'write' | 'token';
export type Scope = 'read' | 'write' | 'admin';

export interface KeyInfo {
  id: string;
  space: string;
  kind: KeyKind;
  scopes: Scope[];
  name: string;
  /** The first characters of the secret, to recognise it in a list. */
  prefix: string;
  createdAt: Date;
  revokedAt: Date | null;
}

export interface StoredKey {
  id: string;
  space: string;
  kind: KeyKind;
  scopes: Scope[];
}

export interface NewKey {
  id: string;
  space: string;
  kind: KeyKind;
  scopes: Scope[];
  name: string;
  hash: string;
  prefix: string;
}

export const SPACE_QUERIES = [
  'spaces/list-spaces',
  'keys/create-key',
  'keys/find-key-by-hash',
  'keys/revoke-key',
  'keys/list-keys',
  'keys/count-keys',
] as const;

export class SpacesRepository {
  constructor(private readonly graph: Graph) {}

  async listSpaces(): Promise<{ id: string; createdAt: Date }[]> {
    const rows = await this.graph.readOne('spaces/list-spaces');
    return rows.map((r) => ({ id: String(r.id), createdAt: new Date(Number(r.createdAt)) }));
  }

  /** False when the space does not exist. */
  async createKey(key: NewKey, now: Date): Promise<boolean> {
    const rows = await this.graph.write((tx) =>
      tx.run('keys/create-key', { ...key, now: now.toISOString() }),
    );
    return rows.length > 0;
  }

  async findKeyByHash(hash: string): Promise<StoredKey | null> {
    const [row] = await this.graph.readOne('keys/find-key-by-hash', { hash });
    return row === undefined
      ? null
      : { id: String(row.id), space: String(row.space), kind: row.kind as KeyKind, scopes: scopesOf(row) };
  }

  async revokeKey(id: string, now: Date): Promise<boolean> {
    const rows = await this.graph.write((tx) => tx.run('keys/revoke-key', { id, now: now.toISOString() }));
    return rows.length > 0;
  }

  async countKeys(): Promise<number> {
    const [row] = await this.graph.readOne('keys/count-keys');
    return Number(row?.count ?? 0);
  }

  async listKeys(space: string): Promise<KeyInfo[]> {
    const rows = await this.graph.readOne('keys/list-keys', { space });
    return rows.map((r) => ({
      id: String(r.id),
      space: String(r.space),
      kind: r.kind as KeyKind,
      scopes: scopesOf(r),
      name: String(r.name ?? ''),
      prefix: String(r.prefix),
      createdAt: new Date(Number(r.createdAt)),
      revokedAt: r.revokedAt === null || r.revokedAt === undefined ? null : new Date(Number(r.revokedAt)),
    }));
  }
}

function scopesOf(row: Row): Scope[] {
  return Array.isArray(row.scopes) ? (row.scopes as Scope[]) : [];
}
