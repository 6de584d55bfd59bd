// Deletion and suppression requests in PostgreSQL (sql/privacy/, migration 0014) and the person's part of
// the identity graph (cypher/privacy/). Rows and records are checked here and turned into domain types
// (STYLE.md §6).
import { z } from 'zod';
import type { Graph } from '../graph/index.ts';
import type { Database } from '../postgres/database.ts';

export const PRIVACY_QUERIES = [
  'privacy/create-regulation',
  'privacy/list-regulations',
  'privacy/claim-regulation',
  'privacy/unfinished-regulations',
  'privacy/record-progress',
  'privacy/finish-regulation',
  'privacy/suppress-keys',
  'privacy/unsuppress-key',
  'privacy/load-suppressed',
  'privacy/stored-subjects',
  'privacy/delete-person',
  'privacy/record-deletion',
  'privacy/delete-account',
] as const;

export const PRIVACY_GRAPH_QUERIES = [
  'privacy/find-person',
  'privacy/delete-person',
  'privacy/delete-account',
] as const;

/** Segment's regulation types (its Public API's "User Deletion and Suppression"). */
export const REGULATION_TYPES = [
  'SUPPRESS_ONLY',
  'DELETE_ONLY',
  'SUPPRESS_WITH_DELETE',
  'UNSUPPRESS',
] as const;
export type RegulationType = (typeof REGULATION_TYPES)[number];
export type RegulationStatus = 'INITIALIZED' | 'RUNNING' | 'FINISHED' | 'FAILED';

export interface Regulation {
  id: string;
  space: string;
  type: RegulationType;
  /** The identifier the request names, normalised (`type:value`). */
  subjectKey: string;
  status: RegulationStatus;
  /** Profiles deleted, live and merged-away. */
  profiles: number;
  /** Identifier keys suppressed (or lifted, for UNSUPPRESS), or deleted. */
  identifiers: number;
  /** Events deleted from the event store. */
  events: number;
  error: { code: string; message: string } | null;
  createdAt: Date;
  updatedAt: Date;
  finishedAt: Date | null;
  /** createdAt in epoch microseconds, exactly as stored: the page cursor's time. */
  createdMicros: string;
}

/** What one pass found of a person: profile ids (live and merged-away) and identifier keys. */
export interface Person {
  profileIds: string[];
  keys: string[];
}

const regulationRow = z.object({
  id: z.string(),
  space: z.string(),
  type: z.enum(REGULATION_TYPES),
  subject_key: z.string(),
  status: z.enum(['INITIALIZED', 'RUNNING', 'FINISHED', 'FAILED']),
  profiles: z.number(),
  identifiers: z.number(),
  events: z.string(),
  error_code: z.string().nullable(),
  error_message: z.string().nullable(),
  created_at: z.number(),
  updated_at: z.number(),
  finished_at: z.number().nullable(),
  created_us: z.string(),
});

const claimRow = z.object({
  id: z.string(),
  space: z.string(),
  type: z.enum(REGULATION_TYPES),
  subject_key: z.string(),
});

const personRow = z.object({
  profileId: z.string(),
  keys: z.array(z.string()),
  merged: z.array(z.string()),
});

const storedRow = z.object({ profile_ids: z.array(z.string()), keys: z.array(z.string()) });
const deletedRow = z.object({
  events: z.number(),
  identifiers: z.number(),
  values: z.number(),
  only_keys: z.array(z.string()),
});
const graphDeletedRow = z.object({ identifiers: z.unknown(), profiles: z.unknown() });
const keyRow = z.object({ key: z.string() });

/** A Neo4j integer (or a plain number) as a number. */
function count(value: unknown): number {
  if (typeof value === 'number') return value;
  if (typeof value === 'object' && value !== null && 'toNumber' in value)
    return (value as { toNumber(): number }).toNumber();
  return Number(value);
}

export class PrivacyRepository {
  constructor(
    private readonly db: Database,
    private readonly graph: Graph,
  ) {}

  async create(id: string, space: string, type: RegulationType, subjectKey: string): Promise<void> {
    await this.db.query('privacy/create-regulation', [id, space, type, subjectKey]);
  }

  async list(
    space: string,
    options: { id?: string; after?: { createdMicros: string; id: string }; limit: number },
  ): Promise<Regulation[]> {
    const rows = await this.db.query('privacy/list-regulations', [
      space,
      options.id ?? null,
      options.after?.createdMicros ?? null,
      options.after?.id ?? null,
      options.limit,
    ]);
    return rows.map((raw) => {
      const r = regulationRow.parse(raw);
      return {
        id: r.id,
        space: r.space,
        type: r.type,
        subjectKey: r.subject_key,
        status: r.status,
        profiles: r.profiles,
        identifiers: r.identifiers,
        events: Number(r.events),
        error: r.error_code === null ? null : { code: r.error_code, message: r.error_message ?? '' },
        createdAt: new Date(r.created_at),
        updatedAt: new Date(r.updated_at),
        finishedAt: r.finished_at === null ? null : new Date(r.finished_at),
        createdMicros: r.created_us,
      };
    });
  }

