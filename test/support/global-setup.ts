// Starts one local Neo4j for the whole run, unless NEO4J_URI points at one (then that one is used).
// Tests never share data: each creates its own space (test/support/graph.ts).
// Alongside, concurrently: a fresh PostgreSQL database for the run, on DATABASE_URL's server when that is
// set, else on a local server started for the run (tools/postgres/launcher.ts); dropped or deleted at the end.
import { freePort } from './ports.ts';
import { prepareDatabase } from './postgres.ts';
import type { TestProject } from 'vitest/node';
import { randomBytes } from 'node:crypto';
import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import pg from 'pg';
import { createDriver, Graph, migrate, QueryRegistry } from '../../src/graph/index.ts';
import { neo4jStatus, startLocalNeo4j, type LocalNeo4j } from '../../tools/neo4j/launcher.ts';
import { postgresStatus, startLocalPostgres, type LocalPostgres } from '../../tools/postgres/launcher.ts';

/** Each run gets its own instance, so two runs at once (two terminals, an editor) never share one. */
const TEST_ROOT = '.neo4j/test';
const TEST_HOME = join(TEST_ROOT, `run-${process.pid}`);

/** Removes the homes of earlier runs that crashed before cleaning up (their server is gone). */
async function removeStaleHomes(): Promise<void> {
  const entries = await readdir(TEST_ROOT).catch(() => [] as string[]);
  for (const entry of entries) {
    const home = join(TEST_ROOT, entry);
    if (!(await neo4jStatus(home)).running) await rm(home, { recursive: true, force: true });
  }
}

export interface TestNeo4j {
  uri: string;
  user: string;
  password: string | undefined;
  database: string;
  /** Neo4j Browser of the run's local instance; null when NEO4J_URI names an external database. */
  browserUrl: string | null;
}

export interface TestPostgres {
  /** Connection URL of the run's own database (`stitchgraph_test_<pid>_<random>`). */
  url: string;
}

declare module 'vitest' {
  export interface ProvidedContext {
    neo4j: TestNeo4j;
    postgres: TestPostgres;
  }
}

/** What a part of the setup provides, and how to undo it at the end of the run. */
interface Started<T> {
  settings: T;
  teardown: () => Promise<void>;
}

/** Applies the schema once per run, as the service does at start-up. */
async function migrateOnce(settings: TestNeo4j): Promise<void> {
  const driver = createDriver(settings);
  try {
    await migrate(new Graph(driver, await QueryRegistry.load(), { database: settings.database }));
  } finally {
    await driver.close();
  }
}

async function setupNeo4j(): Promise<Started<TestNeo4j>> {
  const env = process.env;
  if (env.NEO4J_URI) {
    const settings: TestNeo4j = {
      uri: env.NEO4J_URI,
      user: env.NEO4J_USER ?? 'neo4j',
      password: env.NEO4J_PASSWORD,
      database: env.NEO4J_DATABASE ?? 'neo4j',
      browserUrl: null,
    };
    await migrateOnce(settings);
    return { settings, teardown: async () => {} };
  }
  const started = Date.now();
  await removeStaleHomes();
  const local: LocalNeo4j = await startLocalNeo4j({
    home: TEST_HOME,
    boltPort: await freePort(),
    httpPort: await freePort(),
    heap: env.NEO4J_TEST_HEAP ?? '1g',
    pageCache: env.NEO4J_TEST_PAGECACHE ?? '256m',
    log: (msg) => process.stderr.write(`[neo4j] ${msg}\n`),
  });
  process.stderr.write(`[neo4j] test instance up at ${local.uri} in ${Date.now() - started} ms\n`);
  const settings: TestNeo4j = {
    uri: local.uri,
    user: local.user,
    password: local.password,
    database: 'neo4j',
    browserUrl: `${local.httpUrl}/browser/`,
  };
  await migrateOnce(settings);
  return {
    settings,
    teardown: async () => {
      await local.stop();
      await rm(TEST_HOME, { recursive: true, force: true });
    },
  };
}

// ---------------------------------------------------------------------------------------------------------
// PostgreSQL

const PG_TEST_ROOT = '.postgres/test';
const PG_TEST_DIR = join(PG_TEST_ROOT, `run-${process.pid}`);

/**
 * Removes the folders of earlier runs that crashed before cleaning up: their test process is gone and no
 * server runs on their data. A server left running by a killed run is kept (stop it with `kill -INT <pid>`
 * of its postmaster.pid); a folder that cannot be removed only costs disk space, so it is reported, not fatal.
 */
