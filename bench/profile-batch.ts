// `npx tsx bench/profile-batch.ts`: where a W1 batch's time goes. Starts its own Neo4j (.neo4j/profile),
// seeds the quick history, applies WARM (300) batches of BATCH (15) events sequentially, then lets WRITERS
// (8) clients apply batches for SECONDS (10), straight to the identity service or, with QUEUE=1, through
// group commit (INGEST_WRITERS). With PROFILE=1 it then runs three batches with every statement under
// PROFILE and prints each statement's wall and server time and its busiest operators. A developer's tool
// for issue #6 (docs/adr/0012-group-commit.md): it prints, it asserts nothing.
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createDriver, Graph, migrate, QueryRegistry } from '../src/graph/index.ts';
import { IdentityService } from '../src/identity/index.ts';
import { validateBatch } from '../src/ingest/event.ts';
import { IngestService } from '../src/ingest/index.ts';
import { startLocalNeo4j } from '../tools/neo4j/launcher.ts';
import { Population, toSegment } from './events.ts';
import { Seeder } from './seed.ts';
import { MODES, PROBE_USERS, SEED, BATCH_EVENTS } from './settings.ts';
import { IngestStream } from './workloads/ingest.ts';
import type { RunContext } from './settings.ts';
import type { Driver } from 'neo4j-driver';
import type { Tx } from '../src/graph/index.ts';

/** A Graph whose write transactions run every statement under PROFILE and print the busiest operators. */
class ProfilingGraph extends Graph {
  constructor(
    driver: Driver,
    private readonly registry: QueryRegistry,
  ) {
    super(driver, registry, { database: 'neo4j' });
  }

  override async write<T>(work: (tx: Tx) => Promise<T>): Promise<T> {
    const session = this.driver.session({ database: 'neo4j' });
    try {
      return await session.executeWrite((tx) =>
        work({
          run: async (name, params = {}) => {
            const q0 = performance.now();
            const result = await tx.run(`PROFILE ${this.registry.get(name)}`, params);
            const wall = performance.now() - q0;
            const ops: { op: string; hits: number; rows: number }[] = [];
            const walk = (p: typeof result.summary.profile) => {
              if (p === false) return;
              const details = String((p.arguments as Record<string, unknown>).Details ?? '');
              ops.push({
                op: `${p.operatorType} ${details.replace(/\s+/g, ' ').slice(0, 100)}`,
                hits: p.dbHits,
                rows: p.rows,
              });
              for (const c of p.children) walk(c);
            };
            walk(result.summary.profile);
            const total = ops.reduce((a, o) => a + o.hits, 0);
            const sum = result.summary;
            log(
              `  ${name}: ${wall.toFixed(1)} ms (server: first row ${String(sum.resultAvailableAfter)} ms, consumed ${String(sum.resultConsumedAfter)} ms), ${total} db hits`,
            );
            for (const o of ops.sort((a, b) => b.hits - a.hits).slice(0, 5))
              log(`    ${String(o.hits).padStart(7)} hits ${String(o.rows).padStart(6)} rows  ${o.op}`);
            return result.records.map((r) => r.toObject() as Record<string, unknown>);
          },
        }),
      );
    } finally {
      await session.close();
    }
  }
}

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const settings = MODES.quick;
const log = (m: string) => process.stderr.write(`${m}\n`);

const home = join(ROOT, '.neo4j', 'profile');
await rm(home, { recursive: true, force: true });
const neo = await startLocalNeo4j({
  home,
  boltPort: 0,
  httpPort: 0,
  heap: settings.heap,
  pageCache: settings.pageCache,
  timeoutMs: 180_000,
  log,
});
const driver = createDriver(neo);
try {
  const queries = await QueryRegistry.load();
  const graph = new Graph(driver, queries, { database: 'neo4j' });
  await migrate(graph);
  const space = `prof${Date.now().toString(36)}`;
  const identity = new IdentityService(graph);
  await identity.ensureSpace(space);
  const users = new Population('c', settings.profiles);
  const seeder = new Seeder(driver, await QueryRegistry.load(join(ROOT, 'bench', 'cypher')));
  await seeder.seed({
    space,
    pop: users,
    kind: 'user',
    from: 0,
    count: settings.profiles,
    events: { total: settings.events },
    start: new Date(Date.UTC(2025, 5, 1)),
    spanMs: 180 * 86_400_000,
    seed: SEED,
  });
  await seeder.finish(space);
  // IngestStream reads only these two fields of a run's context.
  const ctx = { users, loadUsers: settings.profiles - PROBE_USERS } as unknown as RunContext;
  const size = Number(process.env.BATCH ?? BATCH_EVENTS);
  const stream = new IngestStream(ctx, 'prof', SEED + 9);
  const batch = () => {
    const v = validateBatch({ batch: stream.batch(size).map((p) => toSegment(p.event)) }, new Date(), () =>
      crypto.randomUUID(),
    );
    if (!v.ok) throw new Error(v.error.message);
    return v.items.flatMap((i) => (i.ok ? [i.event] : []));
  };
  const warm = Number(process.env.WARM ?? 300);
  const t0 = performance.now();
  for (let i = 0; i < warm; i++) await identity.applyBatch(space, batch(), crypto.randomUUID());
  const ms = performance.now() - t0;
  log(
    `warm-up: ${warm} batches sequentially, ${(ms / warm).toFixed(1)} ms per batch, ${((warm * size * 1000) / ms).toFixed(0)} events/s`,
  );

  const writers = Number(process.env.WRITERS ?? 8);
  const queued = process.env.QUEUE === '1';
  // Through group commit (IngestService, INGEST_WRITERS transactions at a time) or straight to identity;
  // either way only the graph's side of the two-store commit (docs/adr/0018-event-store.md) is profiled.
  const ingest = new IngestService(
    async (s, events) => (await identity.applyBatch(s, events, crypto.randomUUID())).results,
    process.env.INGEST_WRITERS === undefined ? {} : { writers: Number(process.env.INGEST_WRITERS) },
  );
  const until = performance.now() + Number(process.env.SECONDS ?? 10) * 1000;
  let done = 0;
  const c0 = performance.now();
  await Promise.all(
    Array.from({ length: writers }, async () => {
      while (performance.now() < until) {
        if (queued) {
          const out = await ingest.batch(space, {
            batch: stream.batch(size).map((p) => toSegment(p.event)),
          });
          if (out.error !== null || out.refused > 0)
            throw new Error(JSON.stringify(out.error ?? out.results.find((r) => !r.ok)));
        } else await identity.applyBatch(space, batch(), crypto.randomUUID());
        done++;
      }
    }),
  );
  const cms = performance.now() - c0;
  log(
    `concurrent: ${writers} clients${queued ? ' through group commit' : ''}, ${done} batches, ${((done * size * 1000) / cms).toFixed(0)} events/s, ${graph.deadlocks} deadlock retries`,
  );
  if (process.env.PROFILE === '1') {
    // The same statements under PROFILE.
    const profiled = new IdentityService(new ProfilingGraph(driver, queries));
    for (let round = 0; round < 3; round++) {
      log(`profiled batch ${round + 1}`);
      await profiled.applyBatch(space, batch(), crypto.randomUUID());
    }
  }
} finally {
  await driver.close();
  await neo.stop();
}
