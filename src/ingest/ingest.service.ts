// Ingestion: Segment-spec validation (event.ts), then the identity service. Every outcome is data with a
// code (STYLE.md §9); a refused event is written nowhere (SEMANTICS.md §1, §7).
import { randomUUID } from 'node:crypto';
import type { AppError } from '../errors.ts';
import {
  extractIdentifiers,
  identifierKey,
  identifierProblem,
  normaliseIdentifier,
  type ApplyResult,
  type Violation,
} from '../identity/index.ts';
import {
  storableEvent,
  validateBatch,
  validateEvent,
  type EventType,
  type EventWarning,
  type Validated,
  type ValidEvent,
} from './event.ts';
import { DEFAULT_WRITERS, WriteQueue, type ApplyBatch, type QueueStats } from './write-queue.ts';

/** Events per transaction when a batch is applied; bounds a transaction's size and lock set. */
export const BATCH_CHUNK = 100;

export interface EventOutcome {
  ok: boolean;
  messageId: string | null;
  duplicate: boolean;
  /**
   * True when the event carried an identifier a deletion and suppression request suppressed: answered as
   * accepted, counted, never applied (SEMANTICS.md §7, §12; docs/adr/0027-deletion-and-suppression.md).
   */
  suppressed: boolean;
  profileId: string | null;
  error: AppError | null;
  violations: Violation[];
  /** Fields not trusted (SEMANTICS.md §8); empty for a refusal. */
  warnings: EventWarning[];
}

export interface BatchOutcome {
  results: EventOutcome[];
  applied: number;
  duplicates: number;
  /** Items answered as suppressed (docs/adr/0027-deletion-and-suppression.md). */
  suppressed: number;
  refused: number;
  error: AppError | null;
}

/** What ingestion reports as it goes, for metrics (docs/adr/0016-metrics.md); it must not throw. */
export interface IngestObserver {
  /** Every judged event of a request: applied, duplicate or refused with a code. */
  outcomes(outcomes: readonly EventOutcome[]): void;
  /** A batch refused as a whole, before any of its items was judged. */
  batchRefused(error: AppError): void;
  /** A group-commit transaction starting, with its events and the requests sharing it. */
  transaction(events: number, requests: number): void;
}

export interface IngestServiceOptions {
  clock?: () => Date;
  newMessageId?: () => string;
  /** Transactions in flight per space (group commit, docs/adr/0012-group-commit.md); 4 unless set. */
  writers?: number;
  observer?: IngestObserver;
  /**
   * The identifier keys suppressed in a space (src/privacy/suppression.ts); an event carrying any of them
   * is answered as suppressed and not applied. None when unset.
   */
  suppressed?: (space: string) => Promise<ReadonlySet<string>>;
}

export class IngestService {
  private readonly clock: () => Date;
  private readonly newMessageId: () => string;
  private readonly queue: WriteQueue;
  private readonly observer: IngestObserver | undefined;
  private readonly suppressed: ((space: string) => Promise<ReadonlySet<string>>) | undefined;

  /** `apply` stores a batch in both stores (TwoStoreCommit.apply, docs/adr/0018-event-store.md). */
  constructor(apply: ApplyBatch, options: IngestServiceOptions = {}) {
    this.clock = options.clock ?? (() => new Date());
    this.newMessageId = options.newMessageId ?? (() => `sg-${randomUUID()}`);
    const observer = (this.observer = options.observer);
    this.suppressed = options.suppressed;
    this.queue = new WriteQueue(apply, {
      maxEvents: BATCH_CHUNK,
      writers: options.writers ?? DEFAULT_WRITERS,
      ...(observer === undefined ? {} : { onTransaction: (e, r) => observer.transaction(e, r) }),
    });
  }

  /** Group commit's queue right now, across spaces. */
  queueStats(): QueueStats {
    return this.queue.stats();
  }

  /** One call of the given type; `input` is the call's JSON as a client sent it. */
  async send(space: string, type: EventType, input: unknown): Promise<EventOutcome> {
    const [outcome] = await this.applyAll(
      space,
      [withIdentifierCheck(validateEvent(type, input, this.clock(), this.newMessageId), [])],
      false,
    );
    return outcome as EventOutcome;
  }

  /**
   * Identify calls of a Profiles CSV upload (docs/adr/0026-profiles-csv-upload.md): each judged alone and
   * reported in order, like a batch's items, through the same group commit. A call may be identified by
   * an email or a custom id alone (SEMANTICS.md §12). Errors' paths are the call's own fields.
   */
  async importIdentifies(space: string, calls: unknown[]): Promise<EventOutcome[]> {
    const items = calls.map((call) =>
      withIdentifierCheck(
        validateEvent('identify', call, this.clock(), this.newMessageId, [], { userOptional: true }),
        [],
      ),
    );
    return this.applyAll(space, items, false);
  }