  /** Takes a request to work on (INITIALIZED, or RUNNING and silent since `staleBefore`); null if not. */
  async claim(
    id: string,
    staleBefore: Date,
  ): Promise<{ id: string; space: string; type: RegulationType; subjectKey: string } | null> {
    const [row] = await this.db.query('privacy/claim-regulation', [id, staleBefore]);
    if (row === undefined) return null;
    const r = claimRow.parse(row);
    return { id: r.id, space: r.space, type: r.type, subjectKey: r.subject_key };
  }

  async unfinished(silentSince: Date, limit: number): Promise<string[]> {
    const rows = await this.db.query('privacy/unfinished-regulations', [silentSince, limit]);
    return rows.map((r) => z.object({ id: z.string() }).parse(r).id);
  }

  async progress(id: string, c: { profiles: number; identifiers: number; events: number }): Promise<void> {
    await this.db.query('privacy/record-progress', [id, c.profiles, c.identifiers, c.events]);
  }

  async finish(
    id: string,
    status: 'FINISHED' | 'FAILED',
    c: { profiles: number; identifiers: number; events: number },
    error: { code: string; message: string } | null,
  ): Promise<void> {
    await this.db.query('privacy/finish-regulation', [
      id,
      status,
      c.profiles,
      c.identifiers,
      c.events,
      error?.code ?? null,
      error?.message ?? null,
    ]);
  }

  /** Records the keys a request suppresses; returns those newly recorded. */
  async suppress(space: string, keys: string[], regulationId: string): Promise<string[]> {
    if (keys.length === 0) return [];
    const rows = await this.db.query('privacy/suppress-keys', [space, keys, regulationId]);
    return rows.map((r) => keyRow.parse(r).key);
  }

  /** Lifts the suppressions of every request that suppressed `key`; returns the keys lifted. */
  async unsuppress(space: string, key: string): Promise<string[]> {
    const rows = await this.db.query('privacy/unsuppress-key', [space, key]);
    return [...new Set(rows.map((r) => keyRow.parse(r).key))];
  }

  async suppressedKeys(space: string): Promise<string[]> {
    const rows = await this.db.query('privacy/load-suppressed', [space]);
    return rows.map((r) => keyRow.parse(r).key);
  }

  /** The live profiles holding any of the keys in the graph, their keys and merged-away ids. */
  async graphPerson(space: string, keys: string[]): Promise<Person> {
    const rows = await this.graph.readOne('privacy/find-person', { space, keys });
    const person: Person = { profileIds: [], keys: [] };
    for (const raw of rows) {
      const r = personRow.parse(raw);
      person.profileIds.push(r.profileId, ...r.merged);
      person.keys.push(...r.keys);
    }
    return person;
  }

  /** What the event store still maps to the keys: profiles (and those merged into them) and their keys. */
  async storedPerson(space: string, keys: string[]): Promise<Person> {
    const [row] = await this.db.query('privacy/stored-subjects', [space, keys]);
    const r = storedRow.parse(row);
    return { profileIds: r.profile_ids, keys: r.keys };
  }

  async deleteFromGraph(space: string, person: Person): Promise<{ identifiers: number; profiles: number }> {
    const rows = await this.graph.write((tx) =>
      tx.run('privacy/delete-person', { space, keys: person.keys, profileIds: person.profileIds }),
    );
    const r = graphDeletedRow.parse(rows[0]);
    return { identifiers: count(r.identifiers), profiles: count(r.profiles) };
  }

  async deleteFromStore(
    space: string,
    person: Person,
  ): Promise<{ events: number; identifiers: number; values: number; onlyKeys: string[] }> {
    const [row] = await this.db.query('privacy/delete-person', [space, person.keys, person.profileIds]);
    const r = deletedRow.parse(row);
    return { events: r.events, identifiers: r.identifiers, values: r.values, onlyKeys: r.only_keys };
  }

  /** Deletes an account from the graph; returns how many accounts went (0 or 1). */
  async deleteAccountFromGraph(space: string, groupId: string): Promise<number> {
    const rows = await this.graph.write((tx) => tx.run('privacy/delete-account', { space, groupId }));
    return count(z.object({ accounts: z.unknown() }).parse(rows[0]).accounts);
  }

  async deleteAccountFromStore(
    space: string,
    groupId: string,
  ): Promise<{ events: number; members: number; values: number }> {
    const [row] = await this.db.query('privacy/delete-account', [space, groupId]);
    return z.object({ events: z.number(), members: z.number(), values: z.number() }).parse(row);
  }

  async recordDeletion(
    space: string,
    regulationId: string,
    deleted: { profileIds: string[]; groupIds: string[] },
  ): Promise<void> {
    await this.db.query('privacy/record-deletion', [space, JSON.stringify({ regulationId, ...deleted })]);
  }
}
