// The one-off move of events out of the graph (issue 12 §8; docs/adr/0018-event-store.md): a graph
// written by the version before the event store holds every event as an Event node with FROM edges to the
// identifiers it resolved with. `npm run stitchgraph -- events migrate` moves them into PostgreSQL's
// tables, page by page, and removes them from Neo4j; then it fills the identity map and the merges that
// PostgreSQL keeps for identifiers and profiles written before it, and drops the graph's Event schema.
//
// Crash safety, page by page (a page is the first N Event nodes of a space in messageId order):
//   1. one PostgreSQL transaction claims each messageId, then stores the events whose claim has no row
//      (with their event_identifiers and event_violations rows), and commits;
//   2. one Neo4j transaction deletes the page's nodes.
// The nodes left are the only cursor. A crash before 1 commits leaves nothing; between 1 and 2 it leaves
// rows and nodes, and the next run reads the same page again: every claim is there with its row, so
// nothing is stored again and the nodes go. A messageId that a client resent to this version before its
// node moved holds a claim and a row of its own: the node is dropped, and the event is stored once. Pages
// may run beside the service: a writer's claim and row commit together, and the claim statement waits for
// a writer still holding the claim, so the store statement after it sees that writer's row.
import type { Graph } from '../graph/index.ts';
import { MigrationRepository, type MigrationState } from '../identity/index.ts';
import type { Database } from '../postgres/database.ts';
import { ensurePartitions, monthStart } from '../postgres/migrations.ts';
import { LegacyMigrationRepository, type LegacyEvent } from './legacy-migration.repository.ts';

/** Prefix of the move's progress markers, one `:Migration` node per space (`event-store-1:<space>`). */
export const EVENT_MOVE_MIGRATION = 'event-store-1';

export const DEFAULT_MOVE_BATCH = 1000;
export const MAX_MOVE_BATCH = 10_000;

export interface EventMoveProgress {
  phase: 'events' | 'identity map';
  space: string;
  /** Event nodes moved so far by this run, of `total`. */
  moved: number;
  total: number;
}

export interface EventMoveOptions {
  /** One space only; every space when absent. */
  space?: string;
  /** Event nodes per page (one PostgreSQL and one Neo4j transaction each). */
  batch?: number;
  /** Checked before every page: true stops the run (the next run resumes). */
  stopped?: () => boolean;
  /** Called after every page. */
  progress?: (progress: EventMoveProgress) => void;
  /** Called between a page's PostgreSQL commit and its Neo4j delete (tests crash here). */
  afterStore?: (space: string, messageIds: string[]) => void | Promise<void>;
}

export interface EventMoveResult {
  /** Event nodes in scope when the run started. */
  total: number;
  /** Event nodes moved: stored now, or found stored already (an earlier run's page, or a resend). */
  moved: number;
  /** Events this run stored. */
  stored: number;
  /** Rows this run added to identity_map and profile_merges. */
  identifiers: number;
  merges: number;
  /** False when stopped before the end; run again to resume. */
  finished: boolean;
  /** Whether the graph's Event constraint and index were dropped (once no Event node is left anywhere). */
  schemaDropped: boolean;
}

export class LegacyEventMigration {
  private readonly repo = new LegacyMigrationRepository();
  private readonly migrations = new MigrationRepository();

  constructor(
    private readonly graph: Graph,
    private readonly db: Database,
    private readonly clock: () => Date = () => new Date(),
  ) {}

  /** Whether the graph still holds events to move, or a move left a space's identity map unfinished. */
  pending(): Promise<{ eventsLeft: boolean; unfinished: boolean }> {
    return this.graph.read((tx) => this.repo.findLeft(tx, `${EVENT_MOVE_MIGRATION}:`));
  }

  async run(options: EventMoveOptions = {}): Promise<EventMoveResult> {
    const batch = options.batch ?? DEFAULT_MOVE_BATCH;
    if (!Number.isInteger(batch) || batch < 1 || batch > MAX_MOVE_BATCH)
      throw new RangeError(`batch must be an integer from 1 to ${MAX_MOVE_BATCH}, got ${batch}`);
    const total = await this.graph.read((tx) => this.repo.countEvents(tx, options.space ?? null));
    const result: EventMoveResult = {
      total,
      moved: 0,
      stored: 0,
      identifiers: 0,
      merges: 0,
      finished: false,
      schemaDropped: false,
    };
    const run: Run = { options, batch, result, months: new Set() };
    options.progress?.({ phase: 'events', space: options.space ?? '', moved: 0, total });
    let after = '';
    for (;;) {
      const space = options.space ?? (await this.graph.read((tx) => this.repo.nextSpace(tx, after)));
      if (space === null) break;
      if (!(await this.moveSpace(run, space))) return result;
      if (options.space !== undefined) break;
      after = space;
    }
    result.finished = true;
    // Deduplication and event reads are PostgreSQL's now; the schema goes with the last Event node.
    if (!(await this.pending()).eventsLeft) {
      await this.graph.write((tx) => this.repo.dropEventConstraint(tx));
      await this.graph.write((tx) => this.repo.dropEventTimestampIndex(tx));
      result.schemaDropped = true;
    }
    return result;
  }

