/**
 * Validation of Segment-format events (SEMANTICS.md §1) with the error vocabulary of §7.
 *
 * Pure: the arrival time and the message-id generator are passed in. An invalid event is a result
 * (`{ ok: false, error }`), never an exception (STYLE.md §9).
 */
import { isLosslessNumber, stringifyJson } from '../json.ts';

export type EventType = 'identify' | 'track' | 'page' | 'screen' | 'group' | 'alias';
export type JsonObject = Record<string, unknown>;

export const EVENT_TYPES: readonly EventType[] = ['identify', 'track', 'page', 'screen', 'group', 'alias'];

/** A field that was not trusted; the event is applied without it (SEMANTICS.md §7, §8). */
export interface EventWarning {
  code: 'TIMESTAMP_INVALID' | 'TIMESTAMP_CLAMPED' | 'TEXT_REPLACED';
  message: string;
  path: (string | number)[];
}

export interface ValidEvent {
  type: EventType;
  messageId: string;
  userId?: string;
  anonymousId?: string;
  previousId?: string;
  groupId?: string;
  /** track name */
  event?: string;
  /** page/screen name and page category */
  name?: string;
  category?: string;
  traits?: JsonObject;
  properties?: JsonObject;
  context: JsonObject;
  integrations: JsonObject;
  /** Event time, corrected for device clock skew (§1 Time). */
  timestamp: Date;
  originalTimestamp?: Date;
  sentAt?: Date;
  receivedAt: Date;
  /** Time fields that were not used or were corrected, in field order. */
  warnings: EventWarning[];
}

export interface EventError {
  code: 'VALIDATION_FAILED' | 'PAYLOAD_TOO_LARGE';
  message: string;
  path: (string | number)[];
}

export type Validated = { ok: true; event: ValidEvent } | { ok: false; error: EventError };

export interface BatchValidated {
  items: Validated[];
}

/** §1 Size. `maxTraits` is the largest accepted trait count of an identify (300 or more is refused). */
export const LIMITS = {
  messageIdChars: 100,
  eventBytes: 32 * 1024,
  batchBytes: 500 * 1024,
  batchEvents: 2500,
  maxTraits: 299,
  /**
   * §8 Sizes: UTF-8 bytes of any value that becomes an identifier or an account key (Neo4j refuses index
   * keys over about 8 KB; an id needs far less). docs/adr/0014-input-hygiene.md.
   */
  idBytes: 1024,
  /** §8: event times more than this far past receivedAt (after skew correction) are set to receivedAt. */
  futureToleranceMs: 60 * 60 * 1000,
} as const;

type Path = (string | number)[];

/** Thrown only inside this module to unwind field checks; converted to a `Validated` result at the boundary. */
class Refusal {
  constructor(readonly error: EventError) {}
}

function refuse(code: EventError['code'], message: string, path: Path): never {
  throw new Refusal({ code, message, path });
}

