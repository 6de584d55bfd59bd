// The event store's SQL calls (sql/events/) and the mapping of their rows to domain types (STYLE.md §6):
// events in Segment's warehouse shapes, the identifiers they resolved with, the pending batches of the
// two-store commit, and the change log (docs/adr/0018-event-store.md). Rows are checked with zod here, so
// nothing above sees a row whose shape the SQL files did not promise.
import { z } from 'zod';
import { EVENT_TYPES, type ValidEvent, type EventType, type EventWarning } from '../ingest/event.ts';
import type { SqlRow, SqlTx, Database } from '../postgres/database.ts';
import { stringifyJson } from '../json.ts';

export const EVENT_QUERIES = [
  'events/ensure-partitions',
  'events/store-events',
  'events/store-fast-effects',
  'events/add-pending-batch',
  'events/find-pending-batches',
  'events/list-pending-batches',
  'events/list-pending-batch-ids',
  'events/lock-identity-map',
  'events/finish-batch',
  'events/load-events-by-id',
  'events/load-event-pages',
  'events/load-account-events',
  'events/load-event-identifiers',
  'events/load-violations',
  'events/read-changes',
  'events/read-space-changes',
] as const;

/** A stored event as reads see it. Times as Dates; JSON fields as parsed (large numbers kept, §8). */
export interface StoredEvent {
  messageId: string;
  type: EventType;
  event: string | null;
  name: string | null;
  category: string | null;
  userId: string | null;
  anonymousId: string | null;
  groupId: string | null;
  previousId: string | null;
  properties: Record<string, unknown> | null;
  traits: Record<string, unknown> | null;
  context: Record<string, unknown>;
  integrations: Record<string, unknown>;
  timestamp: Date;
  receivedAt: Date;
  sentAt: Date | null;
  originalTimestamp: Date | null;
  warnings: EventWarning[];
}

/** Which identifiers an event resolved with: the row profile reads find it by. */
export interface EventLink {
  key: string;
  event: ValidEvent;
}

/** What finish-batch copies into the event store (see sql/events/finish-batch.sql). */
export interface FinishedBatch {
  batchId: string;
  space: string;
  links: EventLink[];
  violations: { event: ValidEvent; violations: unknown[] }[];
  refused: string[];
  identities: { key: string; profileId: string }[];
  merges: { mergedId: string; survivorId: string }[];
  changes: Change[];
}

/** One entry of the change log: what a commit changed, of one kind. */
export interface Change {
  /** `deletions`: profiles a deletion request removed (docs/adr/0027-deletion-and-suppression.md). */
  kind: 'events' | 'identifiers' | 'merges' | 'traits' | 'accounts' | 'memberships' | 'deletions';
  payload: unknown;
}

export interface LoggedChange extends Change {
  /** Where it stands in the log: read on after (txid, position). */
  txid: string;
  position: string;
  space: string;
  at: Date;
}

export interface PageQuery {
  /** Page size plus one, so that the caller learns whether another page follows. */
  fetch: number;
  newestFirst: boolean;
  types: string[] | null;
  names: string[] | null;
  since: Date | null;
  until: Date | null;
  after: { time: number; id: string } | null;
}

/** Segment's table name for an event name: lower case, runs of other characters as one underscore. */
export function slug(name: string): string {
  return name
    .toLowerCase()
    .replace(/[^\p{L}\p{N}]+/gu, '_')
    .replace(/^_+|_+$/g, '');
}

function ms(date: Date | undefined): number | null {
  return date === undefined ? null : date.getTime();
}

function eventRow(e: ValidEvent): Record<string, unknown> {
  return {
    id: e.messageId,
    type: e.type,
    received_at: e.receivedAt.getTime(),
    timestamp: e.timestamp.getTime(),
    sent_at: ms(e.sentAt),
    original_timestamp: ms(e.originalTimestamp),
    user_id: e.userId ?? null,
    anonymous_id: e.anonymousId ?? null,
    event: e.event === undefined ? null : slug(e.event),
    event_text: e.event ?? null,
    name: e.name ?? null,
    category: e.category ?? null,
    group_id: e.groupId ?? null,
    previous_id: e.previousId ?? null,
    properties: e.properties ?? null,
    traits: e.traits ?? null,
    context: e.context,
    integrations: e.integrations,
    warnings: e.warnings.length === 0 ? null : e.warnings,
  };
}

function linkRows(links: EventLink[]): string {
  return stringifyJson(
    links.map(({ key, event }) => ({
      key,
      timestamp: event.timestamp.getTime(),
      message_id: event.messageId,
      type: event.type,
      name: event.event ?? event.name ?? null,
      received_at: event.receivedAt.getTime(),
    })),
  ) as string;
}