  /** A space's events, then its identity map and merges; false when stopped. */
  private async moveSpace(run: Run, space: string): Promise<boolean> {
    for (;;) {
      if (run.options.stopped?.() === true) return false;
      const page = await this.graph.read((tx) => this.repo.listEvents(tx, space, run.batch));
      if (page.length === 0) break;
      await this.movePage(run, space, page);
    }
    return this.fillIdentities(run, space);
  }

  private async movePage(run: Run, space: string, page: LegacyEvent[]): Promise<void> {
    for (const month of new Set(page.map((e) => monthStart(new Date(e.receivedAt))))) {
      if (run.months.has(month)) continue;
      await ensurePartitions(this.db, new Date(month), new Date(month));
      run.months.add(month);
    }
    run.result.stored += await this.db.transaction((tx) => this.repo.storeEvents(tx, space, page));
    const ids = page.map((e) => e.messageId);
    await run.options.afterStore?.(space, ids);
    run.result.moved += await this.graph.write((tx) => this.repo.deleteEvents(tx, space, ids));
    run.options.progress?.({ phase: 'events', space, moved: run.result.moved, total: run.result.total });
  }

  /**
   * identity_map and profile_merges for what the graph held before the event store, resumably: a page of
   * identifiers at a time, its cursor saved on the space's `:Migration` marker, then the merges. Each page
   * reads the graph under the space's identity map lock, so a commit that changes a profile after the
   * read re-points these rows when it copies its own effect in.
   */
  private async fillIdentities(run: Run, space: string): Promise<boolean> {
    const id = `${EVENT_MOVE_MIGRATION}:${space}`;
    const state: MigrationState = await this.graph.read((tx) => this.migrations.read(tx, id));
    if (state.done) return true;
    const counts = { identifiers: 0, merges: 0, ...state.counts };
    const save = () => {
      state.counts = { ...counts };
      return this.graph.write((tx) => this.migrations.save(tx, id, state, this.clock()));
    };
    await save();
    let afterKey = state.after?.key ?? '';
    for (;;) {
      if (run.options.stopped?.() === true) return false;
      const { last, inserted } = await this.db.transaction(async (tx) => {
        await this.repo.lockIdentityMap(tx, space);
        const links = await this.graph.read((g) =>
          this.repo.listIdentityLinks(g, space, afterKey, run.batch),
        );
        const mapped = links.flatMap((l) =>
          l.profileId === null ? [] : [{ key: l.key, profileId: l.profileId }],
        );
        return {
          last: links[links.length - 1]?.key,
          inserted: await this.repo.fillIdentityMap(tx, space, mapped),
        };
      });
      if (last === undefined) break;
      afterKey = last;
      counts.identifiers += inserted;
      run.result.identifiers += inserted;
      state.after = { space, key: afterKey };
      await save();
      run.options.progress?.({
        phase: 'identity map',
        space,
        moved: run.result.moved,
        total: run.result.total,
      });
    }
    // Merged profiles are a small part of a space's profiles: read in one pass, not resumed within it.
    let afterId = '';
    for (;;) {
      const { last, inserted } = await this.db.transaction(async (tx) => {
        await this.repo.lockIdentityMap(tx, space);
        const merges = await this.graph.read((g) => this.repo.listMerges(g, space, afterId, run.batch));
        const known = merges.flatMap((m) =>
          m.survivorId === null ? [] : [{ mergedId: m.mergedId, survivorId: m.survivorId, at: m.at }],
        );
        return {
          last: merges[merges.length - 1]?.mergedId,
          inserted: await this.repo.fillMerges(tx, space, known),
        };
      });
      if (last === undefined) break;
      afterId = last;
      counts.merges += inserted;
      run.result.merges += inserted;
    }
    state.done = true;
    await save();
    return true;
  }
}

interface Run {
  options: EventMoveOptions;
  batch: number;
  result: EventMoveResult;
  /** Months whose partitions this run made sure of. */
  months: Set<string>;
}
