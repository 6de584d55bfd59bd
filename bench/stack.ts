// What a benchmark run stands on: its own Neo4j (a fresh home under .neo4j/, free ports, deleted after),
// the API in a child process, a raw driver for seeding and baselines, and the Cypher both of them run.
import { fork, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import neo4j, { type Driver } from 'neo4j-driver';
import { createDriver, QueryRegistry } from '../src/graph/index.ts';
import { startLocalNeo4j, type LocalNeo4j } from '../tools/neo4j/launcher.ts';

export type BenchQueries = Pick<QueryRegistry, 'get'>;

export type ApiRequest =
  | { type: 'start'; seq: number; uri: string; password: string }
  | { type: 'space'; seq: number; id: string; anonymousLimit?: number }
  | { type: 'memory'; seq: number }
  | { type: 'stop'; seq: number };

export type ApiReply =
  | { type: 'ready'; seq: number; url: string; pid: number }
  | { type: 'space'; seq: number; writeKey: string; token: string }
  | {
      type: 'memory';
      seq: number;
      windowPeakRssMiB: number;
      peakRssMiB: number;
      cpuMs: number;
      deadlocks: number;
    }
  | { type: 'stopped'; seq: number; peakRssMiB: number; vmHwmMiB: number | null }
  | { type: 'error'; seq: number; message: string };

export interface SpaceKeys {
  space: string;
  writeKey: string;
  token: string;
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

  static async start(neo: LocalNeo4j): Promise<ApiProcess> {
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
      const ready = await api.ask({ type: 'start', uri: neo.uri, password: neo.password });
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
    return { space: id, writeKey: answer.writeKey, token: answer.token };
  }

  /**
   * Peak RSS since the previous call and over the whole run (sampled every 100 ms in the API process),
   * the CPU time it has used so far, and its write transactions retried after a deadlock so far.
   */
  async memory(): Promise<Omit<Extract<ApiReply, { type: 'memory' }>, 'type' | 'seq'>> {
    const answer = await this.ask({ type: 'memory' });
    if (answer.type !== 'memory') throw new Error('unexpected answer from the API process');
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

export interface Stack {
  neo4j: LocalNeo4j;
  home: string;
  api: ApiProcess;
  /** A raw driver for seeding and baselines, configured as the service's own (src/graph/driver.ts). */
  driver: Driver;
  /** bench/cypher/ (seeding, baselines) and the project's cypher/ (what the API runs) by name. */
  bench: BenchQueries;
  project: BenchQueries;
  stop(): Promise<{ apiPeakRssMiB: number; apiPeakRssSource: string }>;
}

export interface StackOptions {
  heap: string;
  pageCache: string;
  log: (msg: string) => void;
}

export async function startStack(options: StackOptions): Promise<Stack> {
  const home = join(REPO_ROOT, '.neo4j', `bench-${process.pid}`);
  await rm(home, { recursive: true, force: true });
  let local: LocalNeo4j | undefined;
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
    await local?.stop().catch((error: unknown) => options.log(`stopping Neo4j failed: ${String(error)}`));
    await rm(home, { recursive: true, force: true });
    return rss;
  };
  try {
    local = await startLocalNeo4j({
      home,
      boltPort: 0,
      httpPort: 0,
      heap: options.heap,
      pageCache: options.pageCache,
      timeoutMs: 180_000,
      log: options.log,
    });
    driver = createDriver(local);
    api = await ApiProcess.start(local);
    const [bench, project] = await Promise.all([
      QueryRegistry.load(join(BENCH_DIR, 'cypher')),
      QueryRegistry.load(),
    ]);
    return { neo4j: local, home, api, driver, bench, project, stop: teardown };
  } catch (error) {
    await teardown();
    throw error;
  }
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
