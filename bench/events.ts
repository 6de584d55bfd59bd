// The synthetic customers and their Segment calls. One model serves three consumers: the HTTP workloads
// send the calls as JSON, the raw baselines write the rows and graph changes they cause, and the seeder
// writes whole histories. Everything is drawn from fixed-seed generators (random.ts), so runs are comparable.
import { slug } from '../src/events/index.ts';
import { Random } from './random.ts';

export type CallType = 'identify' | 'track' | 'page' | 'screen' | 'group';

export interface Ident {
  type: string;
  value: string;
  key: string;
}

/** A Segment call as a client sends it, plus the time fields the server derives from it. */
export interface BenchEvent {
  type: CallType;
  messageId: string;
  userId?: string;
  anonymousId?: string;
  groupId?: string;
  event?: string;
  name?: string;
  category?: string;
  traits?: Record<string, unknown>;
  properties?: Record<string, unknown>;
  context: Record<string, unknown>;
  timestamp: Date;
}

/** An event with what resolution would decide for it, known here by construction. */
export interface PlannedEvent {
  event: BenchEvent;
  /** The profile the event belongs to. */
  profileId: string;
  /** The identifiers extraction finds in it (SEMANTICS.md §2), most trusted first. */
  identifiers: Ident[];
  /** An identifier the profile did not hold before this event (the "adds an identifier" share). */
  added: Ident | null;
}

export const ident = (type: string, value: string): Ident => ({ type, value, key: `${type}:${value}` });

/**
 * A family of synthetic customers named `<prefix>u<i>` (user id), `<prefix>a<i>` (anonymous id) and
 * `<prefix>u<i>@example.com`, with deterministic profile ids. Visitors have only the anonymous id.
 */
export class Population {
  constructor(
    readonly prefix: string,
    readonly count: number,
    /** Accounts the users of this population belong to (one per `perAccount` users). */
    readonly perAccount = 20,
  ) {}

  userId(i: number): string {
    return `${this.prefix}u${i}`;
  }

  anonymousId(i: number): string {
    return `${this.prefix}a${i}`;
  }

  email(i: number): string {
    return `${this.prefix}u${i}@example.com`;
  }

  groupId(i: number): string {
    return `${this.prefix}acct${Math.floor(i / this.perAccount)}`;
  }

  get accounts(): number {
    return Math.ceil(this.count / this.perAccount);
  }

  profileId(i: number): string {
    let h = 2166136261;
    for (const c of this.prefix) h = Math.imul(h ^ c.charCodeAt(0), 16777619);
    return new Random((h ^ Math.imul(i + 1, 2654435761)) >>> 0).uuid();
  }
}

const TRACK_NAMES = [
  'Product Viewed',
  'Product Added',
  'Cart Viewed',
  'Checkout Started',
  'Order Completed',
  'Signed In',
  'Search Performed',
  'Video Played',
];
const PAGES = ['/', '/pricing', '/docs', '/blog', '/product/42', '/cart', '/checkout', '/account'];
const SCREENS = ['Home', 'Search', 'Product', 'Cart', 'Settings'];
const PLANS = ['free', 'starter', 'pro', 'enterprise'];
const USER_AGENT =
  'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36';

/** About 450 bytes of JSON per call, like a browser library's output. */
function context(rng: Random, path: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    library: { name: 'analytics.js', version: 'next-1.70.0' },
    ip: `10.${rng.int(256)}.${rng.int(256)}.${rng.int(256)}`,
    locale: 'en-US',
    userAgent: USER_AGENT,
    page: {
      path,
      url: `https://shop.example.com${path}`,
      title: `Example Shop ${path}`,
      referrer: 'https://search.example.org/',
    },
    ...extra,
  };
}

/** Draws calls for a population, in the mix: 60 % track, 20 % page/screen, 15 % identify, 5 % group. */
export class EventFactory {
  private counter = 0;

