// Starts one local Neo4j for the whole run, unless NEO4J_URI points at one (then that one is used).
// Tests never share data: each creates its own space (test/support/graph.ts).
import { freePort } from './ports.ts';
import type { TestProject } from 'vitest/node';
import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { createDriver, Graph, migrate, QueryRegistry } from '../../src/graph/index.ts';
import { neo4jStatus, startLocalNeo4j, type LocalNeo4j } from '../../tools/neo4j/launcher.ts';

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

declare module 'vitest' {
  export interface ProvidedContext {
    neo4j: TestNeo4j;
  }
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

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
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
    project.provide('neo4j', settings);
    return async () => {};
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
  project.provide('neo4j', settings);
  return async () => {
    await local.stop();
    await rm(TEST_HOME, { recursive: true, force: true });
  };
}
