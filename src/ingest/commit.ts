// The two-store commit (docs/adr/0018-event-store.md): a batch's events go to PostgreSQL and their
// identity effect to Neo4j, exactly once each, with no distributed transaction.
//
//   1. One PostgreSQL transaction claims each (space, messageId), stores the events it claimed and
//      records the batch as pending. From its commit on, the events are durable.
//   2. One Neo4j transaction writes the identity effect and an AppliedBatch marker carrying that effect;
//      the marker's uniqueness constraint lets a batch's effect be written once, whoever tries.
//   3. One PostgreSQL transaction deletes the pending row and, only if it deleted it, copies the effect in
//      (the identifiers each event resolved with, violations, the identity map, the change log).
//
// A client is answered after step 3. A crash after step 1 leaves a pending row: a resent event finds it
// and finishes the batch (steps 2 and 3, reading its events back), and the recovery pass does so for
// batches nobody resends. Step 2 run twice returns the marker's effect; step 3 run twice does nothing.
import { randomUUID } from 'node:crypto';
import type { Change, EventLink, EventStore, FinishedBatch } from '../events/index.ts';
import type { ApplyResult, BatchEffect, FastEvent, IdentityService } from '../identity/index.ts';
import type { ValidEvent } from './event.ts';

/** Pending batches older than this are taken to be abandoned by their writer and finished by recovery. */
export const RECOVERY_AGE_MS = 10_000;

/**
 * The points between the writes: `stored` after step 1 commits, `applied` after step 2, `finished` after
 * step 3 (before the client is answered). The crash tests kill the process at each.
 */
export type CommitStep = 'stored' | 'applied' | 'finished';

export interface TwoStoreCommitOptions {
  newBatchId?: () => string;
  /** Called after each step of a batch's commit (test/integration/crash.test.ts). */
  onStep?: (step: CommitStep) => void;
}

/** Events this process stored, and how many of them took the fast path (no graph write). */
export interface CommitStats {
  events: number;
  fastPath: number;
}

export class TwoStoreCommit {
  private readonly counts: CommitStats = { events: 0, fastPath: 0 };
  private readonly newBatchId: () => string;
  private readonly onStep: (step: CommitStep) => void;

  constructor(
    private readonly events: EventStore,
    private readonly identity: IdentityService,
    options: TwoStoreCommitOptions = {},
  ) {
    this.newBatchId = options.newBatchId ?? randomUUID;
    this.onStep = options.onStep ?? (() => {});
  }

  /**
   * Applies a batch in order; one result per event. A messageId the space stores already, or that came
   * earlier in the batch, is a duplicate; if the batch that stored it is still pending, it is finished
   * before this returns (the resend completes what a crash left).
   */
  async apply(space: string, events: ValidEvent[]): Promise<ApplyResult[]> {
    const first = new Map<string, ValidEvent>();
    for (const e of events) if (!first.has(e.messageId)) first.set(e.messageId, e);
    const unique = [...first.values()];
    // One graph read: an unknown space fails here, before anything is stored; events whose identifiers
    // all belong to one profile already need no graph write (the fast path).
    const fastOf = new Map<string, FastEvent>();
    (await this.identity.fastEvents(space, unique)).forEach((fast, i) => {
      if (fast !== null) fastOf.set((unique[i] as ValidEvent).messageId, fast);
    });
    const batchId = this.newBatchId();
    const claimed = await this.events.store({
      space,
      events: unique,
      pending: {
        batchId,
        messageIds: new Set(unique.filter((e) => !fastOf.has(e.messageId)).map((e) => e.messageId)),
      },
      fast: {
        links: unique.flatMap((event) =>
          (fastOf.get(event.messageId)?.keys ?? []).map((key) => ({ key, event })),
        ),
        changes: (stored) => fastChanges(unique, fastOf, stored),
      },
    });
    this.onStep('stored');
    const fresh = unique.filter((e) => claimed.has(e.messageId));
    const fastFresh = fresh.filter((e) => fastOf.has(e.messageId));
    const slowFresh = fresh.filter((e) => !fastOf.has(e.messageId));
    this.counts.events += fresh.length;
    this.counts.fastPath += fastFresh.length;
    this.identity.noteFastEvents(
      space,
      fastFresh.map((event) => ({ event, fast: fastOf.get(event.messageId) as FastEvent })),
    );
    const effect = slowFresh.length === 0 ? null : await this.finishBatch(space, batchId, slowFresh);
    const duplicates = unique.filter((e) => !claimed.has(e.messageId)).map((e) => e.messageId);
    for (const pending of await this.events.pendingHolding(space, duplicates)) {
      await this.recoverBatch(space, pending.batchId, pending.messageIds);
    }

    const resultOf = new Map<string, ApplyResult>();
    slowFresh.forEach((e, i) => resultOf.set(e.messageId, effect?.results[i] as ApplyResult));
    for (const e of fastFresh) {
      resultOf.set(e.messageId, {
        status: 'applied',
        profileId: (fastOf.get(e.messageId) as FastEvent).profileId,
        violations: [],
      });
    }
    const seen = new Set<string>();
    return events.map((e) => {
      const own = !seen.has(e.messageId) && claimed.has(e.messageId);
      seen.add(e.messageId);
      return own ? (resultOf.get(e.messageId) as ApplyResult) : { status: 'duplicate' };
    });
  }