  constructor(
    private readonly rng: Random,
    /** messageId prefix, unique per stream within a run. */
    private readonly idPrefix: string,
  ) {}

  nextMessageId(): string {
    this.counter += 1;
    return `${this.idPrefix}-${this.counter.toString(36)}`;
  }

  /** A call by user `i` of `pop` at `at`; `kind` forces the call type. */
  userCall(pop: Population, i: number, at: Date, kind?: CallType): PlannedEvent {
    const rng = this.rng;
    const type = kind ?? drawType(rng);
    const path = rng.pick(PAGES);
    const user = ident('user_id', pop.userId(i));
    const anon = ident('anonymous_id', pop.anonymousId(i));
    const event: BenchEvent = {
      type,
      messageId: this.nextMessageId(),
      userId: user.value,
      anonymousId: anon.value,
      context: context(rng, path),
      timestamp: at,
    };
    const identifiers = [user, anon];
    switch (type) {
      case 'track':
        event.event = rng.pick(TRACK_NAMES);
        event.properties = {
          product_id: `sku-${rng.int(5000)}`,
          price: Math.round(rng.next() * 20000) / 100,
          currency: 'USD',
          quantity: 1 + rng.int(3),
        };
        break;
      case 'page':
        event.name = path;
        event.category = 'shop';
        event.properties = { path, title: `Example Shop ${path}` };
        break;
      case 'screen':
        event.name = rng.pick(SCREENS);
        event.properties = { variant: rng.pick(['a', 'b']) };
        break;
      case 'identify':
        event.traits = {
          email: pop.email(i),
          name: `Customer ${pop.prefix}${i}`,
          plan: rng.pick(PLANS),
          seats: 1 + rng.int(50),
          lastLogin: at.toISOString(),
        };
        identifiers.push(ident('email', pop.email(i)));
        break;
      case 'group': {
        const g = Math.floor(i / pop.perAccount);
        event.groupId = pop.groupId(i);
        event.traits = {
          name: `Company ${pop.prefix}${g}`,
          plan: PLANS[g % PLANS.length],
          employees: 10 + g,
        };
        break;
      }
    }
    return { event, profileId: pop.profileId(i), identifiers, added: null };
  }

  /** A call by anonymous visitor `i` of `pop` (anonymous id only): track or page. */
  visitorCall(pop: Population, i: number, at: Date): PlannedEvent {
    const planned = this.userCall(pop, i, at, this.rng.next() < 0.75 ? 'track' : 'page');
    delete planned.event.userId;
    planned.identifiers = planned.identifiers.filter((id) => id.type === 'anonymous_id');
    return planned;
  }

  /**
   * Makes the call also carry an identifier its profile does not hold yet, rotating over the places a
   * Segment library puts them (a new anonymousId, an email in context.traits, a device id, a GA client id),
   * so that no identifier type approaches its per-profile limit (SEMANTICS.md §3).
   */
  addIdentifier(planned: PlannedEvent, serial: number, tag: string): PlannedEvent {
    const value = `${tag}${serial.toString(36)}`;
    const e = planned.event;
    let added: Ident;
    switch (serial % 5) {
      case 0:
        added = ident('anonymous_id', value);
        planned.identifiers = planned.identifiers.filter((id) => id.type !== 'anonymous_id');
        e.anonymousId = value;
        break;
      case 1:
        added = ident('email', `${value}@mail.example.net`);
        e.context.traits = { email: added.value };
        break;
      case 2:
        added = ident('ios.id', value);
        e.context.device = { type: 'ios', id: value };
        break;
      case 3:
        added = ident('android.id', value);
        e.context.device = { type: 'android', id: value };
        break;
      default:
        added = ident('ga_client_id', value);
        e.context.integrations = { 'Google Analytics': { clientId: value } };
        break;
    }
    planned.identifiers = [...planned.identifiers, added];
    planned.added = added;
    return planned;
  }
}

