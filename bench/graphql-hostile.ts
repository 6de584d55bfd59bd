// `npx tsx bench/graphql-hostile.ts`: the API process's memory under the hostile GraphQL operations of
// issue 11 §1. Starts its own Neo4j (.neo4j/hostile-<pid>) and the API in a child process (NODE_ENV
// development, so introspection is on; GRAPHQL_* variables pass through), seeds one profile with 100
// events of 30 KB `properties`, then sends each operation CONCURRENCY (8) times at once and prints the
// answers' codes and the child's resident set (VmRSS) before, at its peak (sampled every 20 ms) and after.
// A developer's measurement, not a test: it prints, it asserts nothing.
import { fork } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { getIntrospectionQuery } from 'graphql';
import { loadConfig } from '../src/config.ts';
import { createLogger } from '../src/log.ts';
import { startService } from '../src/service.ts';
import { startLocalNeo4j } from '../tools/neo4j/launcher.ts';

const CONCURRENCY = 8;
const EVENTS = 100;
const PROPERTY_BYTES = 30_000;
const REPO_ROOT = fileURLToPath(new URL('../', import.meta.url));

interface Ready {
  url: string;
  token: string;
}

/** The child: the service as `npm start` runs it, plus a space and an access token for the parent. */
async function api(): Promise<void> {
  const passed = Object.fromEntries(
    Object.entries(process.env).filter(
      (entry): entry is [string, string] => entry[0].startsWith('GRAPHQL_') && entry[1] !== undefined,
    ),
  );
  const config = loadConfig({
    NODE_ENV: 'development',
    PORT: '0',
    LOG_LEVEL: 'error',
    NEO4J_URI: process.env.HOSTILE_NEO4J_URI ?? '',
    NEO4J_PASSWORD: process.env.HOSTILE_NEO4J_PASSWORD ?? '',
    TRACKING_RATE_LIMIT: '100000000',
    TRACKING_RATE_BURST: '100000000',
    METRICS_PORT: '0',
    ...passed,
  });
  const service = await startService(config, createLogger(config.logLevel));
  const space = 'hostile';
  await service.services.spaces.createSpace(space);
  const token = await service.services.spaces.createKey(space, 'token', { scopes: ['write'] });
  process.send?.({ url: service.url, token: token.secret } satisfies Ready);
  process.on('disconnect', () => void service.stop().finally(() => process.exit(0)));
}

const MiB = 1024 * 1024;

function rssMiB(pid: number): number {
  const kb = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
  return Number(kb ?? 0) / 1024;
}

const aliases = (n: number, field: string) =>
  Array.from({ length: n }, (_, i) => `a${i}: ${field}`).join(' ');

async function main(): Promise<void> {
  const home = join(REPO_ROOT, '.neo4j', `hostile-${process.pid}`);
  const neo4j = await startLocalNeo4j({
    home,
    boltPort: 0,
    httpPort: 0,
    heap: '512m',
    pageCache: '128m',
    timeoutMs: 180_000,
    log: (line) => console.log(line),
  });
  const child = fork(fileURLToPath(import.meta.url), ['--api'], {
    cwd: REPO_ROOT,
    execArgv: ['--import', 'tsx'],
    env: { ...process.env, HOSTILE_NEO4J_URI: neo4j.uri, HOSTILE_NEO4J_PASSWORD: neo4j.password },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  try {
    const ready = await new Promise<Ready>((resolve, reject) => {
      child.once('message', (m) => resolve(m as Ready));
      child.once('exit', (code) => reject(new Error(`the API exited (${code})`)));
    });
    const pid = child.pid ?? -1;
    const post = async (query: string, variables: Record<string, unknown> = {}) => {
      const res = await fetch(`${ready.url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${ready.token}` },
        body: JSON.stringify({ query, variables }),
      });
      const text = await res.text();
      const body = JSON.parse(text) as { errors?: { extensions?: { code?: string } }[] };
      return { status: res.status, bytes: text.length, code: body.errors?.[0]?.extensions?.code ?? 'ok' };
    };

    const user = 'heavy';
    const track = 'mutation ($input: TrackInput!) { track(input: $input) { ok } }';
    for (let i = 0; i < EVENTS; i++) {
      await post(track, {
        input: {
          userId: user,
          event: 'Big',
          messageId: `big-${i}`,
          properties: { blob: 'x'.repeat(PROPERTY_BYTES) },
        },
      });
    }
    const events = (n: number) =>
      `{ ${aliases(n, `profile(by: { type: "user_id", value: "${user}" }) { events(first: ${EVENTS}) { nodes { properties } } }`)} }`;
    const scenarios: [string, string][] = [
      ['standard introspection query', getIntrospectionQuery()],
      ['15,000 aliases of __schema', `{ ${aliases(15_000, '__schema { types { name fields { name } } }')} }`],
      ['5,000 aliases of __schema', `{ ${aliases(5_000, '__schema { types { name fields { name } } }')} }`],
      [
        '30 aliases of __schema (the most allowed)',
        `{ ${aliases(30, '__schema { types { name fields { name } } }')} }`,
      ],
      ['99 aliases of 100 events with properties', events(99)],
      ['7 aliases of 100 events (just over the cost)', events(7)],
      ['4 aliases of 100 events (under the cost, over 10 MiB)', events(4)],
      ['3 aliases of 100 events (about 9 MB, answered)', events(3)],
    ];

    console.log(`\n${CONCURRENCY} requests at once per row; VmRSS of the API process in MiB\n`);
    console.log('| operation | request | answers | before | peak | after | wall |');
    console.log('|---|---|---|---|---|---|---|');
    const start = rssMiB(pid);
    for (const [name, query] of scenarios) {
      const before = rssMiB(pid);
      let peak = before;
      const sampler = setInterval(() => {
        peak = Math.max(peak, rssMiB(pid));
      }, 20);
      const t0 = performance.now();
      const answers = await Promise.all(Array.from({ length: CONCURRENCY }, () => post(query)));
      const wall = performance.now() - t0;
      clearInterval(sampler);
      peak = Math.max(peak, rssMiB(pid));
      const after = rssMiB(pid);
      const codes = [...new Set(answers.map((a) => `${a.status} ${a.code}`))].join(', ');
      const largest = Math.max(...answers.map((a) => a.bytes));
      console.log(
        `| ${name} | ${(Buffer.byteLength(query) / 1024).toFixed(0)} KiB | ${codes} (${(largest / MiB).toFixed(2)} MiB) | ${before.toFixed(0)} | ${peak.toFixed(0)} | ${after.toFixed(0)} | ${wall.toFixed(0)} ms |`,
      );
    }
    console.log(`\nVmRSS at the start: ${start.toFixed(0)} MiB; at the end: ${rssMiB(pid).toFixed(0)} MiB`);
  } finally {
    child.disconnect();
    await new Promise((resolve) => setTimeout(resolve, 2000));
    if (child.exitCode === null) child.kill('SIGTERM');
    await neo4j.stop();
    await rm(home, { recursive: true, force: true });
  }
}

if (process.argv.includes('--api')) {
  void api();
} else {
  main().catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  });
}