export function isPlainObject(value: unknown): value is JsonObject {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** UTF-8 byte length of the JSON text, or null when the value cannot be serialised (cycles, BigInt). */
function jsonBytes(value: unknown): number | null {
  try {
    const text = stringifyJson(value);
    return text === undefined ? 0 : Buffer.byteLength(text, 'utf8');
  } catch {
    return null;
  }
}

/** Absent means missing or `null`: Segment libraries send `null` for unset optional fields. */
function isAbsent(value: unknown): value is null | undefined {
  return value === undefined || value === null;
}

/**
 * An id field (userId, anonymousId, previousId, groupId): a string, or an integer JSON number within
 * ±(2^53 − 1) (some Segment SDKs send numeric ids), as its decimal string (§8: `6866729` and `"6866729"`
 * are one id), trimmed. An integer a double cannot hold exactly is refused, never rounded. Returns
 * undefined when absent or blank. Over LIMITS.idBytes: refused.
 */
function readId(input: JsonObject, field: string, path: Path): string | undefined {
  const raw = input[field];
  if (isAbsent(raw)) return undefined;
  const text = idText(raw, [...path, field]);
  const trimmed = text.trim();
  if (trimmed === '') return undefined;
  checkIdBytes(trimmed, [...path, field]);
  return trimmed;
}

/** The text of an id value (see readId); refuses anything else at `at`. */
export function idText(raw: unknown, at: Path): string {
  const field = String(at[at.length - 1]);
  if (typeof raw === 'string') return raw;
  if (typeof raw === 'number' && Number.isSafeInteger(raw)) return String(raw);
  if (isLosslessNumber(raw) || (typeof raw === 'number' && Number.isInteger(raw))) {
    refuse(
      'VALIDATION_FAILED',
      `${field} is the number ${String(raw)}, beyond ±(2^53 − 1): JSON numbers cannot carry it exactly, so send it as a string`,
      at,
    );
  }
  return refuse('VALIDATION_FAILED', `${field} must be a string or an integer`, at);
}

/**
 * An unpaired UTF-16 surrogate (JSON's `"\ud800"`): UTF-8 has no encoding for it, so the database would
 * store U+FFFD and the key read back would differ from the one sent (§8).
 */
export const LONE_SURROGATE = /\p{Cs}/u;

/** §8 Sizes: refuses an id of more than LIMITS.idBytes UTF-8 bytes, or one not valid Unicode, at `at`. */
export function checkIdBytes(text: string, at: Path): void {
  if (LONE_SURROGATE.test(text)) {
    refuse('VALIDATION_FAILED', `${String(at[at.length - 1])} holds an unpaired UTF-16 surrogate`, at);
  }
  // PostgreSQL's text cannot hold NUL (docs/adr/0018-event-store.md).
  if (text.includes('\u0000'))
    refuse('VALIDATION_FAILED', `${String(at[at.length - 1])} holds a NUL character`, at);
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes > LIMITS.idBytes) {
    refuse(
      'VALIDATION_FAILED',
      `${String(at[at.length - 1])} is ${bytes} bytes; an id may have at most ${LIMITS.idBytes} bytes (UTF-8)`,
      at,
    );
  }
}

function isEmptyArray(value: unknown): boolean {
  return Array.isArray(value) && value.length === 0;
}

function readString(input: JsonObject, field: string, path: Path): string | undefined {
  const raw = input[field];
  if (isAbsent(raw)) return undefined;
  if (typeof raw !== 'string') refuse('VALIDATION_FAILED', `${field} must be a string`, [...path, field]);
  return raw;
}

/** An object field; `[]` (PHP's encoding of an empty map) is read as `{}` (§8). */
function readObject(input: JsonObject, field: string, path: Path): JsonObject | undefined {
  const raw = input[field];
  if (isAbsent(raw)) return undefined;
  if (isEmptyArray(raw)) return {};
  if (!isPlainObject(raw)) refuse('VALIDATION_FAILED', `${field} must be an object`, [...path, field]);
  return raw;
}

const TIMESTAMP =
  /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?(?:([Zz])|([+-])(\d{2}):?(\d{2}))?$/;

function daysInMonth(year: number, month: number): number {
  const end = new Date(0);
  end.setUTCFullYear(year, month, 0);
  return end.getUTCDate();
}

/**
 * Strict ISO-8601 / RFC 3339 date-time with a mandatory offset. `Date.parse` alone is too lenient: it
 * accepts local times and rolls 2024-02-30 over to March. Years 0000–0099 are those years (§8), not
 * 1900–1999 as `Date.UTC` would make them.
 */