async function removeStalePostgresDirs(): Promise<void> {
  const entries = await readdir(PG_TEST_ROOT).catch(() => [] as string[]);
  for (const entry of entries) {
    const runPid = Number(/^run-(\d+)$/.exec(entry)?.[1]);
    if (!Number.isInteger(runPid) || runPid === process.pid || isRunning(runPid)) continue;
    const dir = join(PG_TEST_ROOT, entry);
    if ((await postgresStatus(dir)).running) continue;
    await rm(dir, { recursive: true, force: true }).catch((error: unknown) => {
      process.stderr.write(`[postgres] could not remove ${dir}: ${String(error)}\n`);
    });
  }
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Creates an empty database named `stitchgraph_test_<pid>_<random>` on the server of `serverUrl` (connecting
 * to the database that URL names) and returns its name.
 */
async function createTestDatabase(serverUrl: string): Promise<string> {
  const name = `stitchgraph_test_${process.pid}_${randomBytes(4).toString('hex')}`;
  await onServer(serverUrl, (client) => client.query(`CREATE DATABASE ${pg.escapeIdentifier(name)}`));
  return name;
}

/** Drops the run's database, ending any sessions tests left open. */
async function dropTestDatabase(serverUrl: string, name: string): Promise<void> {
  await onServer(serverUrl, (client) =>
    client.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(name)} WITH (FORCE)`),
  );
}

async function onServer(serverUrl: string, fn: (client: pg.Client) => Promise<unknown>): Promise<void> {
  const client = new pg.Client({ connectionString: serverUrl });
  await client.connect();
  try {
    await fn(client);
  } finally {
    await client.end();
  }
}

/** `serverUrl` with its database replaced by `name`; user, password, host and parameters are kept. */
function databaseUrl(serverUrl: string, name: string): string {
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

/** Creates and prepares the run's database on `serverUrl`; on failure it is dropped again. */
async function createAndPrepare(serverUrl: string): Promise<Started<TestPostgres>> {
  const name = await createTestDatabase(serverUrl);
  const teardown = (): Promise<void> => dropTestDatabase(serverUrl, name);
  const settings: TestPostgres = { url: databaseUrl(serverUrl, name) };
  try {
    await prepareDatabase(settings.url);
  } catch (error) {
    await teardown().catch(() => {});
    throw error;
  }
  return { settings, teardown };
}

async function setupPostgres(): Promise<Started<TestPostgres>> {
  const external = process.env.DATABASE_URL;
  if (external) return createAndPrepare(external);

  const started = Date.now();
  await removeStalePostgresDirs();
  const local: LocalPostgres = await startLocalPostgres({
    dir: PG_TEST_DIR,
    port: await freePort(),
    persistent: false,
    log: (msg) => process.stderr.write(`[postgres] ${msg}\n`),
  });
  const stop = async (): Promise<void> => {
    await local.stop();
    await rm(PG_TEST_DIR, { recursive: true, force: true });
  };
  try {
    // No need to drop the database at the end: the whole server and its data go.
    const { settings } = await createAndPrepare(local.url);
    process.stderr.write(`[postgres] test database ready in ${Date.now() - started} ms\n`);
    return { settings, teardown: stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

// ---------------------------------------------------------------------------------------------------------

/** Waits for both parts; when one fails, undoes the other before rethrowing, so nothing is left running. */
async function startBoth<A, B>(
  a: Promise<Started<A>>,
  b: Promise<Started<B>>,
): Promise<[Started<A>, Started<B>]> {
  const [ra, rb] = await Promise.allSettled([a, b]);
  if (ra.status === 'fulfilled' && rb.status === 'fulfilled') return [ra.value, rb.value];
  await Promise.allSettled([ra, rb].map((r) => (r.status === 'fulfilled' ? r.value.teardown() : undefined)));
  throw ra.status === 'rejected' ? ra.reason : (rb as PromiseRejectedResult).reason;
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const [neo4j, postgres] = await startBoth(setupNeo4j(), setupPostgres());
  project.provide('neo4j', neo4j.settings);
  project.provide('postgres', postgres.settings);
  return async () => {
    const results = await Promise.allSettled([neo4j.teardown(), postgres.teardown()]);
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed !== undefined) throw failed.reason;
  };
}
