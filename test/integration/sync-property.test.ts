// The oracle property of Profiles Sync (SEMANTICS.md §11, docs/adr/0024-profiles-sync.md): a target kept
// incrementally equals its from-scratch recomputation. Random identifies, tracks, pages, screens, groups
// and aliases from a small pool of ids (so profiles merge), with random traits and timestamps, arrive one
// by one, in batches (one commit, several events) and in concurrent bursts (commits sharing the group
// commit), some resent; between them the incremental targets (PostgreSQL and DuckDB, a few change-log rows
// per target transaction) are synced at random points, sometimes while events arrive and values are
// recomputed, and sync stretches are interrupted: an injected failure after the stretch's rows and
// position are written but before the target commits (it rolls back), or after it committed but before
// the event store recorded the position; the sync service is also replaced (a restart), two services
// sync one PostgreSQL target at once, a resync is asked for, an audience is defined midway, a person is
// deleted (docs/adr/0027) and the clock advances (the audience and computed traits of the run age). Once
// everything drains, each incremental target equals, table by table and row for row, a fresh target of
// the same kind synced from the change log's start in one stretch, both stand at the end of both streams,
// and the rows each says it holds are those its tables hold. Seeded and bounded; the computed-traits
// worker runs in this file's own database.
import { DuckDBInstance } from '@duckdb/node-api';
import fc from 'fast-check';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ComputedTraitsService, DEFAULT_COMPUTED_SETTINGS } from '../../src/computed/index.ts';
import { EventStore } from '../../src/events/index.ts';
import type { EventType } from '../../src/ingest/event.ts';
import type { Database } from '../../src/postgres/database.ts';
import {
  PrivacyRepository,
  PrivacyService,
  SUPPRESSION_REFRESH_MS,
  SuppressionList,
} from '../../src/privacy/index.ts';
import { ProfilesService } from '../../src/profiles/index.ts';
import {
  DEFAULT_SYNC_SETTINGS,
  SyncService,
  type SyncHooks,
  type SyncStep,
  type SyncTargetStatus,
} from '../../src/sync/index.ts';
import type { TargetKind } from '../../src/sync/targets.ts';
import { openTestGraph, type TestGraph } from '../support/graph.ts';
import { openPrivateDatabase } from '../support/postgres.ts';
import { newStack } from '../support/stack.ts';
import { HELD_TABLES, openTargetDatabase, tempDuckDbFile, TEST_SYNC_KEY } from '../support/sync.ts';
import { settleComputed } from '../support/computed.ts';

const SEED = 20261130;
const NUM_RUNS = 10;
const KINDS: readonly TargetKind[] = ['postgres', 'duckdb'];

/**
 * Every table a sync writes, and its two positions. Each is compared whole, every column but those of
 * NOT_COMPARED. The materialised tables are compared exactly; the append tables as multisets of rows (the
 * event and value-update tables have ids as primary keys, id_graph_updates and profile_traits_updates have
 * none, so their rows are compared whole); the change-log positions exactly. The values position is
 * compared apart (VALUES_POSITION).
 */
const TABLES = [
  'identifies',
  'tracks',
  'pages',
  'screens',
  'groups',
  'aliases',
  'id_graph_updates',
  'external_id_mapping_updates',
  'profile_traits_updates',
  'profile_merges',
  'user_identifiers',
  'user_traits',
  'audience_membership_updates',
  'computed_trait_updates',
  'audience_memberships',
  'account_audience_memberships',
  'computed_traits',
  'account_computed_traits',
  'account_traits',
  'account_members',
  '_stitchgraph_sync',
  '_stitchgraph_sync_values',
] as const;
/**
 * Columns that legitimately differ: `uuid_ts` and `updated_at` are when the row was written to the target
 * (time of sync, which a recomputation never shares); `target_id` and `generation` name the target and
 * count its resyncs.
 */
const VALUES_POSITION = '_stitchgraph_sync_values';
const NOT_COMPARED = new Set(['uuid_ts', 'updated_at', 'target_id', 'generation']);

