// Segment's own Node library, pointed at our server with its `host` and `path` options, must deliver
// every call: the profile it builds is read back over GraphQL (docs/adr/0007-tracking-api.md).
import { randomUUID } from 'node:crypto';
import { Analytics } from '@segment/analytics-node';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Service } from '../../src/service.ts';
import { startTestService } from '../support/service.ts';

const run = randomUUID().slice(0, 8);
const space = `seg-node-${run}`;
let service: Service;
let writeKey = '';
let token = '';

beforeAll(async () => {
  service = await startTestService();
  await service.services.spaces.createSpace(space);
  writeKey = (await service.services.spaces.createKey(space, 'write')).secret;
  token = (await service.services.spaces.createKey(space, 'token')).secret;
});
afterAll(() => service?.stop());

it('delivers identify, track, page and group from @segment/analytics-node', async () => {
  const analytics = new Analytics({
    writeKey,
    host: service.url,
    path: '/v1/batch',
    flushInterval: 100,
    maxRetries: 0,
  });
  const failures: unknown[] = [];
  const statuses: number[] = [];
  analytics.on('error', (error) => failures.push(error));
  analytics.on('http_response', (response) => statuses.push(response.status));
  const delivered = (error?: unknown) => {
    if (error !== undefined) failures.push(error);
  };

  const userId = `node-${run}`;
  analytics.identify(
    { userId, anonymousId: `anon-${run}`, traits: { email: `${userId}@Example.com`, plan: 'pro' } },
    delivered,
  );
  analytics.track({ userId, event: 'Order Completed', properties: { total: 42 } }, delivered);
  analytics.page({ userId, name: 'Pricing', properties: { path: '/pricing' } }, delivered);
  analytics.group({ userId, groupId: `acme-${run}`, traits: { name: 'Acme Inc' } }, delivered);
  await analytics.closeAndFlush({ timeout: 20_000 });

  expect(failures).toEqual([]);
  expect(statuses.length).toBeGreaterThan(0);
  expect(statuses.every((s) => s === 200)).toBe(true);

  const res = await fetch(`${service.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({
      query: `query ($by: IdentifierInput!) {
        profile(by: $by) {
          identifiers { type value } traits accounts { groupId traits }
          events(first: 10, order: OLDEST_FIRST) { nodes { type event name properties context } }
        }
      }`,
      variables: { by: { type: 'email', value: `${userId}@example.com` } },
    }),
  });
  const body = (await res.json()) as {
    data: {
      profile: {
        events: { nodes: { type: string; context: { library?: { name?: string } } }[] };
      } & Record<string, unknown>;
    };
  };
  expect(body.data.profile).toMatchObject({
    identifiers: [
      { type: 'anonymous_id', value: `anon-${run}` },
      { type: 'email', value: `${userId}@example.com` },
      { type: 'user_id', value: userId },
    ],
    traits: { email: `${userId}@Example.com`, plan: 'pro' },
    accounts: [{ groupId: `acme-${run}`, traits: { name: 'Acme Inc' } }],
  });
  const events = body.data.profile.events.nodes;
  expect(events.map((e) => e.type).sort()).toEqual(['group', 'identify', 'page', 'track']);
  expect(events).toContainEqual(
    expect.objectContaining({ type: 'track', event: 'Order Completed', properties: { total: 42 } }),
  );
  expect(events).toContainEqual(expect.objectContaining({ type: 'page', name: 'Pricing' }));
  // The library's own context arrived, so these really are its requests.
  expect(events.every((e) => e.context.library?.name === '@segment/analytics-node')).toBe(true);
});
