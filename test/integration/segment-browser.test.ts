// Segment's browser library (@segment/analytics-next, its UMD build) in headless Chromium, on a page whose
// origin differs from the API's, so the settings fetch, the CORS preflights and the posts are all real.
// Pointed at us by cdnURL alone: the settings we serve name our host as apiHost. No request may leave
// 127.0.0.1 (docs/adr/0007-tracking-api.md).
import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Service } from '../../src/service.ts';
import { startTestService } from '../support/service.ts';

const CHROMIUM = '/usr/bin/chromium';
const LIBRARY_DIR = join(
  dirname(createRequire(import.meta.url).resolve('@segment/analytics-next/package.json')),
  'dist/umd',
);
const PAGE = new URL('../support/browser/page.html', import.meta.url);

const run = randomUUID().slice(0, 8);
const space = `seg-web-${run}`;
let service: Service;
let site: Server;
let siteUrl = '';
let browser: Browser;
let writeKey = '';
let token = '';

/** The shop's own web server: the test page and the library's bundles (and no favicon), nothing else. */
async function startSite(): Promise<Server> {
  const page = await readFile(PAGE);
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    const bundle = /^\/lib\/([\w.-]+\.js)$/.exec(path)?.[1];
    if (path === '/') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(page);
    } else if (path === '/favicon.ico') {
      res.writeHead(204).end();
    } else if (bundle !== undefined) {
      readFile(join(LIBRARY_DIR, bundle)).then(
        (js) => res.writeHead(200, { 'content-type': 'text/javascript' }).end(js),
        () => res.writeHead(404).end(),
      );
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server;
}

beforeAll(async () => {
  [service, site, browser] = await Promise.all([
    startTestService(),
    startSite(),
    // Debian's Chromium (.ci/run installs it); Playwright never downloads a browser here.
    chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    }),
  ]);
  const address = site.address();
  siteUrl = `http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}`;
  await service.services.spaces.createSpace(space);
  writeKey = (await service.services.spaces.createKey(space, 'write')).secret;
  token = (await service.services.spaces.createKey(space, 'token')).secret;
});

afterAll(async () => {
  await browser?.close();
  await new Promise((resolve) => (site ? site.close(resolve) : resolve(undefined)));
  await service?.stop();
});

interface PageRun {
  errors: string[];
  anonymousId: string;
}

interface SeenProfile {
  identifiers: { type: string; value: string }[];
  traits: Record<string, unknown>;
  accounts: { groupId: string; traits: Record<string, unknown> }[];
  events: { nodes: { type: string; event: string | null; name: string | null; category: string | null }[] };
}

async function profileByUserId(userId: string): Promise<SeenProfile | null> {
  const res = await fetch(`${service.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({
      query: `query ($by: IdentifierInput!) {
        profile(by: $by) {
          identifiers { type value } traits accounts { groupId traits }
          events(first: 10, order: OLDEST_FIRST) { nodes { type event name category } }
        }
      }`,
      variables: { by: { type: 'user_id', value: userId } },
    }),
  });
  const body = (await res.json()) as { data?: { profile: SeenProfile | null } };
  return body.data?.profile ?? null;
}

/** Polls until the profile holds `count` events (the batching strategy sends after a short timer). */
async function waitForEvents(userId: string, count: number): Promise<SeenProfile | null> {
  const until = Date.now() + 15_000;
  let profile = await profileByUserId(userId);
  while ((profile?.events.nodes.length ?? 0) < count && Date.now() < until) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    profile = await profileByUserId(userId);
  }
  return profile;
}

it.each([
  ['one request per event (/v1/i, /v1/t, /v1/p, /v1/g)', false],
  ['the batching strategy (/v1/b)', true],
])('analytics.js delivers identify, track, page and group with %s', async (_how, batching) => {
  const userId = `web-${batching ? 'b' : 'e'}-${run}`;
  const context = await browser.newContext();
  const page = await context.newPage();
  const requests: string[] = [];
  const apiAnswers: { method: string; path: string; status: number; allowOrigin: string | undefined }[] = [];
  page.on('request', (request) => requests.push(request.url()));
  page.on('response', (response) => {
    const url = new URL(response.url());
    if (url.origin !== service.url) return;
    apiAnswers.push({
      method: response.request().method(),
      path: url.pathname,
      status: response.status(),
      allowOrigin: response.headers()['access-control-allow-origin'],
    });
  });
  const consoleErrors: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error') consoleErrors.push(message.text());
  });
  try {
    await page.goto(`${siteUrl}/`);
    const result = await page.evaluate(
      (options) =>
        (globalThis as unknown as { runSegment(o: typeof options): Promise<PageRun> }).runSegment(options),
      {
        writeKey,
        cdnURL: service.url,
        userId,
        email: `${userId}@Example.com`,
        groupId: `acme-${userId}`,
        batching,
      },
    );
    const profile = await waitForEvents(userId, 4);

    expect(result.errors).toEqual([]);
    expect(profile).toMatchObject({
      identifiers: [
        { type: 'anonymous_id', value: result.anonymousId },
        { type: 'email', value: `${userId}@example.com` },
        { type: 'user_id', value: userId },
      ],
      traits: { email: `${userId}@Example.com`, plan: 'pro' },
      accounts: [{ groupId: `acme-${userId}`, traits: { name: 'Acme Inc' } }],
    });
    expect(profile?.events.nodes).toEqual([
      { type: 'identify', event: null, name: null, category: null },
      { type: 'track', event: 'Viewed Pricing', name: null, category: null },
      { type: 'page', event: null, name: 'Pricing', category: 'Docs' },
      { type: 'group', event: null, name: null, category: null },
    ]);

    // Cross-origin for real: the page is on another port, and every answer carried its origin.
    expect(new URL(siteUrl).origin).not.toBe(service.url);
    const settings = { method: 'GET', path: `/v1/projects/${writeKey}/settings`, status: 200 };
    const posts = batching
      ? [{ method: 'POST', path: '/v1/b', status: 200 }]
      : ['i', 't', 'p', 'g'].map((p) => ({ method: 'POST', path: `/v1/${p}`, status: 200 }));
    expect(apiAnswers).toEqual([settings, ...posts].map((answer) => ({ ...answer, allowOrigin: siteUrl })));
    // Nothing left this machine: every request went to the site or to our API.
    expect(
      requests.filter((url) => !url.startsWith(`${siteUrl}/`) && !url.startsWith(`${service.url}/`)),
    ).toEqual([]);
    expect(consoleErrors).toEqual([]);
  } finally {
    await context.close();
  }
});
