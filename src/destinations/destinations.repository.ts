// Destinations' SQL calls (sql/destinations/) and the mapping of their rows to domain types (STYLE.md §6),
// checked with zod at this boundary (docs/adr/0023-webhook-destinations.md).
import { z } from 'zod';
import { stringifyJson } from '../json.ts';
import type { Database, SqlTx } from '../postgres/database.ts';
import type { ComputationClass, DeliveryMode, QueuedDelivery } from './calls.ts';

export const DESTINATION_QUERIES = [
  'destinations/create-destination',
  'destinations/add-keys',
  'destinations/remove-keys',
  'destinations/update-destination',
  'destinations/delete-destination',
  'destinations/list-destinations',
  'destinations/computations',
  'destinations/sending-destinations',
  'destinations/fill-outbox',
  'destinations/take-deliveries',
  'destinations/finish-delivery',
  'destinations/subject-identity',
  'destinations/trait-definitions',
  'destinations/list-deliveries',
  'destinations/delivery-counts',
  'destinations/replay-deliveries',
  'destinations/outbox-stats',
  'destinations/analyze-deliveries',
] as const;

/**
 * An initial sync queuing at least this many deliveries refreshes the outbox's statistics in its own
 * transaction (ADR 0023, "Statistics after an initial sync").
 */
export const ANALYZE_AFTER_QUEUED = 1_000;

export type DeliveryStatus = 'PENDING' | 'DELIVERED' | 'FAILED';

/** A destination as stored, without its secret. */
export interface StoredDestination {
  id: string;
  name: string;
  kind: 'webhook';
  url: string;
  modes: DeliveryMode[];
  audiences: string[];
  computedTraits: string[];
  createdAt: Date;
  updatedAt: Date;
}

/** A delivery as the API shows it. */
export interface DeliveryView {
  id: string;
  subjectId: string;
  computation: ComputationClass;
  traitKey: string;
  mode: DeliveryMode;
  newValue: unknown;
  changeId: string | null;
  messageId: string;
  status: DeliveryStatus;
  attempts: number;
  at: Date;
  nextAttemptAt: Date;
  lastError: string | null;
  lastStatus: number | null;
  payload: Record<string, unknown> | null;
  createdAt: Date;
  deliveredAt: Date | null;
}

const MODES = ['identify', 'track', 'group'] as const;
const COMPUTATIONS = ['audience', 'computed_trait'] as const;

const destinationRow = z.object({
  id: z.string(),
  name: z.string(),
  kind: z.literal('webhook'),
  url: z.string(),
  modes: z.array(z.enum(MODES)),
  audiences: z.array(z.string()),
  computed_traits: z.array(z.string()),
  created_at: z.number(),
  updated_at: z.number(),
});
const queuedRow = z.object({
  id: z.string(),
  destination_id: z.string(),
  space: z.string(),
  subject_id: z.string(),
  computation: z.enum(COMPUTATIONS),
  trait_key: z.string(),
  mode: z.enum(MODES),
  new_value: z.unknown(),
  message_id: z.string(),
  attempts: z.number(),
  at: z.number(),
});
const deliveryRow = z.object({
  id: z.string(),
  subject_id: z.string(),
  computation: z.enum(COMPUTATIONS),
  trait_key: z.string(),
  mode: z.enum(MODES),
  new_value: z.unknown(),
  change_id: z.string().nullable(),
  message_id: z.string(),
  status: z.enum(['PENDING', 'DELIVERED', 'FAILED']),
  attempts: z.number(),
  at: z.number(),
  next_attempt_at: z.number(),
  last_error: z.string().nullable(),
  last_status: z.number().nullable(),
  payload: z.record(z.string(), z.unknown()).nullable(),
  created_at: z.number(),
  delivered_at: z.number().nullable(),
});
const identityRow = z.object({
  subject_id: z.string(),
  profile_id: z.string(),
  user_id: z.string().nullable(),
  anonymous_id: z.string().nullable(),
});

