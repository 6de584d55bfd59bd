// The queries of the one-off move of events out of the graph (docs/adr/0018-event-store.md): Event nodes
// and their FROM edges as the version before the event store wrote them (cypher/migrations/), the rows
// they become (sql/migrations-data/), and the identity map and merges PostgreSQL needs for identifiers
// and profiles written before it. Records are turned into domain types here (STYLE.md §6).
import neo4j from 'neo4j-driver';
import type { Tx } from '../graph/index.ts';
import {
  EVENT_TYPES,
  LIMITS,
  storable,
  storableEvent,
  type EventType,
  type EventWarning,
  type JsonObject,
  type ValidEvent,
} from '../ingest/event.ts';
import { parseJson, stringifyJson } from '../json.ts';
import type { SqlTx } from '../postgres/database.ts';
import { slug } from './events.repository.ts';

export const LEGACY_MIGRATION_QUERIES = [
  'migrations/count-legacy-events',
  'migrations/find-legacy-events',
  'migrations/next-legacy-event-space',
  'migrations/list-legacy-events',
  'migrations/delete-legacy-events',
  'migrations/next-identifier-space',
  'migrations/list-identity-links',
  'migrations/list-profile-merges',
  'migrations/drop-event-constraint',
  'migrations/drop-event-timestamp-index',
] as const;

export const LEGACY_MIGRATION_SQL = [
  'migrations-data/claim-legacy-events',
  'migrations-data/store-legacy-events',
  'migrations-data/fill-identity-map',
  'migrations-data/fill-profile-merges',
] as const;

/** An Event node as the previous version wrote it; JSON fields as the JSON text it stored. */
export interface LegacyEvent {
  messageId: string;
  type: EventType;
  event: string | null;
  name: string | null;
  category: string | null;
  userId: string | null;
  anonymousId: string | null;
  previousId: string | null;
  groupId: string | null;
  properties: string | null;
  traits: string | null;
  context: string;
  integrations: string;
  violations: string | null;
  warnings: string | null;
  /** Epoch ms. */
  timestamp: number;
  receivedAt: number;
  sentAt: number | null;
  originalTimestamp: number | null;
  /** Keys of the identifiers it resolved with (its FROM edges). */
  keys: string[];
}

/** A node that no version wrote: moving it would invent data, so the move stops and names it. */
export class UnreadableEventError extends Error {
  constructor(space: string, messageId: unknown, problem: string) {
    super(`Event node (space ${space}, messageId ${String(messageId)}) cannot be moved: ${problem}`);
    this.name = 'UnreadableEventError';
  }
}

function text(value: unknown): string | null {
  return typeof value === 'string' ? value : null;
}

function millis(value: unknown): number | null {
  return value === null || value === undefined ? null : Number(value);
}

/** What each type cannot be stored without (the tables' NOT NULL columns; ingestion always set them). */
const REQUIRED: Partial<Record<EventType, 'event' | 'groupId' | 'previousId'>> = {
  track: 'event',
  group: 'groupId',
  alias: 'previousId',
};

function toLegacyEvent(space: string, row: Record<string, unknown>): LegacyEvent {
  const type = row.type;
  if (!EVENT_TYPES.includes(type as EventType))
    throw new UnreadableEventError(space, row.messageId, `unknown type ${String(type)}`);
  const timestamp = millis(row.timestamp);
  const receivedAt = millis(row.receivedAt);
  if (timestamp === null || receivedAt === null)
    throw new UnreadableEventError(space, row.messageId, 'no timestamp or receivedAt');
  const event: LegacyEvent = {
    messageId: String(row.messageId),
    type: type as EventType,
    event: text(row.event),
    name: text(row.name),
    category: text(row.category),
    userId: text(row.userId),
    anonymousId: text(row.anonymousId),
    previousId: text(row.previousId),
    groupId: text(row.groupId),
    properties: text(row.properties),
    traits: text(row.traits),
    // Written by every version; an empty object is what an event without them meant.
    context: text(row.context) ?? '{}',
    integrations: text(row.integrations) ?? '{}',
    violations: text(row.violations),
    warnings: text(row.warnings),
    timestamp,
    receivedAt,
    sentAt: millis(row.sentAt),
    originalTimestamp: millis(row.originalTimestamp),
    keys: Array.isArray(row.keys) ? row.keys.map(String) : [],
  };
  const required = REQUIRED[event.type];
  if (required !== undefined && event[required] === null)
    throw new UnreadableEventError(space, row.messageId, `a ${event.type} without ${required}`);
  return event;
}

/**
 * What PostgreSQL's text and jsonb cannot hold, raw or as a JSON escape: NUL and unpaired UTF-16
 * surrogates (a paired escape only costs the careful path below).
 */
// eslint-disable-next-line no-control-regex -- NUL is exactly what is looked for
const MAY_BE_UNSTORABLE = /[\u0000\p{Cs}]|\\u0000|\\u[dD][89a-fA-F]/u;