/** A JSON object as jsonb gives it back (parsed by src/json.ts), checked but not copied. */
const jsonObject = z.custom<Record<string, unknown>>(
  (v) => typeof v === 'object' && v !== null && !Array.isArray(v),
  'a JSON object',
);
const warning = z.object({
  code: z.enum(['TIMESTAMP_INVALID', 'TIMESTAMP_CLAMPED', 'TEXT_REPLACED']),
  message: z.string(),
  path: z.array(z.union([z.string(), z.number()])),
});
/** A row of load-events-by-id.sql and load-account-events.sql: times in epoch ms. */
const eventRowSchema = z.object({
  id: z.string(),
  type: z.enum(EVENT_TYPES as [EventType, ...EventType[]]),
  received_at: z.number(),
  timestamp: z.number(),
  sent_at: z.number().nullable(),
  original_timestamp: z.number().nullable(),
  user_id: z.string().nullable(),
  anonymous_id: z.string().nullable(),
  event: z.string().nullable(),
  name: z.string().nullable(),
  category: z.string().nullable(),
  group_id: z.string().nullable(),
  previous_id: z.string().nullable(),
  properties: jsonObject.nullable(),
  traits: jsonObject.nullable(),
  context: jsonObject,
  integrations: jsonObject,
  warnings: z.array(warning).nullable(),
});
const pendingRowSchema = z.object({
  batch_id: z.string(),
  space: z.string().optional(),
  message_ids: z.array(z.string()),
});
const changeRowSchema = z.object({
  txid: z.string(),
  position: z.string(),
  space: z.string(),
  kind: z.enum(['events', 'identifiers', 'merges', 'traits', 'accounts', 'memberships', 'deletions']),
  payload: z.unknown(),
  at: z.number(),
});
const violationRowSchema = z.object({
  profile_id: z.string(),
  message_id: z.string(),
  timestamp: z.number(),
  violations: z.array(z.unknown()),
});

const date = (ms: number | null): Date | null => (ms === null ? null : new Date(ms));

function rowToEvent(raw: SqlRow): StoredEvent {
  const row = eventRowSchema.parse(raw);
  return {
    messageId: row.id,
    type: row.type,
    event: row.event,
    name: row.name,
    category: row.category,
    userId: row.user_id,
    anonymousId: row.anonymous_id,
    groupId: row.group_id,
    previousId: row.previous_id,
    properties: row.properties,
    traits: row.traits,
    context: row.context,
    integrations: row.integrations,
    timestamp: new Date(row.timestamp),
    receivedAt: new Date(row.received_at),
    sentAt: date(row.sent_at),
    originalTimestamp: date(row.original_timestamp),
    warnings: row.warnings ?? [],
  };
}

/** A stored event as ingestion validated it (the recovery pass applies it again). */
export function toValidEvent(e: StoredEvent): ValidEvent {
  const out: ValidEvent = {
    type: e.type,
    messageId: e.messageId,
    context: e.context,
    integrations: e.integrations,
    timestamp: e.timestamp,
    receivedAt: e.receivedAt,
    warnings: e.warnings,
  };
  if (e.userId !== null) out.userId = e.userId;
  if (e.anonymousId !== null) out.anonymousId = e.anonymousId;
  if (e.previousId !== null) out.previousId = e.previousId;
  if (e.groupId !== null) out.groupId = e.groupId;
  if (e.event !== null) out.event = e.event;
  if (e.name !== null) out.name = e.name;
  if (e.category !== null) out.category = e.category;
  if (e.traits !== null) out.traits = e.traits;
  if (e.properties !== null) out.properties = e.properties;
  if (e.sentAt !== null) out.sentAt = e.sentAt;
  if (e.originalTimestamp !== null) out.originalTimestamp = e.originalTimestamp;
  return out;
}

export class EventsRepository {
  /** Claims and stores the events (no messageId twice); returns the messageIds this call stored. */
  async store(tx: SqlTx, space: string, events: ValidEvent[]): Promise<Set<string>> {
    if (events.length === 0) return new Set();
    const rows = await tx.run('events/store-events', [space, stringifyJson(events.map(eventRow))]);
    return new Set(rows.map((r) => String(r.message_id)));
  }

  async storeFastEffects(tx: SqlTx, space: string, links: EventLink[], changes: Change[]): Promise<void> {
    if (links.length === 0 && changes.length === 0) return;
    await tx.run('events/store-fast-effects', [space, linkRows(links), stringifyJson(changes)]);
  }

  async addPendingBatch(tx: SqlTx, batchId: string, space: string, messageIds: string[]): Promise<void> {
    await tx.run('events/add-pending-batch', [batchId, space, messageIds]);
  }

  /** Copies a batch's effect in, once; false when another finisher did it first. */
  async finishBatch(tx: SqlTx, b: FinishedBatch): Promise<boolean> {
    await tx.run('events/lock-identity-map', [b.space]);
    const [row] = await tx.run('events/finish-batch', [
      b.batchId,
      b.space,
      linkRows(b.links),
      stringifyJson(
        b.violations.map(({ event, violations }) => ({
          message_id: event.messageId,
          timestamp: event.timestamp.getTime(),
          received_at: event.receivedAt.getTime(),
          violations,
        })),
      ),
      b.refused,
      stringifyJson(b.identities.map((i) => ({ key: i.key, profile_id: i.profileId }))),
      stringifyJson(b.merges.map((m) => ({ merged_id: m.mergedId, survivor_id: m.survivorId }))),
      stringifyJson(b.changes),
    ]);
    return Number(row?.finished ?? 0) > 0;
  }

