// The event store (docs/adr/0018-event-store.md): stores accepted events in PostgreSQL, in Segment's
// warehouse shapes, with what profile reads need to find them, and keeps the change log. Transaction scope
// lives here; the two-store commit that pairs it with the identity graph is ingestion's
// (src/ingest/commit.ts).
import type { ValidEvent } from '../ingest/event.ts';
import { sqlState, type Database } from '../postgres/database.ts';
import { ensurePartitions } from '../postgres/migrations.ts';
import {
  EventsRepository,
  toValidEvent,
  type Change,
  type EventLink,
  type FinishedBatch,
  type LoggedChange,
  type PageQuery,
  type StoredEvent,
} from './events.repository.ts';

export interface StoreBatch {
  space: string;
  /** The batch's events, no messageId twice. */
  events: ValidEvent[];
  /**
   * Events whose identity effect the graph still has to write: recorded as pending under `batchId` when
   * this call claims them. The others need no graph write (the fast path): their links and changes are
   * written here, for the ones claimed.
   */
  pending: { batchId: string; messageIds: Set<string> };
  fast: { links: EventLink[]; changes: (claimed: Set<string>) => Change[] };
}

/** SQLSTATE of a row that no partition accepts (check_violation, raised by partition routing). */
const NO_PARTITION = '23514';

export class EventStore {
  private readonly repo = new EventsRepository();

  constructor(readonly db: Database) {}

  /**
   * Stores the events in one transaction; returns the messageIds it claimed (the others were stored
   * before: duplicates, §1). Pending events claimed are recorded under the batch id in the same commit.
   */
  async store(batch: StoreBatch): Promise<Set<string>> {
    try {
      return await this.storeOnce(batch);
    } catch (error) {
      // An event received in a month without a partition yet (a server clock far off, a replay of old
      // events): the months are created and the batch stored again.
      if (sqlState(error) !== NO_PARTITION) throw error;
      const times = batch.events.map((e) => e.receivedAt.getTime());
      await ensurePartitions(this.db, new Date(Math.min(...times)), new Date(Math.max(...times)));
      return this.storeOnce(batch);
    }
  }

  private storeOnce(batch: StoreBatch): Promise<Set<string>> {
    return this.db.transaction(async (tx) => {
      const claimed = await this.repo.store(tx, batch.space, batch.events);
      const pending = batch.events
        .map((e) => e.messageId)
        .filter((id) => batch.pending.messageIds.has(id) && claimed.has(id));
      if (pending.length > 0)
        await this.repo.addPendingBatch(tx, batch.pending.batchId, batch.space, pending);
      const links = batch.fast.links.filter((l) => claimed.has(l.event.messageId));
      await this.repo.storeFastEffects(tx, batch.space, links, batch.fast.changes(claimed));
      return claimed;
    });
  }

  /**
   * Appends change-log entries written outside a batch's two-store commit (account traits a SQL trait
   * set, docs/adr/0025-sql-traits.md), in one transaction, for the log's consumers to follow.
   */
  logChanges(space: string, changes: Change[]): Promise<void> {
    return this.db.transaction((tx) => this.repo.storeFastEffects(tx, space, [], changes));
  }

  /** Copies a batch's identity effect in, once; false when it was finished already. */
  finish(batch: FinishedBatch): Promise<boolean> {
    return this.db.transaction((tx) => this.repo.finishBatch(tx, batch));
  }

  /** Pending batches of the space that hold any of the messageIds. */
  pendingHolding(space: string, messageIds: string[]): Promise<{ batchId: string; messageIds: string[] }[]> {
    return messageIds.length === 0
      ? Promise.resolve([])
      : this.repo.findPendingBatches(this.db, space, messageIds);
  }

  pendingBefore(before: Date, limit: number) {
    return this.repo.listPendingBatches(this.db, before, limit);
  }

  pendingIds(): Promise<string[]> {
    return this.repo.listPendingBatchIds(this.db);
  }

  /** A pending batch's events as ingestion validated them, in batch order. */
  async loadEvents(space: string, messageIds: string[]): Promise<ValidEvent[]> {
    return (await this.repo.loadByIds(this.db, space, messageIds)).map(toValidEvent);
  }

  /** One page of events per profile, found through the identifiers each holds (keys). */
  async pages(
    space: string,
    profiles: { profileId: string; keys: string[] }[],
    q: PageQuery,
  ): Promise<Map<string, StoredEvent[]>> {
    const ids = await this.repo.loadPages(this.db, space, profiles, q);
    const events = await this.repo.loadByIds(this.db, space, [...new Set([...ids.values()].flat())]);
    const byId = new Map(events.map((e) => [e.messageId, e]));
    return new Map(
      [...ids].map(([profileId, list]) => [
        profileId,
        list.flatMap((id) => {
          const e = byId.get(id);
          return e === undefined ? [] : [e];
        }),
      ]),
    );
  }

  accountEvents(space: string, groupId: string, q: PageQuery): Promise<StoredEvent[]> {
    return this.repo.loadAccountEvents(this.db, space, groupId, q);
  }

  /** The identifier keys each event resolved with. */
  eventKeys(space: string, messageIds: readonly string[]): Promise<Map<string, string[]>> {
    return messageIds.length === 0
      ? Promise.resolve(new Map())
      : this.repo.loadEventKeys(this.db, space, messageIds);
  }

  violations(space: string, profiles: { profileId: string; keys: string[] }[], limit: number) {
    return this.repo.loadViolations(this.db, space, profiles, limit);
  }

  /** Stored events by messageId as reads see them (ids not stored are left out). */
  storedEvents(space: string, messageIds: readonly string[]): Promise<StoredEvent[]> {
    return this.repo.loadByIds(this.db, space, messageIds);
  }

  /** One space's change log after a position, oldest first (sql/events/read-space-changes.sql). */
  spaceChanges(
    space: string,
    after: { txid: string; position: string } | null,
    limit: number,
  ): Promise<LoggedChange[]> {
    return this.repo.readSpaceChanges(this.db, space, after, limit);
  }

  /** The change log after a position, oldest first (sql/events/read-changes.sql). */
  changes(after: { txid: string; position: string } | null, limit: number): Promise<LoggedChange[]> {
    return this.repo.readChanges(this.db, after, limit);
  }
}