export function parseTimestamp(text: string): { ok: true; date: Date } | { ok: false; reason: string } {
  const m = TIMESTAMP.exec(text.trim());
  if (!m) return { ok: false, reason: 'is not an ISO-8601 date-time such as 2024-05-01T12:00:00Z' };
  const [, y, mo, d, h, mi, s, frac, zulu, sign, oh, om] = m;
  if (zulu === undefined && sign === undefined) {
    return { ok: false, reason: 'has no timezone (Z or ±hh:mm), so its instant is unknown' };
  }
  const year = Number(y);
  const month = Number(mo);
  const day = Number(d);
  const hour = Number(h);
  const minute = Number(mi);
  const second = s === undefined ? 0 : Number(s);
  const offsetHours = oh === undefined ? 0 : Number(oh);
  const offsetMinutes = om === undefined ? 0 : Number(om);
  if (
    month < 1 ||
    month > 12 ||
    day < 1 ||
    day > daysInMonth(year, month) ||
    hour > 23 ||
    minute > 59 ||
    second > 59 ||
    offsetHours > 23 ||
    offsetMinutes > 59
  ) {
    return { ok: false, reason: 'is not a valid date-time' };
  }
  const millis = frac === undefined ? 0 : Number(frac.slice(0, 3).padEnd(3, '0'));
  const offset = (sign === '-' ? -1 : 1) * (offsetHours * 60 + offsetMinutes);
  const local = new Date(0);
  local.setUTCFullYear(year, month - 1, day);
  local.setUTCHours(hour, minute, second, millis);
  const date = new Date(local.getTime() - offset * 60_000);
  if (Number.isNaN(date.getTime())) return { ok: false, reason: 'is not a valid date-time' };
  return { ok: true, date };
}