/** The same in plain text (an identifier key), where a backslash is only a backslash. */
// eslint-disable-next-line no-control-regex -- NUL is exactly what is looked for
const UNSTORABLE_TEXT = /[\u0000\p{Cs}]/u;

function mayBeUnstorable(text: string | null): boolean {
  return text !== null && MAY_BE_UNSTORABLE.test(text);
}

const ID_FIELDS = ['userId', 'anonymousId', 'previousId', 'groupId'] as const;

/**
 * The event as the event store can keep it, for the rare event whose text PostgreSQL cannot hold. Names
 * and JSON fields get what ingestion does to them today (storableEvent: U+FFFD and a TEXT_REPLACED
 * warning per field). Ids, which ingestion now refuses with such characters but an earlier version
 * stored, get the same replacement rather than losing the event; an identifier key holding them gets no
 * event_identifiers row (no read could name it). `messageId` stays the node's, for deleting it.
 */
function storableLegacy(e: LegacyEvent): { event: LegacyEvent; id: string } {
  const texts = [e.messageId, e.event, e.name, e.category, e.properties, e.traits, e.context];
  texts.push(e.integrations, e.warnings, e.violations, ...ID_FIELDS.map((f) => e[f]), ...e.keys);
  if (!texts.some(mayBeUnstorable)) return { event: e, id: e.messageId };
  const json = (text: string | null): unknown => (text === null ? undefined : parseJson(text));
  const valid: ValidEvent = {
    type: e.type,
    messageId: e.messageId,
    context: json(e.context) as JsonObject,
    integrations: json(e.integrations) as JsonObject,
    timestamp: new Date(e.timestamp),
    receivedAt: new Date(e.receivedAt),
    warnings: (json(e.warnings) as EventWarning[] | undefined) ?? [],
  };
  if (e.event !== null) valid.event = e.event;
  if (e.name !== null) valid.name = e.name;
  if (e.category !== null) valid.category = e.category;
  if (e.traits !== null) valid.traits = json(e.traits) as JsonObject;
  if (e.properties !== null) valid.properties = json(e.properties) as JsonObject;
  const out = storableEvent(valid);
  const warnings = [...out.warnings];
  const text = (value: string | null, field?: string): string | null => {
    if (value === null) return null;
    const r = storable(value);
    if (r.replaced && field !== undefined) {
      warnings.push({
        code: 'TEXT_REPLACED',
        message: `${field} held NUL characters or unpaired UTF-16 surrogates, which the event store cannot keep; they were replaced by U+FFFD`,
        path: [field],
      });
    }
    return r.value as string;
  };
  const ids = Object.fromEntries(ID_FIELDS.map((f) => [f, text(e[f], f)]));
  return {
    id: text(e.messageId) as string,
    event: {
      ...e,
      ...ids,
      event: out.event ?? null,
      name: out.name ?? null,
      category: out.category ?? null,
      properties: out.properties === undefined ? null : stringifyJson(out.properties),
      traits: out.traits === undefined ? null : stringifyJson(out.traits),
      context: stringifyJson(out.context),
      integrations: stringifyJson(out.integrations),
      warnings: stringifyJson(warnings),
      violations: e.violations === null ? null : stringifyJson(storable(json(e.violations)).value),
      keys: e.keys.filter((k) => !UNSTORABLE_TEXT.test(k)),
    },
  };
}

/**
 * §8 Future clocks, for an event the graph took before the rule existed: an event time more than the
 * tolerance past receivedAt is set to receivedAt, with a TIMESTAMP_CLAMPED warning, as ingestion does now.
 * The event store relies on it: an event's received_at is never more than the tolerance before its
 * timestamp, so windowed reads skip older partitions (docs/adr/0021-computed-traits.md, "Windows and
 * partitions").
 */
function clampedLegacy(e: LegacyEvent): LegacyEvent {
  if (e.timestamp <= e.receivedAt + LIMITS.futureToleranceMs) return e;
  const warnings = (e.warnings === null ? [] : parseJson(e.warnings)) as EventWarning[];
  warnings.push({
    code: 'TIMESTAMP_CLAMPED',
    message: `the event time ${new Date(e.timestamp).toISOString()} is more than ${LIMITS.futureToleranceMs / 3_600_000} h after receivedAt; receivedAt was used when the event moved from the graph`,
    path: ['timestamp'],
  });
  return { ...e, timestamp: e.receivedAt, warnings: stringifyJson(warnings) };
}