/**
 * Definitions whose values the sync carries (computed_value_changes), a windowed one among them; one is
 * defined midway (its backfill arrives in the middle of the stream).
 */
const DEFINITIONS: readonly {
  key: string;
  audience: boolean;
  level: 'USERS' | 'ACCOUNTS';
  text: string;
  later?: boolean;
}[] = [
  { key: 'buyer', audience: true, level: 'USERS', text: "event('Order Completed').count() >= 1" },
  {
    key: 'recent_buyer',
    audience: true,
    level: 'USERS',
    text: "event('Order Completed').within(1 days).count() >= 1",
  },
  { key: 'orders', audience: false, level: 'USERS', text: "event('Order Completed').count()" },
  { key: 'gold', audience: true, level: 'ACCOUNTS', text: "trait('tier') = 'gold'" },
  {
    key: 'signed_up',
    audience: true,
    level: 'USERS',
    text: "event('Signed Up').count() >= 1",
    later: true,
  },
];

type Who = { userId: string } | { anonymousId: string } | { userId: string; anonymousId: string };
type Call = { type: EventType; input: Record<string, unknown> };
type EventSpec =
  | {
      kind: 'identify';
      who: Who;
      plan: string | null;
      visits: number;
      email: number | null;
      ageHours: number;
    }
  | { kind: 'track'; who: Who; event: string; total: number; ageHours: number }
  | { kind: 'page' | 'screen'; who: Who; name: string; ageHours: number }
  | { kind: 'group'; who: Who; account: string; tier: string | null; ageHours: number }
  | { kind: 'alias'; userId: string; previousId: string; ageHours: number };
type Command =
  | { kind: 'send'; event: EventSpec }
  | { kind: 'batch'; events: EventSpec[] }
  | { kind: 'burst'; events: EventSpec[] }
  | { kind: 'resend'; index: number }
  | { kind: 'advance'; hours: number }
  | { kind: 'recompute' }
  | { kind: 'sync'; which: TargetKind | 'both' }
  | { kind: 'crash'; step: SyncStep; target: TargetKind; after: number }
  | { kind: 'sync-while-sending'; events: EventSpec[] }
  | { kind: 'restart' }
  | { kind: 'resync'; target: TargetKind }
  | { kind: 'delete'; person: number }
  | { kind: 'define-later' }
  | { kind: 'race' };

const person = fc.integer({ min: 1, max: 3 });
const visit = fc.integer({ min: 1, max: 2 });
const who: fc.Arbitrary<Who> = fc.oneof(
  { weight: 1, arbitrary: person.map((p) => ({ userId: `u${p}` })) },
  { weight: 2, arbitrary: fc.tuple(person, visit).map(([p, v]) => ({ anonymousId: `a${p}-${v}` })) },
  // Both ids (a merge of the device's anonymous profile): mostly a person's own device, sometimes
  // another's (a conflict on user_id's limit of one).
  {
    weight: 2,
    arbitrary: fc
      .tuple(person, person, visit, fc.boolean())
      .map(([p, q, v, own]) => ({ userId: `u${p}`, anonymousId: `a${own ? p : q}-${v}` })),
  },
);
const age = fc.integer({ min: 0, max: 40 });
const eventSpec: fc.Arbitrary<EventSpec> = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('identify' as const),
      who,
      plan: fc.constantFrom('free', 'pro', null),
      visits: fc.integer({ min: 0, max: 3 }),
      email: fc.option(fc.integer({ min: 1, max: 3 })),
      ageHours: age,
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('track' as const),
      who,
      event: fc.constantFrom('Order Completed', 'Signed Up'),
      total: fc.integer({ min: 0, max: 100 }),
      ageHours: age,
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constantFrom('page' as const, 'screen' as const),
      who,
      name: fc.constantFrom('Docs', 'Pricing'),
      ageHours: age,
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('group' as const),
      who,
      account: fc.constantFrom('g1', 'g2'),
      tier: fc.constantFrom('gold', 'silver', null),
      ageHours: age,
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('alias' as const),
      userId: person.map((p) => `u${p}`),
      previousId: fc.tuple(person, visit).map(([p, v]) => `a${p}-${v}`),
      ageHours: age,
    }),
  },
);
const kind = fc.constantFrom<TargetKind>('postgres', 'duckdb');
const several = fc.array(eventSpec, { minLength: 2, maxLength: 4 });
const command: fc.Arbitrary<Command> = fc.oneof(
  { weight: 8, arbitrary: fc.record({ kind: fc.constant('send' as const), event: eventSpec }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('batch' as const), events: several }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('burst' as const), events: several }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('resend' as const), index: fc.nat() }) },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant('advance' as const), hours: fc.integer({ min: 1, max: 30 }) }),
  },
  { weight: 2, arbitrary: fc.constant({ kind: 'recompute' as const }) },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('sync' as const),
      which: fc.constantFrom<TargetKind | 'both'>('postgres', 'duckdb', 'both'),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('crash' as const),
      step: fc.constantFrom<SyncStep>('written', 'committed'),
      target: kind,
      after: fc.integer({ min: 1, max: 3 }),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('sync-while-sending' as const), events: several }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'restart' as const }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('resync' as const), target: kind }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('delete' as const), person }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'define-later' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'race' as const }) },
);
const scenario = fc.record({
  // Change-log rows per incremental target transaction: stretches end in many places.
  batch: fc.integer({ min: 1, max: 6 }),
  commands: fc.array(command, { minLength: 10, maxLength: 30, size: 'max' }),
});

