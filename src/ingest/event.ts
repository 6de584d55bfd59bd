/**
 * Validation of Segment-format events (SEMANTICS.md §1) with the error vocabulary of §7.
 *
 * Pure: the arrival time and the message-id generator are passed in. An invalid event is a result
 * (`{ ok: false, error }`), never an exception (STYLE.md §9).
 */

export type EventType = 'identify' | 'track' | 'page' | 'screen' | 'group' | 'alias';
export type JsonObject = Record<string, unknown>;

export const EVENT_TYPES: readonly EventType[] = ['identify', 'track', 'page', 'screen', 'group', 'alias'];

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
    const text = JSON.stringify(value);
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
 * An id field (userId, anonymousId, previousId, groupId): a string, or a finite number (some Segment
 * SDKs send numeric ids), trimmed. Returns undefined when absent or blank.
 */
function readId(input: JsonObject, field: string, path: Path): string | undefined {
  const raw = input[field];
  if (isAbsent(raw)) return undefined;
  let text: string;
  if (typeof raw === 'string') text = raw;
  else if (typeof raw === 'number' && Number.isFinite(raw)) text = String(raw);
  else refuse('VALIDATION_FAILED', `${field} must be a string`, [...path, field]);
  const trimmed = text.trim();
  return trimmed === '' ? undefined : trimmed;
}

function readString(input: JsonObject, field: string, path: Path): string | undefined {
  const raw = input[field];
  if (isAbsent(raw)) return undefined;
  if (typeof raw !== 'string') refuse('VALIDATION_FAILED', `${field} must be a string`, [...path, field]);
  return raw;
}

function readObject(input: JsonObject, field: string, path: Path): JsonObject | undefined {
  const raw = input[field];
  if (isAbsent(raw)) return undefined;
  if (!isPlainObject(raw)) refuse('VALIDATION_FAILED', `${field} must be an object`, [...path, field]);
  return raw;
}

const TIMESTAMP =
  /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?(?:([Zz])|([+-])(\d{2}):?(\d{2}))?$/;

function daysInMonth(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

/**
 * Strict ISO-8601 / RFC 3339 date-time with a mandatory offset. `Date.parse` alone is too lenient: it
 * accepts local times and rolls 2024-02-30 over to March.
 */
export function parseTimestamp(text: string): { ok: true; date: Date } | { ok: false; reason: string } {
  const m = TIMESTAMP.exec(text.trim());
  if (!m) return { ok: false, reason: 'must be an ISO-8601 date-time such as 2024-05-01T12:00:00Z' };
  const [, y, mo, d, h, mi, s, frac, zulu, sign, oh, om] = m;
  if (zulu === undefined && sign === undefined) {
    return { ok: false, reason: 'must carry a timezone (Z or ±hh:mm)' };
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
  const date = new Date(Date.UTC(year, month - 1, day, hour, minute, second, millis) - offset * 60_000);
  if (Number.isNaN(date.getTime())) return { ok: false, reason: 'is not a valid date-time' };
  return { ok: true, date };
}

function readTimestamp(input: JsonObject, field: string, path: Path): Date | undefined {
  const raw = input[field];
  if (isAbsent(raw)) return undefined;
  // A Date instance (from a GraphQL DateTime scalar) is an absolute instant, so it is accepted as is.
  if (raw instanceof Date) {
    if (Number.isNaN(raw.getTime()))
      refuse('VALIDATION_FAILED', `${field} is not a valid date`, [...path, field]);
    return raw;
  }
  if (typeof raw !== 'string') {
    refuse('VALIDATION_FAILED', `${field} must be an ISO-8601 string with a timezone`, [...path, field]);
  }
  const parsed = parseTimestamp(raw);
  if (!parsed.ok) refuse('VALIDATION_FAILED', `${field} ${parsed.reason}`, [...path, field]);
  return parsed.date;
}

/**
 * §1 Time. With `sentAt`, the device clock's offset (sentAt − original) is removed from the server
 * clock: timestamp = receivedAt − (sentAt − original), original being originalTimestamp, else the
 * caller's timestamp, else none (then receivedAt). Without sentAt: timestamp, else originalTimestamp,
 * else receivedAt.
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

function checkEvent(type: EventType, input: unknown, receivedAt: Date, newId: () => string, path: Path) {
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

  let messageId = readString(input, 'messageId', path);
  if (messageId !== undefined) {
    if (messageId.trim() === '')
      refuse('VALIDATION_FAILED', 'messageId must not be blank', [...path, 'messageId']);
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
  };
  if (userId !== undefined) event.userId = userId;
  if (anonymousId !== undefined) event.anonymousId = anonymousId;

  if (type === 'alias') {
    const previousId = readId(input, 'previousId', path);
    if (userId === undefined)
      refuse('VALIDATION_FAILED', 'userId is required for alias', [...path, 'userId']);
    if (previousId === undefined) {
      refuse('VALIDATION_FAILED', 'previousId is required for alias', [...path, 'previousId']);
    }
    event.previousId = previousId;
  } else if (userId === undefined && anonymousId === undefined) {
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

  const timestamp = readTimestamp(input, 'timestamp', path);
  const originalTimestamp = readTimestamp(input, 'originalTimestamp', path);
  const sentAt = readTimestamp(input, 'sentAt', path);
  event.timestamp = correctedTimestamp({ timestamp, originalTimestamp, sentAt, receivedAt });
  if (Number.isNaN(event.timestamp.getTime())) {
    refuse('VALIDATION_FAILED', 'sentAt is too far from the event time to correct clock skew', [
      ...path,
      'sentAt',
    ]);
  }
  // §1: a caller-supplied timestamp counts as the originalTimestamp (the device's own clock reading).
  const original = originalTimestamp ?? timestamp;
  if (original !== undefined) event.originalTimestamp = original;
  if (sentAt !== undefined) event.sentAt = sentAt;
  return event;
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
): Validated {
  try {
    return { ok: true, event: checkEvent(type, input, receivedAt, newId, path) };
  } catch (e) {
    if (e instanceof Refusal) return { ok: false, error: e.error };
    throw e;
  }
}

export interface BatchDefaults {
  context?: JsonObject;
  integrations?: JsonObject;
  sentAt?: unknown;
}

/**
 * Applies a batch's top-level defaults to one item (§1 Batches). The merge is shallow: a key of the
 * item's own `context`/`integrations` replaces the batch's key of the same name whole (so an item's
 * `context.device` is not combined with the batch's `context.device`). An item whose `context` is not
 * an object is left untouched so that validation reports it. A batch-level `sentAt` (sent by
 * analytics-node and others) applies to items without their own, so their clock skew is still corrected.
 */
export function mergeBatchDefaults(item: JsonObject, defaults: BatchDefaults): JsonObject {
  const merged: JsonObject = { ...item };
  for (const field of ['context', 'integrations'] as const) {
    const base = defaults[field];
    if (base === undefined) continue;
    const own = item[field];
    if (isAbsent(own)) merged[field] = { ...base };
    else if (isPlainObject(own)) merged[field] = { ...base, ...own };
  }
  if (defaults.sentAt !== undefined && isAbsent(item.sentAt)) merged.sentAt = defaults.sentAt;
  return merged;
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
  // Checked here so that a bad batch-level sentAt is reported at its own path, not at every item.
  if (readTimestamp(input, 'sentAt', []) !== undefined) defaults.sentAt = input.sentAt;
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
    return validateEvent(item.type, mergeBatchDefaults(item, checked.defaults), receivedAt, newId, path);
  });
  return { ok: true, items };
}
