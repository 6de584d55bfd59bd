// The Profiles CSV upload (SEMANTICS.md §12, docs/adr/0026-profiles-csv-upload.md) against the real
// service, Neo4j and PostgreSQL: the HTTP upload and template, the jobs over GraphQL, re-uploads, header
// refusals, a streamed 20,000-row file, the limits, and the CLI as a process.
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { DEFAULT_IMPORT_SETTINGS, ImportService } from '../../src/imports/index.ts';
import type { Service } from '../../src/service.ts';
import { createServices } from '../../src/services.ts';
import { openTestGraph, type TestGraph } from '../support/graph.ts';
import { startTestService } from '../support/service.ts';

/** Answers as they came: the assertions check their shape. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

const run = randomUUID().slice(0, 8);
const space = `imp-${run}`;
const other = `imp-o-${run}`;
let service: Service;
let dir: string;
const keys = { admin: '', writer: '', reader: '', writeKey: '', otherAdmin: '' };

beforeAll(async () => {
  service = await startTestService();
  const { spaces, identity } = service.services;
  await spaces.createSpace(space);
  await spaces.createSpace(other);
  // A custom identifier type: a column named after it is an identifier column.
  const rules = await identity.rules(space);
  const set = await identity.setRules(space, [
    ...rules,
    {
      type: 'crm_id',
      priority: 50,
      limit: 5,
      window: 'EVER',
      blockedValues: [{ value: 'null', match: 'EXACT' }],
    },
  ]);
  expect(set.ok).toBe(true);
  keys.admin = (await spaces.createKey(space, 'token', { scopes: ['admin'] })).secret;
  keys.writer = (await spaces.createKey(space, 'token', { scopes: ['write'] })).secret;
  keys.reader = (await spaces.createKey(space, 'token')).secret;
  keys.writeKey = (await spaces.createKey(space, 'write')).secret;
  keys.otherAdmin = (await spaces.createKey(other, 'token', { scopes: ['admin'] })).secret;
  dir = await mkdtemp(join(tmpdir(), 'sg-import-'));
}, 120_000);
afterAll(async () => {
  await service?.stop();
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
});

const importUrl = (s = space) => `${service.url}/v1/spaces/${s}/profiles/import`;

async function upload(
  body: string | ReadableStream<Uint8Array>,
  options: { key?: string | null; fileName?: string } = {},
) {
  const key = options.key === undefined ? keys.admin : options.key;
  const url = new URL(importUrl());
  if (options.fileName !== undefined) url.searchParams.set('fileName', options.fileName);
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'text/csv', ...(key === null ? {} : { authorization: `Bearer ${key}` }) },
    body,
    ...(typeof body === 'string' ? {} : { duplex: 'half' }),
  } as RequestInit);
  return { status: res.status, body: (await res.json()) as Record<string, Json> };
}

async function gql(query: string, variables: Record<string, unknown> = {}, token = keys.reader) {
  const res = await fetch(`${service.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await res.json()) as { data?: Record<string, Json>; errors?: unknown[] };
  expect(body.errors).toBeUndefined();
  return body.data ?? {};
}

async function profile(type: string, value: string) {
  const data = await gql(
    `query ($by: IdentifierInput!) {
      profile(by: $by) { identifiers { type value } traits events(first: 100) { nodes { type messageId } } }
    }`,
    { by: { type, value } },
  );
  return data.profile as {
    identifiers: { type: string; value: string }[];
    traits: Record<string, unknown>;
    events: { nodes: { type: string; messageId: string }[] };
  } | null;
}

const JOB_FIELDS = `id status source fileName columns rows applied duplicates refused progress
  error { code message field } errors(first: 50) { nodes { line code message field } pageInfo { hasNextPage } }`;

const longId = 'x'.repeat(1100);
const MIXED = [
  'user_id,email,crm_id,plan,age', // line 1
  'u1,u1@example.com,,pro,30', // 2: applied
  ',U2@Example.com,,free,', // 3: applied, by email alone
  ',,,basic,4', // 4: no identifier
  'u4,,c-4,"two', // 5-6: applied, a trait with a line break
  'lines",5',
  'u5,,', // 7: too few cells
  ',,null,x,1', // 8: only a blocked value
  `${longId},,,big,1`, // 9: an id over 1 KB
  '', // 10: an empty line, skipped
  'u9,,,vip,9', // 11: applied
  '',
].join('\n');

describe('HTTP upload', () => {
  let jobId = '';

  it('applies the valid rows and reports every refused row by line, code and column', async () => {
    const res = await upload(MIXED, { fileName: 'mixed.csv' });
    expect(res.status).toBe(200);
    expect(res.body.success).toBe(true);
    expect(res.body.job).toMatchObject({
      status: 'DONE',
      fileName: 'mixed.csv',
      columns: ['user_id', 'email', 'crm_id', 'plan', 'age'],
      rows: 8,
      applied: 4,
      duplicates: 0,
      refused: 4,
    });
    jobId = res.body.job.id as string;
    const errors = res.body.errors as { line: number; code: string; field: string | null }[];
    expect(errors.map(({ line, code, field }) => ({ line, code, field }))).toEqual([
      { line: 4, code: 'NO_IDENTIFIERS', field: 'user_id,email,crm_id' },
      { line: 7, code: 'VALIDATION_FAILED', field: 'plan' },
      { line: 8, code: 'NO_IDENTIFIERS', field: null },
      { line: 9, code: 'VALIDATION_FAILED', field: 'user_id' },
    ]);

    const u1 = await profile('user_id', 'u1');
    expect(u1?.traits).toMatchObject({ email: 'u1@example.com', plan: 'pro', age: '30' });
    expect(u1?.identifiers).toEqual(
      expect.arrayContaining([
        { type: 'user_id', value: 'u1' },
        { type: 'email', value: 'u1@example.com' },
      ]),
    );
    expect(u1?.events.nodes).toHaveLength(1);
    expect(u1?.events.nodes[0]?.messageId).toMatch(/^csv-000000002-/);
    // A blank cell is unknown: no `age` trait at all, not null.
    const u2 = await profile('email', 'u2@example.com');
    expect(u2?.traits).toEqual({ email: 'U2@Example.com', plan: 'free' });
    const u4 = await profile('crm_id', 'c-4');
    expect(u4?.traits).toMatchObject({ plan: 'two\nlines', age: '5' });
    expect(u4?.identifiers).toEqual(expect.arrayContaining([{ type: 'user_id', value: 'u4' }]));
    expect((await profile('user_id', 'u9'))?.traits).toMatchObject({ plan: 'vip' });

    // Counted in /metrics (docs/adr/0016-metrics.md).
    const metrics = await (await fetch(service.metricsUrl as string)).text();
    const count = (series: string) =>
      Number(new RegExp(`^${series.replace(/[{}]/g, '\\$&')} (\\d+)$`, 'm').exec(metrics)?.[1] ?? 0);
    expect(count('stitchgraph_import_rows_total{outcome="applied"}')).toBeGreaterThanOrEqual(4);
    expect(count('stitchgraph_import_rows_total{outcome="refused"}')).toBeGreaterThanOrEqual(4);
    expect(count('stitchgraph_import_jobs_total{status="DONE"}')).toBeGreaterThanOrEqual(1);
  });

  it('pages errors in line order past line 9 (lines are numbers, not text)', async () => {
    const rows = Array.from({ length: 12 }, (_, i) => `,trait${i}`).join('\n');
    const answer = await upload(`user_id,plan\n${rows}\n`);
    const id = (answer.body.job as { id: string }).id;
    const lines: number[] = [];
    let after: string | null = null;
    for (let page = 0; page < 10; page++) {
      const data = await gql(
        `query ($id: ID!, $after: String) { importJob(id: $id) { errors(first: 5, after: $after) { nodes { line } pageInfo { hasNextPage endCursor } } } }`,
        { id, after },
      );
      lines.push(...data.importJob.errors.nodes.map((e: { line: number }) => e.line));
      if (!data.importJob.errors.pageInfo.hasNextPage) break;
      after = data.importJob.errors.pageInfo.endCursor as string;
    }
    expect(lines).toEqual(Array.from({ length: 12 }, (_, i) => i + 2));
  });

  it('shows the job over GraphQL, with its errors paged', async () => {
    const data = await gql(`query ($id: ID!) { importJob(id: $id) { ${JOB_FIELDS} } }`, { id: jobId });
    expect(data.importJob).toMatchObject({
      id: jobId,
      status: 'DONE',
      source: 'HTTP',
      rows: 8,
      applied: 4,
      refused: 4,
      progress: 1,
      error: null,
    });
    expect(data.importJob.errors.nodes.map((e: { line: number }) => e.line)).toEqual([4, 7, 8, 9]);
    const page = await gql(
      `query ($id: ID!) { importJob(id: $id) { errors(first: 2) { nodes { line } pageInfo { hasNextPage endCursor } } } }`,
      { id: jobId },
    );
    expect(page.importJob.errors.nodes).toEqual([{ line: 4 }, { line: 7 }]);
    const next = await gql(
      `query ($id: ID!, $after: String) { importJob(id: $id) { errors(first: 2, after: $after) { nodes { line } pageInfo { hasNextPage } } } }`,
      { id: jobId, after: page.importJob.errors.pageInfo.endCursor },
    );
    expect(next.importJob.errors).toEqual({
      nodes: [{ line: 8 }, { line: 9 }],
      pageInfo: { hasNextPage: false },
    });
    const list = await gql(`{ importJobs(first: 100) { nodes { id } } }`);
    expect(list.importJobs.nodes.map((j: { id: string }) => j.id)).toContain(jobId);
    // Another space's token does not see it.
    expect(
      (await gql(`query ($id: ID!) { importJob(id: $id) { id } }`, { id: jobId }, keys.otherAdmin)).importJob,
    ).toBeNull();
  });

  it('changes nothing when the same file is uploaded again: every applied row is a duplicate', async () => {
    const res = await upload(MIXED, { key: keys.writer });
    expect(res.status).toBe(200);
    expect(res.body.job).toMatchObject({ status: 'DONE', rows: 8, applied: 0, duplicates: 4, refused: 4 });
    expect((await profile('user_id', 'u1'))?.events.nodes).toHaveLength(1);
    expect((await profile('crm_id', 'c-4'))?.events.nodes).toHaveLength(1);
  });

  it('lets a later row of the file win a trait over an earlier one', async () => {
    const rows = ['user_id,plan', ...Array.from({ length: 30 }, (_, i) => `same-${run},p${i}`)].join('\n');
    const res = await upload(rows);
    expect(res.body.job).toMatchObject({ applied: 30, refused: 0 });
    expect((await profile('user_id', `same-${run}`))?.traits).toMatchObject({ plan: 'p29' });
  });

  it('numbers lines of a CRLF file with line breaks inside quoted cells', async () => {
    const csv = `user_id,note\r\ncrlf-${run},"one\r\ntwo"\r\n\r\ncrlf-bad-${run}\r\ncrlf2-${run},x\r\n`;
    const res = await upload(csv);
    expect(res.body.job).toMatchObject({ rows: 3, applied: 2, refused: 1 });
    expect(res.body.errors).toMatchObject([{ line: 5, code: 'VALIDATION_FAILED', field: 'note' }]);
    expect((await profile('user_id', `crlf-${run}`))?.traits).toEqual({ note: 'one\r\ntwo' });
  });

  it('ends a job INTERRUPTED when the upload drops, and uploading the file again finishes it', async () => {
    const rows = Array.from({ length: 600 }, (_, i) => `cut-${run}-${i},cut-${i}@example.com`);
    const file = ['user_id,email', ...rows, ''].join('\n');
    const encoder = new TextEncoder();
    let pulls = 0;
    let jobId = '';
    const body = new ReadableStream<Uint8Array>({
      async pull(controller) {
        pulls += 1;
        if (pulls === 1) {
          controller.enqueue(encoder.encode(['user_id,email', ...rows.slice(0, 300), ''].join('\n')));
          return;
        }
        // fetch may hold a chunk until it has the next one: ten more rows, so the first 300 go out.
        if (pulls === 2) {
          controller.enqueue(encoder.encode([...rows.slice(300, 310), ''].join('\n')));
          return;
        }
        // Wait until those rows are applied, then drop the connection.
        for (let i = 0; i < 600; i++) {
          const job = (await gql(`{ importJobs(first: 1) { nodes { id status applied } } }`)).importJobs
            .nodes[0];
          if (job?.status === 'RUNNING' && job.applied >= 300) {
            jobId = job.id as string;
            break;
          }
          await new Promise((r) => setTimeout(r, 100));
        }
        controller.error(new Error('the client went away'));
      },
    });
    await expect(upload(body)).rejects.toThrow();
    expect(jobId).not.toBe('');
    let job: Json = null;
    for (let i = 0; i < 100; i++) {
      job = (
        await gql(`query ($id: ID!) { importJob(id: $id) { status applied error { code } } }`, { id: jobId })
      ).importJob;
      if (job.status !== 'RUNNING') break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(job).toMatchObject({ status: 'FAILED', error: { code: 'INTERRUPTED' } });
    expect(job.applied).toBeGreaterThanOrEqual(300);

    const again = await upload(file);
    expect(again.body.job).toMatchObject({ status: 'DONE', rows: 600, refused: 0 });
    expect(again.body.job.duplicates).toBe(job.applied);
    expect(again.body.job.applied + again.body.job.duplicates).toBe(600);
    expect((await profile('user_id', `cut-${run}-0`))?.events.nodes).toHaveLength(1);
  }, 120_000);

  it.each([
    ['a duplicate header', 'user_id,plan,plan\nu,a,b\n', 'VALIDATION_FAILED', 'plan'],
    ['a header with a stray space', 'user_id, plan\nu,a\n', 'VALIDATION_FAILED', ' plan'],
    ['no identifier column', 'plan,age\npro,3\n', 'NO_IDENTIFIERS', null],
    [
      'too many columns',
      `user_id,${Array.from({ length: 299 }, (_, i) => `c${i}`).join(',')}\nu\n`,
      'PAYLOAD_TOO_LARGE',
      'c298',
    ],
    ['an empty file', '', 'VALIDATION_FAILED', null],
    ['a header that is not valid CSV', 'user_id,"pl"an\nu,a\n', 'VALIDATION_FAILED', null],
  ])('refuses the file for %s, and the job says why', async (_, csv, code, field) => {
    const res = await upload(csv);
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({
      success: false,
      error: { code, field },
      job: { status: 'FAILED', rows: 0 },
    });
    const data = await gql(
      `query ($id: ID!) { importJob(id: $id) { status applied error { code field } } }`,
      {
        id: res.body.job.id,
      },
    );
    expect(data.importJob).toEqual({ status: 'FAILED', applied: 0, error: { code, field } });
  });

  it('streams a 20,000-row body: rows are applied while the upload is still arriving', async () => {
    const total = 20_000;
    const seenMidway: { rows: number; status: string }[] = [];
    let next = 0;
    const encoder = new TextEncoder();
    const body = new ReadableStream<Uint8Array>({
      async pull(controller) {
        if (next === 0) controller.enqueue(encoder.encode('user_id,email,plan,n\n'));
        if (next === total / 2) {
          // Half sent: the server must already have applied rows, so it does not wait for the end.
          for (let i = 0; i < 600; i++) {
            const jobs = await gql(`{ importJobs(first: 1) { nodes { status rows applied } } }`);
            const job = jobs.importJobs.nodes[0];
            if (job?.status === 'RUNNING' && job.applied > 0) {
              seenMidway.push(job);
              break;
            }
            await new Promise((r) => setTimeout(r, 100));
          }
        }
        if (next >= total) {
          controller.close();
          return;
        }
        const lines: string[] = [];
        for (let i = 0; i < 500 && next < total; i++, next++)
          lines.push(`big-${run}-${next},big-${next}@example.com,${next % 3 === 0 ? 'pro' : 'free'},${next}`);
        controller.enqueue(encoder.encode(`${lines.join('\n')}\n`));
      },
    });
    const res = await upload(body, { key: keys.writer });
    expect(res.status).toBe(200);
    expect(res.body.job).toMatchObject({ status: 'DONE', rows: total, applied: total, refused: 0 });
    expect(seenMidway).toHaveLength(1);
    expect(seenMidway[0]?.rows).toBeLessThan(total);
    expect((await profile('email', 'big-19999@example.com'))?.traits).toMatchObject({ n: '19999' });
  }, 300_000);
});

describe('template', () => {
  it('is a CSV header of the space identifier types, custom ones included', async () => {
    const res = await fetch(`${importUrl()}/template`, {
      headers: { authorization: `Bearer ${keys.reader}` },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/csv/);
    const text = await res.text();
    const columns = text.trim().split(',');
    expect(columns.slice(0, 2)).toEqual(['user_id', 'email']);
    expect(columns).toContain('anonymous_id');
    expect(columns).toContain('crm_id');
    expect(columns).not.toContain('group_id');
  });
});

describe('authentication', () => {
  it.each([
    ['no token', null, 401, 'UNAUTHENTICATED'],
    ['an unknown token', 'sgt_nope', 401, 'UNAUTHENTICATED'],
    ['a read-only token', 'reader', 403, 'FORBIDDEN'],
    ['a write key', 'writeKey', 403, 'FORBIDDEN'],
    ['another space token', 'otherAdmin', 403, 'FORBIDDEN'],
  ] as const)('refuses %s with a 4xx, applying nothing', async (_, key, status, code) => {
    const secret = key === null ? null : key in keys ? keys[key as keyof typeof keys] : key;
    const res = await upload(`user_id,plan\nauth-${run}-${String(key)},x\n`, { key: secret });
    expect(res.status).toBe(status);
    expect(res.body.error.code).toBe(code);
    expect(await profile('user_id', `auth-${run}-${String(key)}`)).toBeNull();
  });

  it('answers the template with 401 without a token and 405 for other methods', async () => {
    expect((await fetch(`${importUrl()}/template`)).status).toBe(401);
    const res = await fetch(importUrl(), { headers: { authorization: `Bearer ${keys.admin}` } });
    expect(res.status).toBe(405);
  });
});

describe('limits', () => {
  let t: TestGraph;
  beforeAll(async () => {
    t = await openTestGraph();
  });
  afterAll(() => t?.close());

  it('refuses the rows past the row limit, and a file that passes the byte limit', async () => {
    const services = createServices(t.graph, t.db);
    const imports = new ImportService(t.db, services.identity, services.ingest, {
      ...DEFAULT_IMPORT_SETTINGS,
      limits: { rows: 3, columns: 299, bytes: 300 },
    });
    const source = { via: 'cli' as const, fileName: null, bytesTotal: null };
    const rows = ['user_id,plan', ...[1, 2, 3, 4, 5].map((i) => `lim-${run}-${i},p`)].join('\n');
    const id = await imports.create(space, source);
    const job = await imports.run(space, id, Readable.from([rows]), source);
    expect(job).toMatchObject({ status: 'DONE', rows: 5, applied: 3, refused: 2 });
    const { errors } = await imports.errors(id, 10, null);
    expect(errors.map((e) => [e.line, e.code])).toEqual([
      [5, 'PAYLOAD_TOO_LARGE'],
      [6, 'PAYLOAD_TOO_LARGE'],
    ]);

    const big = ['user_id,plan', ...Array.from({ length: 40 }, (_, i) => `lim2-${run}-${i},p`)].join('\n');
    const id2 = await imports.create(space, source);
    // Chunks of 50 bytes: the limit is met mid-stream, with no size known up front.
    const chunks = big.match(/[\s\S]{1,50}/g) ?? [];
    const failed = await imports.run(space, id2, Readable.from(chunks), source);
    expect(failed.status).toBe('FAILED');
    expect(failed.error?.code).toBe('PAYLOAD_TOO_LARGE');

    const id3 = await imports.create(space, { ...source, bytesTotal: 301 });
    const refused = await imports.run(space, id3, Readable.from(['user_id\nu\n']), {
      ...source,
      bytesTotal: 301,
    });
    expect(refused).toMatchObject({ status: 'FAILED', rows: 0, error: { code: 'PAYLOAD_TOO_LARGE' } });
  });
});

describe('importJobs', () => {
  it('pages newest first, without skipping or repeating jobs made within one millisecond', async () => {
    const { imports } = service.services;
    const made = await Promise.all(
      Array.from({ length: 5 }, () =>
        imports.create(space, { via: 'http', fileName: null, bytesTotal: null }),
      ),
    );
    const seen: string[] = [];
    let after: string | null = null;
    for (let page = 0; page < 100; page++) {
      const data = await gql(
        `query ($after: String) { importJobs(first: 2, after: $after) { nodes { id } pageInfo { hasNextPage endCursor } } }`,
        { after },
      );
      seen.push(...data.importJobs.nodes.map((n: { id: string }) => n.id));
      if (!data.importJobs.pageInfo.hasNextPage) break;
      after = data.importJobs.pageInfo.endCursor as string;
    }
    expect(new Set(seen).size).toBe(seen.length);
    expect(seen).toEqual(expect.arrayContaining(made));
    expect(seen.slice(0, 5).sort()).toEqual([...made].sort());
  });
});

describe('abandoned jobs', () => {
  it('marks a job that no process updates any more FAILED as INTERRUPTED', async () => {
    const { imports } = service.services;
    const id = await imports.create(space, { via: 'http', fileName: 'lost.csv', bytesTotal: null });
    expect(await imports.failAbandoned(new Date(Date.now() - 60_000))).toBe(0);
    expect(await imports.failAbandoned(new Date(Date.now() + 1_000))).toBeGreaterThanOrEqual(1);
    expect(await imports.job(space, id)).toMatchObject({ status: 'FAILED', error: { code: 'INTERRUPTED' } });
  });
});

describe('CLI', () => {
  const env = () => {
    const neo4j = inject('neo4j');
    return {
      ...process.env,
      NEO4J_URI: neo4j.uri,
      NEO4J_USER: neo4j.user,
      NEO4J_PASSWORD: neo4j.password ?? '',
      NEO4J_DATABASE: neo4j.database,
      DATABASE_URL: inject('postgres').url,
    };
  };

  it('imports a file with a progress bar and prints a summary', async () => {
    const file = join(dir, 'people.csv');
    await writeFile(
      file,
      [
        'user_id,email,plan',
        `cli-${run}-1,cli1-${run}@example.com,pro`,
        ',,orphan',
        `cli-${run}-3,,free`,
        '',
      ].join('\n'),
    );
    const { stdout, stderr } = await promisify(execFile)(
      'npx',
      ['tsx', 'src/cli.ts', 'profiles', 'import', file, '--space', space],
      { env: env() },
    );
    expect(stderr).toMatch(/importing \|.*\| 100% \| 3 rows \| \d+ rows\/s \| 1 refused/);
    expect(stdout).toMatch(
      /^Imported .*people\.csv into space imp-.* \(job imp_[0-9a-f]+\) in [\d.]+ s: 3 rows, 2 applied, 0 duplicates, 1 refused/,
    );
    expect(stdout).toContain('line 3: NO_IDENTIFIERS (user_id,email)');
    expect((await profile('user_id', `cli-${run}-1`))?.traits).toMatchObject({ plan: 'pro' });
    const jobs = await gql(`{ importJobs(first: 5) { nodes { source fileName applied } } }`);
    expect(jobs.importJobs.nodes).toContainEqual({ source: 'CLI', fileName: 'people.csv', applied: 2 });
  }, 120_000);

  it('exits 1 with the reason when the file is refused', async () => {
    const file = join(dir, 'bad.csv');
    await writeFile(file, 'plan,plan\na,b\n');
    const failed = await promisify(execFile)(
      'npx',
      ['tsx', 'src/cli.ts', 'profiles', 'import', file, '--space', space],
      {
        env: env(),
      },
    ).catch((error: { code: number; stderr: string }) => error);
    expect(failed).toMatchObject({ code: 1 });
    expect((failed as { stderr: string }).stderr).toMatch(
      /Refused .*bad\.csv \(job imp_\w+\): VALIDATION_FAILED \(column "plan"\)/,
    );
  }, 120_000);
});