function drawType(rng: Random): CallType {
  const r = rng.next();
  if (r < 0.6) return 'track';
  if (r < 0.7) return 'page';
  if (r < 0.8) return 'screen';
  if (r < 0.95) return 'identify';
  return 'group';
}

/** The call as JSON for the tracking API (`POST /v1/batch` item). */
export function toSegment(e: BenchEvent): Record<string, unknown> {
  const out: Record<string, unknown> = {
    type: e.type,
    messageId: e.messageId,
    timestamp: e.timestamp.toISOString(),
    context: e.context,
  };
  for (const field of [
    'userId',
    'anonymousId',
    'groupId',
    'event',
    'name',
    'category',
    'traits',
    'properties',
  ] as const) {
    if (e[field] !== undefined) out[field] = e[field];
  }
  return out;
}

/** The calls as the body of `POST /v1/batch`, serialised once (the load generator sends only bytes). */
export function batchBody(batch: readonly PlannedEvent[]): Buffer {
  return Buffer.from(JSON.stringify({ batch: batch.map((p) => toSegment(p.event)) }));
}

/**
 * The event's row as sql/events/store-events.sql takes it from the service (src/events/events.repository.ts
 * eventRow) for this call: times in epoch ms, a caller-supplied timestamp also the originalTimestamp, no
 * sentAt, no warnings.
 */
export function sqlEventRow(p: PlannedEvent, receivedAt: Date): Record<string, unknown> {
  const e = p.event;
  const t = e.timestamp.getTime();
  return {
    id: e.messageId,
    type: e.type,
    received_at: receivedAt.getTime(),
    timestamp: t,
    sent_at: null,
    original_timestamp: t,
    user_id: e.userId ?? null,
    anonymous_id: e.anonymousId ?? null,
    event: e.event === undefined ? null : slug(e.event),
    event_text: e.event ?? null,
    name: e.name ?? null,
    category: e.category ?? null,
    group_id: e.groupId ?? null,
    previous_id: null,
    properties: e.properties ?? null,
    traits: e.traits ?? null,
    context: e.context,
    integrations: {},
    warnings: null,
  };
}

/**
 * The event_identifiers rows of the call (one per identifier it carried and resolved with), as the
 * service's linkRows gives them to finish-batch.sql and store-fast-effects.sql.
 */
export function sqlLinkRows(p: PlannedEvent, receivedAt: Date): Record<string, unknown>[] {
  const e = p.event;
  return p.identifiers.map((id) => ({
    key: id.key,
    timestamp: e.timestamp.getTime(),
    message_id: e.messageId,
    type: e.type,
    name: e.event ?? e.name ?? null,
    received_at: receivedAt.getTime(),
  }));
}

/**
 * The Event node's properties exactly as cypher/identity/write-batch.cypher stored them for this call
 * before events moved to PostgreSQL (a caller-supplied timestamp is also the originalTimestamp; no
 * sentAt), with `keys` for the FROM edges: the graph-events raw baseline's rows.
 */
export function graphEventRow(p: PlannedEvent, receivedAt: Date): Record<string, unknown> {
  const e = p.event;
  return {
    messageId: e.messageId,
    type: e.type,
    event: e.event ?? null,
    name: e.name ?? null,
    category: e.category ?? null,
    userId: e.userId ?? null,
    anonymousId: e.anonymousId ?? null,
    previousId: null,
    groupId: e.groupId ?? null,
    properties: e.properties === undefined ? null : JSON.stringify(e.properties),
    traits: e.traits === undefined ? null : JSON.stringify(e.traits),
    context: JSON.stringify(e.context),
    integrations: '{}',
    timestamp: e.timestamp.toISOString(),
    receivedAt: receivedAt.toISOString(),
    sentAt: null,
    originalTimestamp: e.timestamp.toISOString(),
    violations: '[]',
    resolvedTo: p.profileId,
    keys: p.identifiers.map((id) => id.key),
  };
}