/** A legacy event as store-legacy-events reads it: the columns of store-events, JSON fields as text. */
function eventRow(legacy: LegacyEvent): Record<string, unknown> {
  const { event: e, id } = storableLegacy(clampedLegacy(legacy));
  return {
    id,
    type: e.type,
    received_at: e.receivedAt,
    timestamp: e.timestamp,
    sent_at: e.sentAt,
    original_timestamp: e.originalTimestamp,
    user_id: e.userId,
    anonymous_id: e.anonymousId,
    event: e.event === null ? null : slug(e.event),
    event_text: e.event,
    name: e.name,
    category: e.category,
    group_id: e.groupId,
    previous_id: e.previousId,
    link_name: e.event ?? e.name,
    properties: e.properties,
    traits: e.traits,
    context: e.context,
    integrations: e.integrations,
    warnings: e.warnings,
    violations: e.violations,
    keys: e.keys,
  };
}

export class LegacyMigrationRepository {
  async countEvents(tx: Tx, space: string | null): Promise<number> {
    const [row] = await tx.run('migrations/count-legacy-events', { space });
    return Number(row?.events ?? 0);
  }

  /** Whether Event nodes remain, and whether a move left its identity map pass unfinished. */
  async findLeft(tx: Tx, migration: string): Promise<{ eventsLeft: boolean; unfinished: boolean }> {
    const [row] = await tx.run('migrations/find-legacy-events', { migration });
    return { eventsLeft: row?.eventsLeft === true, unfinished: row?.unfinished === true };
  }

  /** The first space after `after` ('' for the first) holding Event nodes, or identifiers. */
  async nextSpace(tx: Tx, after: string): Promise<string | null> {
    const [events] = await tx.run('migrations/next-legacy-event-space', { after });
    const [identifiers] = await tx.run('migrations/next-identifier-space', { after });
    const found = [text(events?.space), text(identifiers?.space)].filter((s): s is string => s !== null);
    return found.sort()[0] ?? null;
  }

  async listEvents(tx: Tx, space: string, limit: number): Promise<LegacyEvent[]> {
    const rows = await tx.run('migrations/list-legacy-events', { space, limit: neo4j.int(limit) });
    return rows.map((r) => toLegacyEvent(space, r));
  }

  async deleteEvents(tx: Tx, space: string, messageIds: string[]): Promise<number> {
    const [row] = await tx.run('migrations/delete-legacy-events', { space, messageIds });
    return Number(row?.deleted ?? 0);
  }

  async listIdentityLinks(
    tx: Tx,
    space: string,
    afterKey: string,
    limit: number,
  ): Promise<{ key: string; profileId: string | null }[]> {
    const rows = await tx.run('migrations/list-identity-links', { space, afterKey, limit: neo4j.int(limit) });
    return rows.map((r) => ({ key: String(r.key), profileId: text(r.profileId) }));
  }

  async listMerges(
    tx: Tx,
    space: string,
    afterId: string,
    limit: number,
  ): Promise<{ mergedId: string; survivorId: string | null; at: number | null }[]> {
    const rows = await tx.run('migrations/list-profile-merges', { space, afterId, limit: neo4j.int(limit) });
    return rows.map((r) => ({
      mergedId: String(r.mergedId),
      survivorId: text(r.survivorId),
      at: millis(r.at),
    }));
  }

  async dropEventConstraint(tx: Tx): Promise<void> {
    await tx.run('migrations/drop-event-constraint');
  }

  async dropEventTimestampIndex(tx: Tx): Promise<void> {
    await tx.run('migrations/drop-event-timestamp-index');
  }

  /**
   * Claims and stores a page of one space's events (see the two statements' headers for why there are
   * two); returns how many were stored, the others being stored already.
   */
  async storeEvents(tx: SqlTx, space: string, events: LegacyEvent[]): Promise<number> {
    const rows = stringifyJson(events.map(eventRow));
    await tx.run('migrations-data/claim-legacy-events', [space, rows]);
    return (await tx.run('migrations-data/store-legacy-events', [space, rows])).length;
  }

  async lockIdentityMap(tx: SqlTx, space: string): Promise<void> {
    await tx.run('events/lock-identity-map', [space]);
  }

  /** Keys PostgreSQL cannot hold (an earlier version's NUL in an id) are left out: no SQL could name them. */
  async fillIdentityMap(
    tx: SqlTx,
    space: string,
    links: { key: string; profileId: string }[],
  ): Promise<number> {
    const kept = links.filter((l) => !UNSTORABLE_TEXT.test(l.key));
    if (kept.length === 0) return 0;
    const [row] = await tx.run('migrations-data/fill-identity-map', [
      space,
      stringifyJson(kept.map((l) => ({ key: l.key, profile_id: l.profileId }))),
    ]);
    return Number(row?.inserted ?? 0);
  }

  async fillMerges(
    tx: SqlTx,
    space: string,
    merges: { mergedId: string; survivorId: string; at: number | null }[],
  ): Promise<number> {
    if (merges.length === 0) return 0;
    const [row] = await tx.run('migrations-data/fill-profile-merges', [
      space,
      stringifyJson(merges.map((m) => ({ merged_id: m.mergedId, survivor_id: m.survivorId, at: m.at }))),
    ]);
    return Number(row?.inserted ?? 0);
  }
}
