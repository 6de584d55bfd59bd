// What a benchmark run stands on: its own Neo4j (a fresh home under .neo4j/, free ports, deleted after)
// and its own PostgreSQL (a fresh folder under .postgres/, a free port, deleted after), the API in a child
// process, a raw driver and a bare pg pool for seeding and baselines, and the Cypher and SQL they run.
import { fork, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import neo4j, { type Driver } from 'neo4j-driver';
import pg from 'pg';
import { EVENT_QUERIES } from '../src/events/index.ts';
import { createDriver, QueryRegistry } from '../src/graph/index.ts';
import { SQL_DIR } from '../src/postgres/migrations.ts';
import { NOT_EVENT_STORE_SQL } from '../src/service.ts';
import { freePort } from '../test/support/ports.ts';
import { startLocalNeo4j, type LocalNeo4j } from '../tools/neo4j/launcher.ts';
import { postgresStatus, startLocalPostgres, type LocalPostgres } from '../tools/postgres/launcher.ts';

export type BenchQueries = Pick<QueryRegistry, 'get'>;

/**
 * The database the API uses (NEO4J_DATABASE's default). Sessions name it, as the API's do: a session
 * without one first asks the server for the user's home database, a round trip the API never makes.
 */
export const BENCH_DATABASE = 'neo4j';

export type ApiRequest =
  | { type: 'start'; seq: number; uri: string; password: string; databaseUrl: string }
  | { type: 'space'; seq: number; id: string; anonymousLimit?: number }
  | { type: 'sample'; seq: number }
  | { type: 'sync-target'; seq: number; space: string; kind: 'duckdb' | 'postgres'; location: string }
  | { type: 'stop'; seq: number };

export type ApiReply =
  | { type: 'ready'; seq: number; url: string; pid: number }
  | { type: 'space'; seq: number; writeKey: string; token: string; adminToken: string }
  | { type: 'sync-target'; seq: number; id: string }
  | {
      type: 'sample';
      seq: number;
      windowPeakRssMiB: number;
      peakRssMiB: number;
      cpuMs: number;
      deadlocks: number;
      /** services.commit.stats(): events stored since start, and how many took the fast path. */
      commit: { events: number; fastPath: number };
      /** Service.queryTimes(): statements and ms per named query since start, by store. */
      queries: Record<'neo4j' | 'postgres', Record<string, { count: number; ms: number }>>;
    }
  | { type: 'stopped'; seq: number; peakRssMiB: number; vmHwmMiB: number | null }
  | { type: 'error'; seq: number; message: string };

export interface SpaceKeys {
  space: string;
  writeKey: string;
  /** A read token (the workloads' reads). */
  token: string;
  /** A token with the admin scope (W7 defines computed traits with it). */
  adminToken: string;
}

const BENCH_DIR = fileURLToPath(new URL('./', import.meta.url));
const REPO_ROOT = fileURLToPath(new URL('../', import.meta.url));

/** The API under test, running bench/api-process.ts. */
export class ApiProcess {
  private seq = 0;
  private readonly pending = new Map<
    number,
    { resolve: (r: ApiReply) => void; reject: (e: Error) => void }
  >();
  private exited: string | undefined;
  url = '';

  private constructor(private readonly child: ChildProcess) {
    child.on('message', (m: ApiReply) => this.settle(m));
    child.on('exit', (code, signal) => {
      this.exited = `the API process exited (${signal ?? code})`;
      for (const p of this.pending.values()) p.reject(new Error(this.exited));
      this.pending.clear();
    });
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  static async start(neo: LocalNeo4j, databaseUrl: string): Promise<ApiProcess> {
    const api = new ApiProcess(
      fork(join(BENCH_DIR, 'api-process.ts'), [], {
        cwd: REPO_ROOT,
        execArgv: [
          '--import',
          'tsx',
          ...(process.env.BENCH_API_CPU_PROF
            ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_API_CPU_PROF}`]
            : []),
        ],
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      }),
    );
    try {
      const ready = await api.ask({ type: 'start', uri: neo.uri, password: neo.password, databaseUrl });
      if (ready.type !== 'ready') throw new Error('unexpected answer from the API process');
      api.url = ready.url;
      return api;
    } catch (error) {
      api.kill();
      throw error;
    }
  }

  async createSpace(id: string, options: { anonymousLimit?: number } = {}): Promise<SpaceKeys> {
    const answer = await this.ask({ type: 'space', id, ...options });
    if (answer.type !== 'space') throw new Error('unexpected answer from the API process');
    return { space: id, writeKey: answer.writeKey, token: answer.token, adminToken: answer.adminToken };
  }

  /** Adds a Profiles Sync target to a space (as `stitchgraph sync add` does); its id. */
  async addSyncTarget(space: string, kind: 'duckdb' | 'postgres', location: string): Promise<string> {
    const answer = await this.ask({ type: 'sync-target', space, kind, location });
    if (answer.type !== 'sync-target') throw new Error('unexpected answer from the API process');
    return answer.id;
  }

  /**
   * Peak RSS since the previous call and over the whole run (sampled every 100 ms in the API process),
   * the CPU time it has used so far, its write transactions retried after a deadlock so far, and the
   * two-store commit's counts so far.
   */
  async sample(): Promise<ApiSample> {
    const answer = await this.ask({ type: 'sample' });
    if (answer.type !== 'sample') throw new Error('unexpected answer from the API process');
    return answer;
  }

  async stop(): Promise<{ peakRssMiB: number; vmHwmMiB: number | null }> {
    if (this.exited !== undefined) return { peakRssMiB: 0, vmHwmMiB: null };
    const exit = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    const answer = await this.ask({ type: 'stop' });
    await Promise.race([exit, sleep(10_000)]);
    if (this.child.exitCode === null) this.child.kill('SIGKILL');
    if (answer.type !== 'stopped') throw new Error('unexpected answer from the API process');
    return answer;
  }

  kill(): void {
    if (this.exited === undefined && this.child.exitCode === null) this.child.kill('SIGTERM');
  }

  private ask(request: DistributiveOmit<ApiRequest, 'seq'>): Promise<ApiReply> {
    if (this.exited !== undefined) return Promise.reject(new Error(this.exited));
    const seq = ++this.seq;
    return new Promise((resolve, reject) => {
      this.pending.set(seq, { resolve, reject });
      this.child.send({ ...request, seq });
    });
  }

  private settle(reply: ApiReply): void {
    const waiter = this.pending.get(reply.seq);
    if (waiter === undefined) return;
    this.pending.delete(reply.seq);
    if (reply.type === 'error') waiter.reject(new Error(`API process: ${reply.message}`));
    else waiter.resolve(reply);
  }
}

type DistributiveOmit<T, K extends keyof T> = T extends unknown ? Omit<T, K> : never;

export type ApiSample = Omit<Extract<ApiReply, { type: 'sample' }>, 'type' | 'seq'>;

/** The run's PostgreSQL: its own server and `bench` database, and a bare pool on it. */
export interface BenchPostgres {
  local: LocalPostgres;
  dir: string;
  /** The `bench` database, the API's DATABASE_URL. */
  url: string;
  /** A bare node-postgres pool for seeding and baselines (no retries, no engine code). */
  pool: pg.Pool;
  /** The project's sql/ (what the API runs) and bench/sql/ (seeding, baselines) by name. */
  project: BenchQueries;
  bench: BenchQueries;
}

export interface Stack {
  neo4j: LocalNeo4j;
  home: string;
  postgres: BenchPostgres;
  api: ApiProcess;
  /** A raw driver for seeding and baselines, configured as the service's own (src/graph/driver.ts). */
  driver: Driver;
  /** bench/cypher/ (seeding, baselines) and the project's cypher/ (what the API runs) by name. */
  bench: BenchQueries;
  project: BenchQueries;
  /** CPU time used so far by the API, Neo4j, PostgreSQL (all its processes) and this process, with the API's sample. */
  sample(): Promise<StackSample>;
  /**
   * Neo4j's store files in bytes with every change written to them: stops the API and Neo4j (a clean
   * shutdown checkpoints; Community has no db.checkpoint()), measures, and starts both again on fresh ports
   * (`neo4j`, `driver` and `api` are replaced). Only between workloads: the page cache starts cold again.
   */
  graphStoreAtRest(): Promise<number>;
  stop(): Promise<{ apiPeakRssMiB: number; apiPeakRssSource: string }>;
}

export interface StackSample {
  apiSample: ApiSample;
  /** CPU milliseconds so far; null where /proc cannot tell. */
  cpuMs: { api: number; neo4j: number | null; postgres: number | null; loadGenerator: number };
}

export interface StackOptions {
  heap: string;
  pageCache: string;
  /** shared_buffers of the benchmark's PostgreSQL. */
  sharedBuffers: string;
  log: (msg: string) => void;
}

/** Connections of the bare pool: the closed loops' clients, plus the seeder's writers. */
const BENCH_POOL_SIZE = 10;
const BENCH_PG_DATABASE = 'bench';

export async function startStack(options: StackOptions): Promise<Stack> {
  const home = join(REPO_ROOT, '.neo4j', `bench-${process.pid}`);
  const pgDir = join(REPO_ROOT, '.postgres', `bench-${process.pid}`);
  await Promise.all([
    rm(home, { recursive: true, force: true }),
    rm(pgDir, { recursive: true, force: true }),
  ]);
  let local: LocalNeo4j | undefined;
  let localPg: LocalPostgres | undefined;
  let pool: pg.Pool | undefined;
  let api: ApiProcess | undefined;
  let driver: Driver | undefined;
  const teardown = async (): Promise<{ apiPeakRssMiB: number; apiPeakRssSource: string }> => {
    let rss = { apiPeakRssMiB: 0, apiPeakRssSource: 'none' };
    try {
      const stopped = await api?.stop();
      if (stopped !== undefined) {
        rss =
          stopped.vmHwmMiB !== null
            ? { apiPeakRssMiB: Math.max(stopped.vmHwmMiB, stopped.peakRssMiB), apiPeakRssSource: 'VmHWM' }
            : { apiPeakRssMiB: stopped.peakRssMiB, apiPeakRssSource: 'sampled rss (100 ms)' };
      }
    } catch (error) {
      options.log(`stopping the API failed: ${String(error)}`);
      api?.kill();
    }
    await driver?.close().catch(() => {});
    await pool?.end().catch(() => {});
    await Promise.all([
      local?.stop().catch((error: unknown) => options.log(`stopping Neo4j failed: ${String(error)}`)),
      localPg?.stop().catch((error: unknown) => options.log(`stopping PostgreSQL failed: ${String(error)}`)),
    ]);
    await Promise.all([
      rm(home, { recursive: true, force: true }),
      rm(pgDir, { recursive: true, force: true }),
    ]);
    return rss;
  };
  const startNeo4j = () =>
    startLocalNeo4j({
      home,
      boltPort: 0,
      httpPort: 0,
      heap: options.heap,
      pageCache: options.pageCache,
      timeoutMs: 180_000,
      log: options.log,
    });
  try {
    // Started side by side; a failure of either is thrown once both have settled, so teardown sees both.
    const [neo, postgres] = await Promise.allSettled([
      startNeo4j(),
      freePort().then((port) =>
        startLocalPostgres({
          dir: pgDir,
          port,
          persistent: false,
          sharedBuffers: options.sharedBuffers,
          log: (msg) => options.log(`[postgres] ${msg}`),
        }),
      ),
    ]);
    if (neo.status === 'fulfilled') local = neo.value;
    if (postgres.status === 'fulfilled') localPg = postgres.value;
    if (neo.status === 'rejected') throw neo.reason;
    if (postgres.status === 'rejected') throw postgres.reason;
    const pgServer = postgres.value;
    const url = await createDatabase(pgServer.url, BENCH_PG_DATABASE);
    pool = new pg.Pool({ connectionString: url, max: BENCH_POOL_SIZE });
    // An idle client whose connection drops would otherwise crash the run; the next query reports it.
    pool.on('error', () => {});
    driver = createDriver(neo.value);
    // The API applies both stores' migrations at start-up, so the tables exist once it is ready.
    api = await ApiProcess.start(neo.value, url);
    const [bench, project, sqlProject, sqlBench] = await Promise.all([
      QueryRegistry.load(join(BENCH_DIR, 'cypher')),
      QueryRegistry.load(),
      QueryRegistry.load(SQL_DIR, EVENT_QUERIES, { extension: '.sql', skip: NOT_EVENT_STORE_SQL }),
      QueryRegistry.load(join(BENCH_DIR, 'sql'), undefined, { extension: '.sql' }),
    ]);
    const postmaster = (await postgresStatus(pgDir)).pid ?? null;
    const stack: Stack = {
      neo4j: neo.value,
      home,
      postgres: { local: pgServer, dir: pgDir, url, pool, project: sqlProject, bench: sqlBench },
      api,
      driver,
      bench,
      project,
      sample: async () => {
        const apiSample = await stack.api.sample();
        const self = process.cpuUsage();
        return {
          apiSample,
          cpuMs: {
            api: apiSample.cpuMs,
            neo4j: processCpuMs(stack.neo4j.pid),
            postgres: postmaster === null ? null : processTreeCpuMs(postmaster),
            loadGenerator: (self.user + self.system) / 1000,
          },
        };
      },
      graphStoreAtRest: async () => {
        await api?.stop();
        api = undefined;
        await driver?.close();
        driver = undefined;
        await local?.stop();
        local = undefined;
        const bytes = await graphStoreBytes(home);
        local = await startNeo4j();
        driver = createDriver(local);
        api = await ApiProcess.start(local, url);
        Object.assign(stack, { neo4j: local, driver, api });
        return bytes;
      },
      stop: teardown,
    };
    return stack;
  } catch (error) {
    await teardown();
    throw error;
  }
}

/** Creates database `name` on the server of `serverUrl`; returns its URL. */
async function createDatabase(serverUrl: string, name: string): Promise<string> {
  const client = new pg.Client({ connectionString: serverUrl });
  await client.connect();
  try {
    await client.query(`CREATE DATABASE ${client.escapeIdentifier(name)}`);
  } finally {
    await client.end();
  }
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

/** Runs `work` in one transaction on a client of the bare pool: committed, or rolled back on an error. */
export async function sqlTransaction<T>(
  pool: pg.Pool,
  work: (client: pg.PoolClient) => Promise<T>,
): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const result = await work(client);
    await client.query('COMMIT');
    return result;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => {});
    throw error;
  } finally {
    client.release();
  }
}

/**
 * The event store's size on disk per stored event: each table of bench/sql/report/event-store-size.sql in
 * bytes, their sum, and the events stored (dedupe claims).
 */
export async function eventStoreSize(postgres: Pick<BenchPostgres, 'pool' | 'bench'>) {
  const sizes = await postgres.pool.query<{ relation: string; bytes: number }>(
    postgres.bench.get('report/event-store-size'),
  );
  const counted = await postgres.pool.query<{ events: number }>(postgres.bench.get('report/count-events'));
  const events = Number(counted.rows[0]?.events ?? 0);
  const bytes = sizes.rows.reduce((sum, r) => sum + Number(r.bytes), 0);
  return {
    events,
    bytes,
    bytesPerEvent: events === 0 ? Number.NaN : bytes / events,
    bytesPerEventByTable: Object.fromEntries(
      sizes.rows.map((r) => [r.relation, events === 0 ? Number.NaN : Number(r.bytes) / events]),
    ),
  };
}

/**
 * The graph's store files on disk in bytes. Pages the page cache has not flushed yet are not in them: only
 * after a checkpoint (Stack.graphStoreAtRest) does this hold every change.
 */
export async function graphStoreBytes(home: string): Promise<number> {
  return (await folderMiB(join(home, 'data', 'databases', BENCH_DATABASE))) * 1024 * 1024;
}

/** The server's shared_buffers as it reports it (`4GB`), or `unknown`. */
export async function postgresSharedBuffers(pool: pg.Pool): Promise<string> {
  return pool
    .query<{ shared_buffers: string }>('SHOW shared_buffers')
    .then((r) => r.rows[0]?.shared_buffers ?? 'unknown')
    .catch(() => 'unknown');
}

/** The server's version (`SHOW server_version`). */
export async function postgresVersion(pool: pg.Pool): Promise<string> {
  return pool
    .query<{ server_version: string }>('SHOW server_version')
    .then((r) => r.rows[0]?.server_version ?? 'unknown')
    .catch(() => 'unknown');
}

/** Neo4j's JVM heap in use now (JMX, which Community 5 serves through dbms.queryJmx). */
export async function neo4jHeapUsedMiB(driver: Driver): Promise<number | null> {
  try {
    const { records } = await driver.executeQuery(
      "CALL dbms.queryJmx('java.lang:type=Memory') YIELD attributes RETURN attributes.HeapMemoryUsage.value.properties.used AS used",
    );
    const used = records[0]?.get('used') as unknown;
    return typeof used === 'number'
      ? used / (1024 * 1024)
      : neo4j.isInt(used)
        ? used.toNumber() / (1024 * 1024)
        : null;
  } catch {
    return null;
  }
}

/** The configured page cache and the server version. */
export async function neo4jFacts(driver: Driver): Promise<{ version: string; pageCache: string | null }> {
  const version = await driver
    .executeQuery('CALL dbms.components() YIELD versions RETURN versions[0] AS v')
    .then((r) => String(r.records[0]?.get('v') ?? 'unknown'))
    .catch(() => 'unknown');
  const pageCache = await driver
    .executeQuery("SHOW SETTINGS YIELD name, value WHERE name = 'server.memory.pagecache.size' RETURN value")
    .then((r) => String(r.records[0]?.get('value') ?? ''))
    .catch(() => null);
  return { version, pageCache: pageCache === '' ? null : pageCache };
}

/** Peak resident set of a process by pid, from the kernel (Linux); null elsewhere. */
export function processPeakRssMiB(pid: number): number | null {
  try {
    const kb = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return kb === undefined ? null : Number(kb) / 1024;
  } catch {
    return null;
  }
}

/**
 * CPU time (user + system) a process has used so far, from /proc/<pid>/stat (Linux, at the usual 100
 * clock ticks per second); null elsewhere.
 */
export function processCpuMs(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name, which is in parentheses and may contain spaces.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return null;
  }
}

/**
 * CPU time of a process and all its children (PostgreSQL's postmaster and its backends), including
 * children that have exited and been waited for; null where /proc cannot tell.
 */
export function processTreeCpuMs(pid: number): number | null {
  const fields = (p: number | string): string[] | null => {
    try {
      const stat = readFileSync(`/proc/${p}/stat`, 'utf8');
      return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    } catch {
      return null;
    }
  };
  const own = fields(pid);
  if (own === null) return null;
  // utime, stime, and the waited-for children's cutime, cstime (clock ticks of 10 ms).
  let ticks = Number(own[11]) + Number(own[12]) + Number(own[13]) + Number(own[14]);
  let entries: string[];
  try {
    entries = readdirSync('/proc').filter((e) => /^\d+$/.test(e));
  } catch {
    return null;
  }
  for (const entry of entries) {
    const f = fields(entry);
    if (f !== null && Number(f[1]) === pid) ticks += Number(f[11]) + Number(f[12]);
  }
  return ticks * 10;
}

/** Bytes under a folder (the database's store files), in MiB. */
export async function folderMiB(path: string): Promise<number> {
  let bytes = 0;
  const walk = async (dir: string): Promise<void> => {
    for (const entry of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
      const full = join(dir, entry.name);
      if (entry.isDirectory()) await walk(full);
      else if (entry.isFile()) bytes += (await stat(full)).size;
    }
  };
  await walk(path);
  return bytes / (1024 * 1024);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