  /** Counts since start (benchmarks report the fast path's share). */
  stats(): CommitStats {
    return { ...this.counts };
  }

  /**
   * Finishes pending batches recorded before `before` (a crash, or a writer that gave up after storing):
   * returns how many it finished. Safe to run beside live writers and other processes.
   */
  async recover(before: Date, limit = 100): Promise<number> {
    let finished = 0;
    for (const batch of await this.events.pendingBefore(before, limit)) {
      await this.recoverBatch(batch.space, batch.batchId, batch.messageIds);
      finished += 1;
    }
    return finished;
  }

  /** Removes graph markers of batches the event store has finished, written before `before`. */
  async sweep(before: Date): Promise<number> {
    return this.identity.sweepBatches(before, await this.events.pendingIds());
  }

  private async recoverBatch(space: string, batchId: string, messageIds: string[]): Promise<void> {
    const events = await this.events.loadEvents(space, messageIds);
    await this.finishBatch(space, batchId, events);
  }

  /** Steps 2 and 3 for stored events of a pending batch. */
  private async finishBatch(space: string, batchId: string, events: ValidEvent[]): Promise<BatchEffect> {
    const effect = await this.identity.applyBatch(space, events, batchId);
    this.onStep('applied');
    await this.events.finish(finishedBatch(space, batchId, events, effect));
    this.onStep('finished');
    return effect;
  }
}

/** The change-log entry of the fast-path events a store claimed. */
function fastChanges(events: ValidEvent[], fastOf: Map<string, FastEvent>, claimed: Set<string>): Change[] {
  const stored = events.filter((e) => claimed.has(e.messageId) && fastOf.has(e.messageId));
  if (stored.length === 0) return [];
  return [
    {
      kind: 'events',
      payload: stored.map((e) => {
        const fast = fastOf.get(e.messageId) as FastEvent;
        return {
          messageId: e.messageId,
          type: e.type,
          event: e.event,
          profileId: fast.profileId,
          keys: fast.keys,
        };
      }),
    },
  ];
}

/** What step 3 copies in, from the effect of the batch's events. */
export function finishedBatch(
  space: string,
  batchId: string,
  events: ValidEvent[],
  effect: BatchEffect,
): FinishedBatch {
  const byId = new Map(events.map((e) => [e.messageId, e]));
  const links: EventLink[] = [];
  const violations: FinishedBatch['violations'] = [];
  for (const applied of effect.events) {
    const event = byId.get(applied.messageId);
    if (event === undefined) continue;
    for (const key of applied.keys) links.push({ key, event });
    if (applied.violations.length > 0) violations.push({ event, violations: applied.violations });
  }
  const refused = events.filter((_, i) => effect.results[i]?.status === 'refused').map((e) => e.messageId);
  // A profile merged away later in the same batch is followed to its final survivor.
  const survivorOf = new Map(effect.merges.map((m) => [m.mergedId, m.survivorId]));
  const final = (id: string): string => {
    let at = id;
    for (let next = survivorOf.get(at); next !== undefined; next = survivorOf.get(at)) at = next;
    return at;
  };
  const changes: Change[] = [];
  if (effect.events.length > 0) {
    changes.push({
      kind: 'events',
      payload: effect.events.map((e) => ({
        messageId: e.messageId,
        type: byId.get(e.messageId)?.type,
        // A track's name: the computed traits reading it are recomputed (docs/adr/0021, "Only what moved").
        event: byId.get(e.messageId)?.event,
        profileId: e.profileId,
        keys: e.keys,
      })),
    });
  }
  if (effect.identifiers.length > 0) changes.push({ kind: 'identifiers', payload: effect.identifiers });
  if (effect.merges.length > 0) changes.push({ kind: 'merges', payload: effect.merges });
  if (effect.traits.length > 0) changes.push({ kind: 'traits', payload: effect.traits });
  if (effect.accounts.length > 0) changes.push({ kind: 'accounts', payload: effect.accounts });
  if (effect.memberships.length > 0) changes.push({ kind: 'memberships', payload: effect.memberships });
  return {
    batchId,
    space,
    links,
    violations,
    refused,
    identities: effect.identifiers,
    merges: effect.merges.map((m) => ({ mergedId: m.mergedId, survivorId: final(m.survivorId) })),
    changes,
  };
}