  /** A batch: the batch as a whole may be refused; otherwise every item is reported, in order. */
  async batch(space: string, input: unknown): Promise<BatchOutcome> {
    const validated = validateBatch(input, this.clock(), this.newMessageId);
    if (!validated.ok) {
      this.observer?.batchRefused(validated.error);
      return {
        results: [],
        applied: 0,
        duplicates: 0,
        suppressed: 0,
        refused: 0,
        error: validated.error,
      };
    }
    const items = validated.items.map((item, index) => withIdentifierCheck(item, ['batch', index]));
    const results = await this.applyAll(space, items, true);
    return {
      results,
      applied: results.filter((r) => r.ok && !r.duplicate && !r.suppressed).length,
      duplicates: results.filter((r) => r.duplicate).length,
      suppressed: results.filter((r) => r.suppressed).length,
      refused: results.filter((r) => !r.ok).length,
      error: null,
    };
  }

  /**
   * The engine's own calls (SQL traits, docs/adr/0025-sql-traits.md): validated and applied as a batch's
   * items are, through the same queue and both stores, so each is an ordinary event; a call may name its
   * subject by `traits.email` alone. Every call is reported, in order.
   */
  async internal(
    space: string,
    calls: readonly { type: EventType; input: unknown }[],
  ): Promise<EventOutcome[]> {
    const now = this.clock();
    const items = calls.map((call, index) =>
      withIdentifierCheck(
        validateEvent(call.type, call.input, now, this.newMessageId, [index], { userOptional: true }),
        [index],
      ),
    );
    return this.applyAll(space, items, false);
  }

  /**
   * Applies the valid items in order, in chunks of up to BATCH_CHUNK events (so a batch from one device
   * resolves as the device sent it), and reports every item. Batch items' errors name their index. A
   * chunk may share its transaction with other requests of the space that wait at the same time.
   */
  private async applyAll(space: string, items: Validated[], inBatch: boolean): Promise<EventOutcome[]> {
    const suppressedKeys = this.suppressed === undefined ? null : await this.suppressed(space);
    const suppressed = new Set<number>();
    const valid = items.flatMap((item, index) => {
      if (!item.ok) return [];
      if (suppressedKeys !== null && suppressedKeys.size > 0 && carriesAny(item.event, suppressedKeys)) {
        suppressed.add(index);
        return [];
      }
      return [{ index, event: item.event }];
    });
    const applied = new Map<number, ApplyResult>();
    for (let start = 0; start < valid.length; start += BATCH_CHUNK) {
      const chunk = valid.slice(start, start + BATCH_CHUNK);
      const results = await this.queue.submit(
        space,
        chunk.map((c) => c.event),
      );
      chunk.forEach((c, i) => applied.set(c.index, results[i] as ApplyResult));
    }
    const outcomes = items.map((item, index): EventOutcome => {
      if (!item.ok) {
        return {
          ok: false,
          messageId: null,
          duplicate: false,
          suppressed: false,
          profileId: null,
          error: item.error,
          violations: [],
          warnings: [],
        };
      }
      if (suppressed.has(index)) {
        return {
          ok: true,
          messageId: item.event.messageId,
          duplicate: false,
          suppressed: true,
          profileId: null,
          error: null,
          violations: [],
          warnings: [],
        };
      }
      return outcomeOf(item.event, applied.get(index) as ApplyResult, inBatch ? ['batch', index] : []);
    });
    this.observer?.outcomes(outcomes);
    return outcomes;
  }
}

/**
 * Whether an event carries a suppressed identifier (SEMANTICS.md §12): any of its user identifiers, or the
 * account of a group call. Keys are normalised as the graph stores them, so `Jane@X.com` matches.
 */
function carriesAny(event: ValidEvent, keys: ReadonlySet<string>): boolean {
  if (extractIdentifiers(event).some((id) => keys.has(identifierKey(id)))) return true;
  if (event.groupId === undefined) return false;
  const account = normaliseIdentifier('group_id', event.groupId);
  return account !== null && keys.has(identifierKey(account));
}

/**
 * SEMANTICS.md §8 Sizes and numbers: an identifier value the database could not index, or that a double
 * would round, refuses its event alone, at the field's path (`prefix` names the batch item).
 */
function withIdentifierCheck(item: Validated, prefix: AppError['path']): Validated {
  if (!item.ok) return item;
  const problem = identifierProblem(item.event);
  if (problem === null) return { ok: true, event: storableEvent(item.event, prefix) };
  return {
    ok: false,
    error: { code: 'VALIDATION_FAILED', message: problem.message, path: [...prefix, ...problem.path] },
  };
}

function outcomeOf(event: ValidEvent, result: ApplyResult, path: AppError['path']): EventOutcome {
  switch (result.status) {
    case 'applied':
      return {
        ok: true,
        messageId: event.messageId,
        duplicate: false,
        suppressed: false,
        profileId: result.profileId,
        error: null,
        violations: result.violations,
        warnings: event.warnings,
      };
    case 'duplicate':
      return {
        ok: true,
        messageId: event.messageId,
        duplicate: true,
        suppressed: false,
        profileId: null,
        error: null,
        violations: [],
        warnings: event.warnings,
      };
    case 'refused':
      return {
        ok: false,
        messageId: event.messageId,
        duplicate: false,
        suppressed: false,
        profileId: null,
        error: { code: result.code, message: result.message, path },
        violations: result.violations,
        warnings: event.warnings,
      };
  }
}