function toDestination(raw: unknown): StoredDestination {
  const r = destinationRow.parse(raw);
  return {
    id: r.id,
    name: r.name,
    kind: r.kind,
    url: r.url,
    modes: r.modes,
    audiences: r.audiences,
    computedTraits: r.computed_traits,
    createdAt: new Date(r.created_at),
    updatedAt: new Date(r.updated_at),
  };
}

/** A key a destination receives, with what it is. */
export interface DestinationKey {
  key: string;
  computation: ComputationClass;
  /** USERS: sent as identify / track calls; ACCOUNTS: as group calls. */
  level: 'USERS' | 'ACCOUNTS';
}

export class DestinationsRepository {
  async create(
    tx: SqlTx,
    space: string,
    d: {
      id: string;
      name: string;
      url: string;
      modes: DeliveryMode[];
      secret: string;
      keys: DestinationKey[];
    },
  ): Promise<number> {
    const [row] = await tx.run('destinations/create-destination', [
      space,
      d.id,
      d.name,
      d.url,
      d.modes,
      d.secret,
      stringifyJson(d.keys),
    ]);
    return this.analyzedAfter(tx, z.object({ queued: z.number() }).parse(row).queued);
  }

  async addKeys(tx: SqlTx, id: string, keys: DestinationKey[]): Promise<number> {
    if (keys.length === 0) return 0;
    const [row] = await tx.run('destinations/add-keys', [id, stringifyJson(keys)]);
    return this.analyzedAfter(tx, z.object({ queued: z.number() }).parse(row).queued);
  }

  /**
   * After an initial sync of `queued` deliveries: a large one refreshes the outbox's statistics before its
   * transaction commits, so that the sender's first rounds are not planned for an empty table.
   */
  private async analyzedAfter(tx: SqlTx, queued: number): Promise<number> {
    if (queued >= ANALYZE_AFTER_QUEUED) await tx.run('destinations/analyze-deliveries');
    return queued;
  }

  async removeKeys(tx: SqlTx, id: string, keys: string[]): Promise<void> {
    if (keys.length > 0) await tx.run('destinations/remove-keys', [id, keys]);
  }

  async update(
    tx: SqlTx,
    space: string,
    id: string,
    u: { name: string | null; url: string | null; modes: DeliveryMode[] | null },
  ): Promise<boolean> {
    const rows = await tx.run('destinations/update-destination', [space, id, u.name, u.url, u.modes]);
    return rows.length === 1;
  }

  async delete(db: Database, space: string, id: string): Promise<boolean> {
    return (await db.query('destinations/delete-destination', [space, id])).length === 1;
  }

  async list(db: Database, space: string, id: string | null): Promise<StoredDestination[]> {
    return (await db.query('destinations/list-destinations', [space, id])).map(toDestination);
  }

  /** The live computations among `keys`, by key, with their kind and level. */
  async computations(
    db: Database,
    space: string,
    keys: string[],
  ): Promise<Map<string, { kind: ComputationClass; level: 'USERS' | 'ACCOUNTS' }>> {
    const rows = await db.query('destinations/computations', [space, keys]);
    return new Map(
      rows.map((raw) => {
        const r = z
          .object({ key: z.string(), kind: z.enum(COMPUTATIONS), level: z.enum(['USERS', 'ACCOUNTS']) })
          .parse(raw);
        return [r.key, { kind: r.kind, level: r.level }];
      }),
    );
  }

  async sending(db: Database): Promise<{ id: string; space: string; url: string; secret: string }[]> {
    return (await db.query('destinations/sending-destinations')).map((raw) =>
      z.object({ id: z.string(), space: z.string(), url: z.string(), secret: z.string() }).parse(raw),
    );
  }

  async fill(tx: SqlTx, id: string, limit: number): Promise<{ read: number; queued: number }> {
    const [row] = await tx.run('destinations/fill-outbox', [id, limit]);
    return z.object({ read: z.number(), queued: z.number() }).parse(row);
  }