  async findPendingBatches(
    db: Database,
    space: string,
    messageIds: string[],
  ): Promise<{ batchId: string; messageIds: string[] }[]> {
    const rows = await db.query('events/find-pending-batches', [space, messageIds]);
    return rows.map((r) => ({
      batchId: String(r.batch_id),
      messageIds: (r.message_ids as unknown[]).map(String),
    }));
  }

  async listPendingBatches(
    db: Database,
    before: Date,
    limit: number,
  ): Promise<{ batchId: string; space: string; messageIds: string[] }[]> {
    const rows = await db.query('events/list-pending-batches', [before.toISOString(), limit]);
    return rows.map((raw) => {
      const r = pendingRowSchema.parse(raw);
      return { batchId: r.batch_id, space: r.space ?? '', messageIds: r.message_ids };
    });
  }

  async listPendingBatchIds(db: Database): Promise<string[]> {
    return (await db.query('events/list-pending-batch-ids')).map((r) => String(r.batch_id));
  }

  /** Stored events by messageId, in the order asked (ids not stored are left out). */
  async loadByIds(db: Database, space: string, messageIds: readonly string[]): Promise<StoredEvent[]> {
    if (messageIds.length === 0) return [];
    const rows = await db.query('events/load-events-by-id', [space, [...messageIds]]);
    const byId = new Map(rows.map((r) => [String(r.id), rowToEvent(r)]));
    return messageIds.flatMap((id) => {
      const found = byId.get(id);
      return found === undefined ? [] : [found];
    });
  }

  /** One page of messageIds per profile, in page order. */
  async loadPages(
    db: Database,
    space: string,
    profiles: { profileId: string; keys: string[] }[],
    q: PageQuery,
  ): Promise<Map<string, string[]>> {
    const rows = await db.query('events/load-event-pages', [
      space,
      stringifyJson(profiles.map((p) => ({ profile_id: p.profileId, keys: p.keys }))),
      q.fetch,
      q.newestFirst,
      q.types,
      q.names,
      ms(q.since ?? undefined),
      ms(q.until ?? undefined),
      q.after?.time ?? null,
      q.after?.id ?? null,
    ]);
    const out = new Map<string, string[]>(profiles.map((p) => [p.profileId, []]));
    for (const r of rows) out.get(String(r.profile_id))?.push(String(r.message_id));
    return out;
  }

  async loadAccountEvents(
    db: Database,
    space: string,
    groupId: string,
    q: PageQuery,
  ): Promise<StoredEvent[]> {
    const rows = await db.query('events/load-account-events', [
      space,
      groupId,
      q.fetch,
      q.newestFirst,
      q.names,
      ms(q.since ?? undefined),
      ms(q.until ?? undefined),
      q.after?.time ?? null,
      q.after?.id ?? null,
    ]);
    return rows.map(rowToEvent);
  }

  async loadEventKeys(
    db: Database,
    space: string,
    messageIds: readonly string[],
  ): Promise<Map<string, string[]>> {
    const rows = await db.query('events/load-event-identifiers', [space, [...messageIds]]);
    return new Map(rows.map((r) => [String(r.message_id), (r.keys as unknown[]).map(String)]));
  }

  async loadViolations(
    db: Database,
    space: string,
    profiles: { profileId: string; keys: string[] }[],
    limit: number,
  ): Promise<Map<string, { messageId: string; timestamp: Date; violations: unknown[] }[]>> {
    const rows = await db.query('events/load-violations', [
      space,
      stringifyJson(profiles.map((p) => ({ profile_id: p.profileId, keys: p.keys }))),
      limit,
    ]);
    const out = new Map<string, { messageId: string; timestamp: Date; violations: unknown[] }[]>(
      profiles.map((p) => [p.profileId, []]),
    );
    for (const raw of rows) {
      const r = violationRowSchema.parse(raw);
      out.get(r.profile_id)?.push({
        messageId: r.message_id,
        timestamp: new Date(r.timestamp),
        violations: r.violations,
      });
    }
    return out;
  }

  async readChanges(
    db: Database,
    after: { txid: string; position: string } | null,
    limit: number,
  ): Promise<LoggedChange[]> {
    const rows = await db.query('events/read-changes', [after?.txid ?? '0', after?.position ?? '0', limit]);
    return rows.map(toLoggedChange);
  }

  async readSpaceChanges(
    db: Database,
    space: string,
    after: { txid: string; position: string } | null,
    limit: number,
  ): Promise<LoggedChange[]> {
    const rows = await db.query('events/read-space-changes', [
      space,
      after?.txid ?? '0',
      after?.position ?? '0',
      limit,
    ]);
    return rows.map(toLoggedChange);
  }
}

function toLoggedChange(raw: SqlRow): LoggedChange {
  const r = changeRowSchema.parse(raw);
  return {
    txid: r.txid,
    position: r.position,
    space: r.space,
    kind: r.kind,
    payload: r.payload,
    at: new Date(r.at),
  };
}