class InjectedCrash extends Error {}

let t: TestGraph;
let own: { db: Database; drop: () => Promise<void> };
let now = new Date('2026-09-01T00:00:00Z');
const clock = () => new Date(now.getTime());
let computed: ComputedTraitsService;
let profiles: ProfilesService;
let privacy: PrivacyService;

beforeAll(async () => {
  const shared = await openTestGraph();
  own = await openPrivateDatabase();
  t = { ...shared, db: own.db, close: shared.close };
  profiles = new ProfilesService(t.graph, new EventStore(own.db));
  computed = new ComputedTraitsService(
    own.db,
    { ...DEFAULT_COMPUTED_SETTINGS, expirySweepMs: 0, chunk: 5 },
    clock,
    undefined,
    null,
    (space, level, ids) => profiles.customTraits(space, level, ids),
  );
  const privacyRepository = new PrivacyRepository(own.db, t.graph);
  privacy = new PrivacyService(
    own.db,
    t.graph,
    new SuppressionList((space) => privacyRepository.suppressedKeys(space), SUPPRESSION_REFRESH_MS),
  );
});
afterAll(async () => {
  await privacy.stop();
  await computed.stop();
  await own.drop();
  await t.close();
});

/** A target's location, made fresh, and how to remove it after the run. */
async function newLocation(k: TargetKind): Promise<{ location: string; remove: () => Promise<void> }> {
  if (k === 'duckdb') {
    const file = await tempDuckDbFile();
    return { location: file.path, remove: file.remove };
  }
  const db = await openTargetDatabase();
  return { location: db.url, remove: db.drop };
}

async function addTarget(sync: SyncService, space: string, k: TargetKind, location: string) {
  const added = await sync.addTarget(space, { kind: k, location });
  if (!added.ok) throw new Error(added.message);
  return added.target;
}