  async take(tx: SqlTx, limit: number, leaseMs: number, destinations: string[]): Promise<QueuedDelivery[]> {
    const rows = await tx.run('destinations/take-deliveries', [limit, leaseMs, destinations]);
    return rows.map((raw) => {
      const r = queuedRow.parse(raw);
      return {
        id: r.id,
        destinationId: r.destination_id,
        space: r.space,
        subjectId: r.subject_id,
        computation: r.computation,
        traitKey: r.trait_key,
        mode: r.mode,
        newValue: r.new_value ?? null,
        messageId: r.message_id,
        at: new Date(r.at),
        attempts: r.attempts,
      };
    });
  }

  async finish(
    tx: SqlTx,
    d: QueuedDelivery,
    o: {
      status: DeliveryStatus;
      nextAttemptAt: Date | null;
      httpStatus: number | null;
      error: string | null;
      payload: unknown;
    },
  ): Promise<void> {
    await tx.run('destinations/finish-delivery', [
      d.id,
      o.status,
      o.nextAttemptAt,
      o.httpStatus,
      o.error,
      stringifyJson(o.payload),
      d.attempts,
    ]);
  }

  async identities(
    db: Database,
    space: string,
    subjectIds: string[],
  ): Promise<Map<string, { profileId: string; userId: string | null; anonymousId: string | null }>> {
    const rows = await db.query('destinations/subject-identity', [space, subjectIds]);
    return new Map(
      rows.map((raw) => {
        const r = identityRow.parse(raw);
        return [r.subject_id, { profileId: r.profile_id, userId: r.user_id, anonymousId: r.anonymous_id }];
      }),
    );
  }

  async traitDefinitions(db: Database, space: string, keys: string[]): Promise<Map<string, string>> {
    const rows = await db.query('destinations/trait-definitions', [space, keys]);
    return new Map(rows.map((r) => [String(r.key), String(r.definition)]));
  }

  async deliveries(
    db: Database,
    space: string,
    destinationId: string,
    status: DeliveryStatus | null,
    before: string | null,
    limit: number,
  ): Promise<DeliveryView[]> {
    const rows = await db.query('destinations/list-deliveries', [
      space,
      destinationId,
      status,
      before,
      limit,
    ]);
    return rows.map((raw) => {
      const r = deliveryRow.parse(raw);
      return {
        id: r.id,
        subjectId: r.subject_id,
        computation: r.computation,
        traitKey: r.trait_key,
        mode: r.mode,
        newValue: r.new_value ?? null,
        changeId: r.change_id,
        messageId: r.message_id,
        status: r.status,
        attempts: r.attempts,
        at: new Date(r.at),
        nextAttemptAt: new Date(r.next_attempt_at),
        lastError: r.last_error,
        lastStatus: r.last_status,
        payload: r.payload,
        createdAt: new Date(r.created_at),
        deliveredAt: r.delivered_at === null ? null : new Date(r.delivered_at),
      };
    });
  }

  async counts(db: Database, space: string, destinationId: string): Promise<Record<DeliveryStatus, number>> {
    const out: Record<DeliveryStatus, number> = { PENDING: 0, DELIVERED: 0, FAILED: 0 };
    for (const raw of await db.query('destinations/delivery-counts', [space, destinationId])) {
      const r = z.object({ status: z.enum(['PENDING', 'DELIVERED', 'FAILED']), n: z.number() }).parse(raw);
      out[r.status] = r.n;
    }
    return out;
  }

  async replay(
    db: Database,
    space: string,
    destinationId: string | null,
    deliveryId: string | null,
  ): Promise<number> {
    return (await db.query('destinations/replay-deliveries', [space, destinationId, deliveryId])).length;
  }

  async outboxStats(db: Database): Promise<{ pending: number; oldestSeconds: number }> {
    const [row] = await db.query('destinations/outbox-stats');
    const r = z.object({ pending: z.number(), oldest_seconds: z.number() }).parse(row);
    return { pending: r.pending, oldestSeconds: r.oldest_seconds };
  }
}