/** A short, printable rendering of a client's value for a warning message. */
function shown(raw: unknown): string {
  const text = raw instanceof Date ? raw.toISOString() : stringifyJson(raw);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

/**
 * §1, §8: a time field is used only when it is a full ISO-8601 date-time with an offset. Anything else
 * (a one-digit month, a date alone, an epoch number, "NOW") is not used: the event keeps the times it
 * has, and `warnings` gets a TIMESTAMP_INVALID naming the field and the value.
 */
function readTimestamp(
  input: JsonObject,
  field: string,
  path: Path,
  warnings: EventWarning[],
): Date | undefined {
  const raw = input[field];
  if (isAbsent(raw)) return undefined;
  const at = [...path, field];
  const invalid = (reason: string): undefined => {
    warnings.push({
      code: 'TIMESTAMP_INVALID',
      message: `${field} ${shown(raw)} ${reason}; it was not used`,
      path: at,
    });
    return undefined;
  };
  // A Date instance (from a GraphQL DateTime scalar) is an absolute instant, so it is accepted as is.
  if (raw instanceof Date) return Number.isNaN(raw.getTime()) ? invalid('is not a valid date') : raw;
  if (typeof raw !== 'string') return invalid('is not an ISO-8601 date-time string with a timezone');
  const parsed = parseTimestamp(raw);
  return parsed.ok ? parsed.date : invalid(parsed.reason);
}

/** 0000-01-01T00:00:00Z and 9999-12-31T23:59:59.999Z: the instants a 4-digit year can write. */
export const MIN_TIME = -62_167_219_200_000;
const MAX_TIME = 253_402_300_799_999;

/**
 * §1 Time. With `sentAt`, the device clock's offset (sentAt − original) is removed from the server
 * clock: timestamp = receivedAt − (sentAt − original), original being originalTimestamp, else the
 * caller's timestamp, else none (then receivedAt). Without sentAt: timestamp, else originalTimestamp,
 * else receivedAt. May return an invalid Date when the correction leaves the representable range.
 */
export function correctedTimestamp(t: {
  timestamp?: Date;
  originalTimestamp?: Date;
  sentAt?: Date;
  receivedAt: Date;
}): Date {
  if (t.sentAt !== undefined) {
    const original = t.originalTimestamp ?? t.timestamp;
    if (original === undefined) return new Date(t.receivedAt.getTime());
    return new Date(t.receivedAt.getTime() - (t.sentAt.getTime() - original.getTime()));
  }
  return new Date((t.timestamp ?? t.originalTimestamp ?? t.receivedAt).getTime());
}

/**
 * The event time (§1) within the §8 bounds: a correction that leaves the representable range falls back
 * to receivedAt (TIMESTAMP_INVALID at sentAt); a time more than LIMITS.futureToleranceMs past receivedAt
 * is set to receivedAt (TIMESTAMP_CLAMPED), so no client clock can make a trait or an identifier win
 * or block anything for longer than that.
 */
function eventTime(
  t: { timestamp?: Date; originalTimestamp?: Date; sentAt?: Date; receivedAt: Date },
  path: Path,
  warnings: EventWarning[],
): Date {
  const corrected = correctedTimestamp(t);
  // The field the time came from: with sentAt the device's original, else timestamp first (§1).
  const field =
    t.sentAt !== undefined
      ? t.originalTimestamp !== undefined
        ? 'originalTimestamp'
        : 'timestamp'
      : t.timestamp !== undefined
        ? 'timestamp'
        : 'originalTimestamp';
  // A correction may not leave the years an ISO-8601 date-time can write (0000–9999).
  if (Number.isNaN(corrected.getTime()) || corrected.getTime() < MIN_TIME || corrected.getTime() > MAX_TIME) {
    warnings.push({
      code: 'TIMESTAMP_INVALID',
      message: 'sentAt is too far from the event time to correct clock skew; receivedAt was used',
      path: [...path, 'sentAt'],
    });
    return new Date(t.receivedAt.getTime());
  }
  const ahead = corrected.getTime() - t.receivedAt.getTime();
  if (ahead > LIMITS.futureToleranceMs) {
    const hours = (ahead / 3_600_000).toFixed(1);
    warnings.push({
      code: 'TIMESTAMP_CLAMPED',
      message: `the event time ${corrected.toISOString()}${t.sentAt !== undefined ? ' (corrected with sentAt)' : ''} is ${hours} h after receivedAt, more than the ${LIMITS.futureToleranceMs / 3_600_000} h allowed; receivedAt was used`,
      path: [...path, field],
    });
    return new Date(t.receivedAt.getTime());
  }
  return corrected;
}

function checkEvent(
  type: EventType,
  input: unknown,
  receivedAt: Date,
  newId: () => string,
  path: Path,
  options: CheckOptions,
) {
  if (!isPlainObject(input)) refuse('VALIDATION_FAILED', `a ${type} event must be a JSON object`, path);

  const bytes = jsonBytes(input);
  if (bytes === null) refuse('VALIDATION_FAILED', 'event is not serialisable as JSON', path);
  if (bytes > LIMITS.eventBytes) {
    refuse(
      'PAYLOAD_TOO_LARGE',
      `event is ${bytes} bytes of JSON; the limit is ${LIMITS.eventBytes} bytes (32 KB)`,
      path,
    );
  }

  // §8: a blank messageId is absent, as a blank userId is: one is generated.
  let messageId = readString(input, 'messageId', path)?.trim();
  if (messageId !== undefined && messageId !== '') {
    checkIdBytes(messageId, [...path, 'messageId']);
    if (messageId.length > LIMITS.messageIdChars) {
      refuse('VALIDATION_FAILED', `messageId must be at most ${LIMITS.messageIdChars} characters`, [
        ...path,
        'messageId',
      ]);
    }
  } else {
    messageId = newId();
  }

  const userId = readId(input, 'userId', path);
  const anonymousId = readId(input, 'anonymousId', path);
  const event: ValidEvent = {
    type,
    messageId,
    context: {},
    integrations: {},
    timestamp: receivedAt,
    receivedAt,
    warnings: [],
  };
  if (userId !== undefined) event.userId = userId;
  if (anonymousId !== undefined) event.anonymousId = anonymousId;

  // Alias needs previousId and, like every call, userId or anonymousId (Segment's HTTP API documents
  // userId as optional when anonymousId is set).
  if (type === 'alias') {
    const previousId = readId(input, 'previousId', path);
    if (previousId === undefined) {
      refuse('VALIDATION_FAILED', 'previousId is required for alias', [...path, 'previousId']);
    }
    event.previousId = previousId;
  }
  if (userId === undefined && anonymousId === undefined && !options.userOptional) {
    refuse('VALIDATION_FAILED', 'userId or anonymousId is required', [...path, 'userId']);
  }

  if (type === 'track') {
    const name = readString(input, 'event', path);
    if (name === undefined || name.trim() === '') {
      refuse('VALIDATION_FAILED', 'event (the track name) is required', [...path, 'event']);
    }
    event.event = name;
  }

  if (type === 'group') {
    const groupId = readId(input, 'groupId', path);
    if (groupId === undefined)
      refuse('VALIDATION_FAILED', 'groupId is required for group', [...path, 'groupId']);
    event.groupId = groupId;
  }

  if (type === 'page' || type === 'screen') {
    const name = readString(input, 'name', path);
    if (name !== undefined) event.name = name;
  }
  if (type === 'page') {
    const category = readString(input, 'category', path);
    if (category !== undefined) event.category = category;
  }

  // `traits` and `properties` are kept whatever the call: §5 decides who may write traits, and §2 reads
  // identifiers from them. Unknown top-level fields are ignored.
  const traits = readObject(input, 'traits', path);
  if (traits !== undefined && type === 'identify') checkTraitKeys(traits, [...path, 'traits']);
  if (traits !== undefined) {
    // §1: "an identify with 300 or more traits is rejected". Reported as PAYLOAD_TOO_LARGE, not
    // VALIDATION_FAILED, because it is one of the size limits: the request is well-formed, only too big.
    if (type === 'identify' && Object.keys(traits).length > LIMITS.maxTraits) {
      refuse(
        'PAYLOAD_TOO_LARGE',
        `identify has ${Object.keys(traits).length} traits; at most ${LIMITS.maxTraits} are accepted`,
        [...path, 'traits'],
      );
    }
    event.traits = traits;
  }
  const properties = readObject(input, 'properties', path);
  if (properties !== undefined) event.properties = properties;
  event.context = readObject(input, 'context', path) ?? {};
  event.integrations = readObject(input, 'integrations', path) ?? {};

  const timestamp = readTimestamp(input, 'timestamp', path, event.warnings);
  const originalTimestamp = readTimestamp(input, 'originalTimestamp', path, event.warnings);
  const sentAt = readTimestamp(input, 'sentAt', path, event.warnings);
  event.timestamp = eventTime({ timestamp, originalTimestamp, sentAt, receivedAt }, path, event.warnings);
  // §1: a caller-supplied timestamp counts as the originalTimestamp (the device's own clock reading).
  const original = originalTimestamp ?? timestamp;
  if (original !== undefined) event.originalTimestamp = original;
  if (sentAt !== undefined) event.sentAt = sentAt;
  return event;
}

export interface CheckOptions {
  /**
   * Calls that are not a client's may name their subject without userId or anonymousId: the engine's own
   * (SQL traits, docs/adr/0025-sql-traits.md: `traits.email`) and a Profiles CSV row
   * identified by an email or a custom id alone (SEMANTICS.md §12, docs/adr/0026). Resolution still
   * refuses a call with no usable identifier (NO_IDENTIFIERS). Clients' calls always need userId or
   * anonymousId.
   */
  userOptional?: boolean;
}

/**
 * Validates one call of the given type. `path` prefixes every error path (e.g. `['batch', 3]`).
 * Checks run in a fixed order and the first failure is reported.
 */
export function validateEvent(
  type: EventType,
  input: unknown,
  receivedAt: Date,
  newId: () => string,
  path: Path = [],
  options: CheckOptions = {},
): Validated {
  try {
    return { ok: true, event: checkEvent(type, input, receivedAt, newId, path, options) };
  } catch (e) {
    if (e instanceof Refusal) return { ok: false, error: e.error };
    throw e;
  }
}

export interface BatchDefaults {
  context?: JsonObject;
  integrations?: JsonObject;
  sentAt?: unknown;
  /** Set when the batch's own sentAt was not readable; each item without its own sentAt carries it. */
  sentAtWarning?: EventWarning;
}

/**
 * Applies a batch's top-level defaults to one item (§1 Batches). The merge is shallow: a key of the
 * item's own `context`/`integrations` replaces the batch's key of the same name whole (so an item's
 * `context.device` is not combined with the batch's `context.device`). An item's `[]` counts as `{}`
 * (§8); an item whose `context` is any other non-object is left untouched so that validation reports
 * it. A batch-level `sentAt` (sent by analytics-node and others) applies to items without their own, so
 * their clock skew is still corrected.
 */
export function mergeBatchDefaults(item: JsonObject, defaults: BatchDefaults): JsonObject {
  const merged: JsonObject = { ...item };
  for (const field of ['context', 'integrations'] as const) {
    const base = defaults[field];
    if (base === undefined) continue;
    const own = item[field];
    if (isAbsent(own) || isEmptyArray(own)) merged[field] = { ...base };
    else if (isPlainObject(own)) merged[field] = { ...base, ...own };
  }
  if (defaults.sentAt !== undefined && isAbsent(item.sentAt)) merged.sentAt = defaults.sentAt;
  return merged;
}

/** §8: a user trait key becomes a property name on the profile (its `trait.<key>` mirror). */
const TRAIT_KEY_BYTES = 256;

/** Refuses a trait key that Neo4j cannot take as a property name (a NUL) or that is over-long. */
function checkTraitKeys(traits: JsonObject, at: Path): void {
  for (const key of Object.keys(traits)) {
    if (key.includes('\u0000') || LONE_SURROGATE.test(key)) {
      refuse(
        'VALIDATION_FAILED',
        'a trait key must not contain the NUL character (U+0000) or an unpaired surrogate',
        [...at, key],
      );
    }
    if (Buffer.byteLength(key, 'utf8') > TRAIT_KEY_BYTES) {
      refuse('VALIDATION_FAILED', `a trait key may have at most ${TRAIT_KEY_BYTES} bytes (UTF-8)`, [
        ...at,
        key,
      ]);
    }
  }
}

function isEventType(value: unknown): value is EventType {
  return typeof value === 'string' && (EVENT_TYPES as readonly string[]).includes(value);
}

function checkBatch(input: unknown): { batch: unknown[]; defaults: BatchDefaults } {
  if (!isPlainObject(input))
    refuse('VALIDATION_FAILED', 'a batch must be a JSON object with a batch array', []);
  const bytes = jsonBytes(input);
  if (bytes === null) refuse('VALIDATION_FAILED', 'batch is not serialisable as JSON', []);
  if (bytes > LIMITS.batchBytes) {
    refuse(
      'PAYLOAD_TOO_LARGE',
      `batch is ${bytes} bytes of JSON; the limit is ${LIMITS.batchBytes} bytes (500 KB)`,
      [],
    );
  }
  const batch = input.batch;
  if (!Array.isArray(batch)) refuse('VALIDATION_FAILED', 'batch must be an array of events', ['batch']);
  if (batch.length > LIMITS.batchEvents) {
    refuse(
      'PAYLOAD_TOO_LARGE',
      `batch has ${batch.length} events; at most ${LIMITS.batchEvents} are accepted`,
      ['batch'],
    );
  }
  const defaults: BatchDefaults = {};
  const context = readObject(input, 'context', []);
  if (context !== undefined) defaults.context = context;
  const integrations = readObject(input, 'integrations', []);
  if (integrations !== undefined) defaults.integrations = integrations;
  // Read here so that an unreadable batch-level sentAt is named at its own path, ['sentAt'].
  const warnings: EventWarning[] = [];
  if (readTimestamp(input, 'sentAt', [], warnings) !== undefined) defaults.sentAt = input.sentAt;
  if (warnings[0] !== undefined) defaults.sentAtWarning = warnings[0];
  return { batch, defaults };
}

/**
 * Validates a batch `{ batch: [...], context?, integrations?, sentAt? }`. The whole batch is refused
 * only for its own faults (size, count, shape); otherwise every item gets its own result, in order.
 */
export function validateBatch(
  input: unknown,
  receivedAt: Date,
  newId: () => string,
): { ok: true; items: Validated[] } | { ok: false; error: EventError } {
  let checked: { batch: unknown[]; defaults: BatchDefaults };
  try {
    checked = checkBatch(input);
  } catch (e) {
    if (e instanceof Refusal) return { ok: false, error: e.error };
    throw e;
  }
  const items = checked.batch.map((item, i): Validated => {
    const path: Path = ['batch', i];
    if (!isPlainObject(item)) {
      return {
        ok: false,
        error: { code: 'VALIDATION_FAILED', message: 'each batch item must be an object', path },
      };
    }
    if (!isEventType(item.type)) {
      return {
        ok: false,
        error: {
          code: 'VALIDATION_FAILED',
          message: `type is required and must be one of ${EVENT_TYPES.join(', ')}`,
          path: [...path, 'type'],
        },
      };
    }
    // Validated after merging: the merged item is what is stored, so it is what the 32 KB limit measures.
    const result = validateEvent(
      item.type,
      mergeBatchDefaults(item, checked.defaults),
      receivedAt,
      newId,
      path,
    );
    const warning = checked.defaults.sentAtWarning;
    if (result.ok && warning !== undefined && isAbsent(item.sentAt)) result.event.warnings.unshift(warning);
    return result;
  });
  return { ok: true, items };
}

/** Characters PostgreSQL's text and jsonb cannot hold: NUL, and UTF-16 surrogates without their pair. */
// eslint-disable-next-line no-control-regex -- NUL is exactly what is looked for
const UNSTORABLE = /[\u0000\p{Cs}]/gu;

/** A copy of `value` with unstorable characters in its strings and keys replaced, or `value` itself. */
export function storable(value: unknown): { value: unknown; replaced: boolean } {
  if (typeof value === 'string') {
    UNSTORABLE.lastIndex = 0;
    if (!UNSTORABLE.test(value)) return { value, replaced: false };
    return { value: value.replace(UNSTORABLE, '\ufffd'), replaced: true };
  }
  if (Array.isArray(value)) {
    let replaced = false;
    const out = value.map((item) => {
      const r = storable(item);
      replaced ||= r.replaced;
      return r.value;
    });
    return replaced ? { value: out, replaced } : { value, replaced: false };
  }
  if (isPlainObject(value)) {
    let replaced = false;
    const out: JsonObject = {};
    for (const [key, item] of Object.entries(value)) {
      const k = storable(key);
      const r = storable(item);
      replaced ||= k.replaced || r.replaced;
      out[k.value as string] = r.value;
    }
    return replaced ? { value: out, replaced } : { value, replaced: false };
  }
  return { value, replaced: false };
}

const TEXT_FIELDS = ['event', 'name', 'category', 'traits', 'properties', 'context', 'integrations'] as const;

/**
 * The event as the event store can keep it (docs/adr/0018-event-store.md): NUL characters and unpaired
 * surrogates in names and in the JSON fields' strings and keys become U+FFFD, each field so changed with a
 * TEXT_REPLACED warning at `path` + its name. Ids never reach here with them (they are refused); the
 * identifier check runs before this, on the event as sent.
 */
export function storableEvent(event: ValidEvent, path: Path = []): ValidEvent {
  let out: ValidEvent | undefined;
  for (const field of TEXT_FIELDS) {
    const r = storable(event[field]);
    if (!r.replaced) continue;
    out ??= { ...event, warnings: [...event.warnings] };
    (out as unknown as Record<string, unknown>)[field] = r.value;
    out.warnings.push({
      code: 'TEXT_REPLACED',
      message: `${field} held NUL characters or unpaired UTF-16 surrogates, which the event store cannot keep; they were replaced by U+FFFD`,
      path: [...path, field],
    });
  }
  return out ?? event;
}