/** Every table of a target as sorted lines of text, all columns but those of NOT_COMPARED. */
async function snapshot(k: TargetKind, location: string): Promise<Record<string, string[]>> {
  const columnsSql =
    'SELECT column_name FROM information_schema.columns WHERE table_name = $1 ORDER BY ordinal_position';
  const rowsSql = (table: string, columns: string[]) =>
    `SELECT ${columns.map((c) => `CAST("${c}" AS VARCHAR) AS "${c}"`).join(', ')} FROM ${table}`;
  const out: Record<string, string[]> = {};
  const read = async (query: (sql: string, params?: string[]) => Promise<Record<string, unknown>[]>) => {
    for (const table of TABLES) {
      const columns = (await query(columnsSql, [table]))
        .map((r) => String(r.column_name))
        .filter((c) => !NOT_COMPARED.has(c));
      if (columns.length === 0) throw new Error(`${k} target has no table ${table}`);
      out[table] = (await query(rowsSql(table, columns)))
        .map((r) => JSON.stringify(columns.map((c) => r[c] ?? null)))
        .sort();
    }
  };
  if (k === 'duckdb') {
    const instance = await DuckDBInstance.create(location);
    try {
      const connection = await instance.connect();
      try {
        await read(
          async (sql, params) =>
            (await connection.runAndReadAll(sql, params)).getRowObjectsJson() as Record<string, unknown>[],
        );
      } finally {
        connection.closeSync();
      }
    } finally {
      instance.closeSync();
    }
  } else {
    const client = new pg.Client({ connectionString: location, options: '-c TimeZone=UTC' });
    await client.connect();
    try {
      await read(async (sql, params) => (await client.query(sql, params)).rows as Record<string, unknown>[]);
    } finally {
      await client.end();
    }
  }
  return out;
}

/** A generated event as the call a client sends. */
function callOf(e: EventSpec, messageId: string): Call {
  const timestamp = new Date(now.getTime() - e.ageHours * 3_600_000).toISOString();
  switch (e.kind) {
    case 'identify': {
      const traits: Record<string, unknown> = { visits: e.visits };
      if (e.plan !== null) traits.plan = e.plan;
      if (e.email !== null) traits.email = `p${e.email}@example.com`;
      return { type: 'identify', input: { ...e.who, traits, timestamp, messageId } };
    }
    case 'track':
      return {
        type: 'track',
        input: { ...e.who, event: e.event, properties: { total: e.total }, timestamp, messageId },
      };
    case 'page':
    case 'screen':
      return { type: e.kind, input: { ...e.who, name: e.name, properties: {}, timestamp, messageId } };
    case 'group':
      return {
        type: 'group',
        input: {
          ...e.who,
          groupId: e.account,
          ...(e.tier === null ? {} : { traits: { tier: e.tier } }),
          timestamp,
          messageId,
        },
      };
    case 'alias':
      return { type: 'alias', input: { userId: e.userId, previousId: e.previousId, timestamp, messageId } };
  }
}

/** What the runs did, summed: the property must have met merges, interruptions and many stretches. */
const seen = {
  merges: 0,
  crashes: 0,
  stretches: 0,
  valueRows: 0,
  resyncs: 0,
  concurrent: 0,
  deletions: 0,
  races: 0,
};

