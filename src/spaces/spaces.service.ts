// Spaces, write keys and access tokens (issue #5). Write keys belong to one space and only write events;
// access tokens belong to one space and read, and may also be granted write or admin. Secrets are random,
// shown once, and stored as SHA-256 hashes (they are long random strings, so a fast hash is enough).
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { Graph } from '../graph/index.ts';
import type { IdentityService } from '../identity/index.ts';
import { SpacesRepository, type KeyInfo, type KeyKind, type Scope } from './spaces.repository.ts';

/** Who a request acts as: a key of one space and what it may do there. */
export interface Principal {
  keyId: string;
  space: string;
  kind: KeyKind;
  scopes: Scope[];
}

export interface CreatedKey {
  key: KeyInfo;
  /** The secret itself: shown once, never stored. */
  secret: string;
}

export class SpaceError extends Error {
  constructor(
    readonly code: 'VALIDATION_FAILED' | 'NOT_FOUND',
    message: string,
  ) {
    super(message);
  }
}

export const SPACE_ID_PATTERN = /^[a-z0-9][a-z0-9_-]{0,62}$/;
const SECRET_PREFIX: Record<KeyKind, string> = { write: 'sgw_', token: 'sgt_' };
/** How long an authenticated key is remembered; a revocation takes effect within this time. */
const AUTH_CACHE_MS = 5_000;

export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex');
}

export class SpacesService {
  private readonly repo: SpacesRepository;
  private readonly authCache = new Map<string, { principal: Principal | null; until: number }>();

  constructor(
    graph: Graph,
    private readonly identity: IdentityService,
    private readonly clock: () => Date = () => new Date(),
  ) {
    this.repo = new SpacesRepository(graph);
  }

  /** Creates a space with the default identity rules; false when it already existed. */
  async createSpace(id: string): Promise<boolean> {
    if (!SPACE_ID_PATTERN.test(id)) {
      throw new SpaceError('VALIDATION_FAILED', `space id "${id}" must match ${SPACE_ID_PATTERN.source}`);
    }
    return this.identity.ensureSpace(id);
  }

  listSpaces(): Promise<{ id: string; createdAt: Date }[]> {
    return this.repo.listSpaces();
  }

  /**
   * A new write key (scope `write` only) or access token (`read`, plus `write`/`admin` when granted).
   */
  async createKey(
    space: string,
    kind: KeyKind,
    options: { scopes?: Scope[]; name?: string } = {},
  ): Promise<CreatedKey> {
    const scopes: Scope[] =
      kind === 'write' ? ['write'] : [...new Set<Scope>(['read', ...(options.scopes ?? [])])].sort();
    for (const scope of scopes) {
      if (!['read', 'write', 'admin'].includes(scope)) {
        throw new SpaceError('VALIDATION_FAILED', `unknown scope "${scope}" (read, write, admin)`);
      }
    }
    const secret = SECRET_PREFIX[kind] + randomBytes(kind === 'write' ? 24 : 32).toString('base64url');
    const now = this.clock();
    const key = {
      id: `key_${randomUUID().replaceAll('-', '').slice(0, 16)}`,
      space,
      kind,
      scopes,
      name: options.name ?? '',
      hash: hashSecret(secret),
      prefix: secret.slice(0, 10),
    };
    if (!(await this.repo.createKey(key, now)))
      throw new SpaceError('NOT_FOUND', `space "${space}" does not exist`);
    const { hash: _hash, ...info } = key;
    return { key: { ...info, createdAt: now, revokedAt: null }, secret };
  }

  async revokeKey(id: string): Promise<boolean> {
    const revoked = await this.repo.revokeKey(id, this.clock());
    this.authCache.clear();
    return revoked;
  }

  listKeys(space: string): Promise<KeyInfo[]> {
    return this.repo.listKeys(space);
  }

  /** The principal a secret stands for, or null for a missing, unknown or revoked one. */
  async authenticate(secret: string | null | undefined): Promise<Principal | null> {
    if (!secret) return null;
    const hash = hashSecret(secret);
    const now = Date.now();
    const cached = this.authCache.get(hash);
    if (cached !== undefined && cached.until > now) return cached.principal;
    const found = await this.repo.findKeyByHash(hash);
    const principal =
      found === null ? null : { keyId: found.id, space: found.space, kind: found.kind, scopes: found.scopes };
    if (this.authCache.size > 10_000) this.authCache.clear();
    this.authCache.set(hash, { principal, until: now + AUTH_CACHE_MS });
    return principal;
  }

  /**
   * Start-up: when no key exists yet (a fresh installation), creates the `default` space with one write key
   * and one admin token, and returns their secrets so that the caller prints them once. The server never
   * runs open: without a key nothing but /healthz and /readyz answers.
   */
  async bootstrap(): Promise<{ space: string; writeKey: string; token: string } | null> {
    if ((await this.repo.countKeys()) > 0) return null;
    await this.createSpace('default');
    const write = await this.createKey('default', 'write', { name: 'bootstrap write key' });
    const token = await this.createKey('default', 'token', {
      scopes: ['write', 'admin'],
      name: 'bootstrap admin token',
    });
    return { space: 'default', writeKey: write.secret, token: token.secret };
  }
}