describe('Profiles Sync: incremental targets equal a from-scratch sync', () => {
  it('after random events, arrival orders, merges, interrupted stretches, restarts and clock advances', async () => {
    let run = 0;
    await fc.assert(
      fc.asyncProperty(scenario, async ({ batch, commands }) => {
        run += 1;
        now = new Date(Date.UTC(2026, 8, 1 + run));
        const s = await newStack(t, { clock });
        const define = async (d: (typeof DEFINITIONS)[number]) => {
          const created = d.audience
            ? await computed.createAudience(s.space, {
                key: d.key,
                definition: d.text,
                level: d.level,
                includeAnonymous: true,
                description: null,
              })
            : await computed.create(s.space, {
                key: d.key,
                definition: d.text,
                level: d.level,
                description: null,
              });
          expect(created.ok, d.key).toBe(true);
        };
        for (const d of DEFINITIONS) if (d.later !== true) await define(d);
        let definedLater = false;
        let deleted = false;
        const cleanups: (() => Promise<void>)[] = [];
        try {
          // The injected failure armed for the next sync call: the `after`-th step of its kind throws.
          let armed: { step: SyncStep; target: TargetKind; after: number } | null = null;
          const hooks: SyncHooks = {
            onStep: (step, k) => {
              if (step === 'committed') seen.stretches += 1;
              if (armed === null || armed.step !== step || armed.target !== k) return;
              armed.after -= 1;
              if (armed.after > 0) return;
              armed = null;
              seen.crashes += 1;
              throw new InjectedCrash(`injected crash at ${step} on ${k}`);
            },
          };
          const settings = { ...DEFAULT_SYNC_SETTINGS, batch };
          let sync = new SyncService(own.db, s.events, settings, TEST_SYNC_KEY, hooks);
          const incremental = new Map<TargetKind, { status: SyncTargetStatus; location: string }>();
          for (const k of KINDS) {
            const { location, remove } = await newLocation(k);
            cleanups.push(remove);
            incremental.set(k, { status: await addTarget(sync, s.space, k, location), location });
          }
          const idOf = (k: TargetKind) => incremental.get(k)?.status.id ?? '';
          /** Syncs a target; an injected crash is the only failure expected (the next call resumes). */
          const syncOne = async (k: TargetKind) => {
            try {
              await sync.syncTarget(idOf(k));
            } catch (error) {
              if (!(error instanceof InjectedCrash)) throw error;
            }
          };

          const sent: Call[] = [];
          let n = 0;
          const call = (e: EventSpec) => {
            const c = callOf(e, `m${(n += 1)}`);
            sent.push(c);
            return c;
          };
          const accepted = async (c: Call) => expect((await s.send(c.type, c.input)).ok).toBe(true);
          for (const c of commands) {
            switch (c.kind) {
              case 'send':
                await accepted(call(c.event));
                break;
              case 'batch': {
                const calls = c.events.map(call);
                const result = await s.ingest.batch(s.space, {
                  batch: calls.map((x) => ({ type: x.type, ...x.input })),
                });
                expect(result.refused, JSON.stringify(result)).toBe(0);
                break;
              }
              case 'burst':
                await Promise.all(c.events.map(call).map(accepted));
                break;
              case 'resend': {
                const earlier = sent[c.index % Math.max(1, sent.length)];
                if (earlier !== undefined) await accepted(earlier);
                break;
              }
              case 'advance':
                now = new Date(now.getTime() + c.hours * 3_600_000);
                break;
              case 'recompute':
                await computed.catchUp();
                break;
              case 'sync':
                for (const k of c.which === 'both' ? KINDS : [c.which]) await syncOne(k);
                break;
              case 'crash':
                armed = { step: c.step, target: c.target, after: c.after };
                await syncOne(c.target);
                // A stretch short of the armed step leaves nothing armed for later calls.
                armed = null;
                break;
              case 'sync-while-sending': {
                seen.concurrent += 1;
                const calls = c.events.map(call);
                await Promise.all([...KINDS.map(syncOne), ...calls.map(accepted), computed.catchUp()]);
                break;
              }
              case 'restart':
                sync = new SyncService(own.db, s.events, settings, TEST_SYNC_KEY, hooks);
                break;
              case 'resync':
                seen.resyncs += 1;
                expect(await sync.requestResync(idOf(c.target))).toBe(true);
                break;
              case 'define-later':
                if (!definedLater) {
                  definedLater = true;
                  for (const d of DEFINITIONS) if (d.later === true) await define(d);
                }
                break;
              case 'race': {
                // Two processes syncing one PostgreSQL target take turns on its lock (docs/adr/0024).
                seen.races += 1;
                const other = new SyncService(own.db, s.events, settings, TEST_SYNC_KEY, hooks);
                await Promise.all([sync.syncTarget(idOf('postgres')), other.syncTarget(idOf('postgres'))]);
                break;
              }
              case 'delete': {
                // A deletion request (docs/adr/0027): the person's events and values leave the event
                // store, and the change log tells each target to forget every row of the profile.
                const asked = await privacy.request(s.space, 'DELETE_ONLY', {
                  type: 'user_id',
                  value: `u${c.person}`,
                });
                expect(asked.ok).toBe(true);
                await privacy.idle();
                seen.deletions += 1;
                deleted = true;
                break;
              }
            }
          }

          // Everything drains: the computed values, then each incremental target (no failure armed).
          await settleComputed(computed, s.space);
          for (const k of KINDS) await sync.catchUp(idOf(k));

          // The recomputation: a fresh target of each kind, synced from the change log's start in one
          // stretch by a service of its own.
          const scratch = new SyncService(own.db, s.events, { ...settings, batch: 100_000 }, TEST_SYNC_KEY);
          for (const k of KINDS) {
            const fresh = await newLocation(k);
            cleanups.push(fresh.remove);
            const status = await addTarget(scratch, s.space, k, fresh.location);
            expect((await scratch.catchUp(status.id)).changes, k).toBeGreaterThan(0);
            const target = incremental.get(k);
            if (target === undefined) throw new Error(`no ${k} target`);
            const got = await snapshot(k, target.location);
            const want = await snapshot(k, fresh.location);
            for (const table of TABLES)
              if (table !== VALUES_POSITION)
                expect(got[table], `${k} ${table} in ${s.space}`).toEqual(want[table]);
            // A deletion removes the person's value changes from computed_value_changes
            // (sql/privacy/delete-person.sql), so a target that read them before keeps a values position
            // past the last change that remains, where the fresh one stops: the position kept is never
            // behind the fresh one's, and is one when the fresh one has none (every value change deleted)
            // (docs/adr/0024, "Audiences and computed traits").
            const position = (lines: string[] | undefined) =>
              (lines ?? []).map((line) => (JSON.parse(line) as string[]).map(BigInt));
            const [keptAt, freshAt] = [position(got[VALUES_POSITION]), position(want[VALUES_POSITION])];
            if (!deleted) expect(keptAt, `${k} values position`).toEqual(freshAt);
            const [keptTxid = 0n, keptId = 0n] = keptAt[0] ?? [];
            const [freshTxid = 0n, freshId = 0n] = freshAt[0] ?? [];
            expect(
              keptTxid > freshTxid || (keptTxid === freshTxid && keptId >= freshId),
              `${k} values position ${keptAt[0]?.join()} is behind ${freshAt[0]?.join()}`,
            ).toBe(true);
            // Each event the event store holds is in its target table once.
            for (const table of ['identifies', 'tracks', 'pages', 'screens', 'groups', 'aliases'] as const) {
              const { rows } = await own.db.pool.query<{ id: string }>(
                `SELECT id FROM ${table} WHERE space = $1`,
                [s.space],
              );
              expect(
                (got[table] ?? []).map((line) => (JSON.parse(line) as unknown[])[0]).sort(),
                `${k} ${table} ids`,
              ).toEqual(rows.map((r) => r.id).sort());
            }
            // The position's copy and the rows counted agree with the recomputation's.
            const [kept, scratchStatus] = [
              await sync.target(target.status.id),
              await scratch.target(status.id),
            ];
            expect(kept, k).toMatchObject({ lastError: null, resyncPending: false, lag: { changes: 0 } });
            expect(kept?.rowsWritten, k).toBe(scratchStatus?.rowsWritten);
            // Which are the rows its event and update tables hold.
            expect(kept?.rowsWritten, k).toBe(
              HELD_TABLES.reduce((sum, table) => sum + (got[table] ?? []).length, 0),
            );
            if (k === 'postgres') {
              seen.merges += (want.profile_merges ?? []).filter((line) => {
                const [segment, canonical] = JSON.parse(line) as unknown[];
                return segment !== canonical;
              }).length;
              seen.valueRows +=
                (want.audience_membership_updates ?? []).length + (want.computed_trait_updates ?? []).length;
            }
            await scratch.removeTarget(status.id);
          }
          for (const k of KINDS) await sync.removeTarget(idOf(k));
        } finally {
          for (const cleanup of cleanups.reverse()) await cleanup();
        }
      }),
      { seed: SEED, numRuns: NUM_RUNS, endOnFailure: true },
    );
    // The runs met what the property is about.
    expect(seen.merges).toBeGreaterThan(0);
    expect(seen.crashes).toBeGreaterThan(0);
    expect(seen.stretches).toBeGreaterThan(NUM_RUNS * 4);
    expect(seen.valueRows).toBeGreaterThan(0);
    expect(seen.resyncs).toBeGreaterThan(0);
    expect(seen.concurrent).toBeGreaterThan(0);
    expect(seen.deletions).toBeGreaterThan(0);
    expect(seen.races).toBeGreaterThan(0);
  }, 600_000);
});
