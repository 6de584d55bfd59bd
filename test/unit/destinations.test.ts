// Pure parts of webhook destinations (docs/adr/0023-webhook-destinations.md): the calls' shapes, the
// retry schedule, the SSRF address ranges, secrets at rest, and signing as receivers verify it.
import { randomBytes } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import {
  addressRefusal,
  callOf,
  checkWebhookUrl,
  decryptSecret,
  encryptSecret,
  retryDelayMs,
  type QueuedDelivery,
} from '../../src/destinations/index.ts';
import { newSigningSecret } from '../../src/destinations/secrets.ts';
import { sendWebhook, signedHeaders } from '../../src/destinations/webhook.ts';

const delivery = (over: Partial<QueuedDelivery>): QueuedDelivery => ({
  id: '1',
  destinationId: 'd',
  space: 's',
  subjectId: 'p1',
  computation: 'audience',
  traitKey: 'vip',
  mode: 'identify',
  newValue: true,
  messageId: 'sg-7-identify',
  at: new Date('2026-01-02T03:04:05.678Z'),
  attempts: 1,
  ...over,
});
const who = { profileId: 'p1', userId: 'u1', anonymousId: 'a1' };
const personas = (key: string, cls: string) => ({
  computation_class: cls,
  computation_key: key,
  computation_id: key,
  space_id: 's',
  namespace: 'spa_s',
  profile_id: 'p1',
});
const library = { name: 'stitchgraph', version: '0.1.0' };

describe('calls', () => {
  it('sends an audience entry and exit as identify and track, with context.personas', () => {
    expect(callOf(delivery({}), who)).toEqual({
      type: 'identify',
      messageId: 'sg-7-identify',
      timestamp: '2026-01-02T03:04:05.678Z',
      userId: 'u1',
      anonymousId: 'a1',
      traits: { vip: true },
      context: { personas: personas('vip', 'audience'), library },
    });
    expect(callOf(delivery({ mode: 'track', newValue: null, messageId: 'sg-8-track' }), who)).toEqual({
      type: 'track',
      event: 'Audience Exited',
      messageId: 'sg-8-track',
      timestamp: '2026-01-02T03:04:05.678Z',
      userId: 'u1',
      anonymousId: 'a1',
      properties: { audience_key: 'vip', vip: false },
      context: { personas: personas('vip', 'audience'), library },
    });
  });

  it("sends a computed trait's value, its empty value for null, and names a profile without ids by its id", () => {
    const trait = delivery({ computation: 'computed_trait', traitKey: 'orders', newValue: 3 });
    expect(callOf(trait, who)).toMatchObject({ type: 'identify', traits: { orders: 3 } });
    expect(callOf({ ...trait, mode: 'track' }, who)).toMatchObject({
      type: 'track',
      event: 'Trait Computed',
      properties: { trait_key: 'orders', orders: 3 },
      context: { personas: personas('orders', 'trait') },
    });
    expect(callOf({ ...trait, newValue: null }, who, 0)).toMatchObject({ traits: { orders: 0 } });
    const nobody = callOf(trait, { profileId: 'p1', userId: null, anonymousId: null });
    expect(nobody).toMatchObject({ anonymousId: 'p1' });
    expect(nobody).not.toHaveProperty('userId');
  });
});

describe('retry schedule', () => {
  it('doubles from the base up to the cap, with a jitter factor in [0.5, 1)', () => {
    expect([1, 2, 3, 4, 5].map((n) => retryDelayMs(n, 1000, 5000, () => 0))).toEqual([
      500, 1000, 2000, 2500, 2500,
    ]);
    expect([1, 2, 3, 4, 5].map((n) => retryDelayMs(n, 1000, 5000, () => 0.999999))).toEqual([
      1000, 2000, 4000, 5000, 5000,
    ]);
    expect(retryDelayMs(60, 1000, 3_600_000, () => 0.5)).toBe(2_700_000);
  });
});

describe('SSRF guard', () => {
  it('allows public unicast addresses only', () => {
    for (const a of ['93.184.215.14', '8.8.8.8', '2606:4700:4700::1111'])
      expect(addressRefusal(a), a).toBeNull();
    for (const a of [
      '127.0.0.1',
      '10.0.0.1',
      '172.16.5.4',
      '192.168.1.1',
      '169.254.169.254',
      '100.64.0.1',
      '0.0.0.0',
      '255.255.255.255',
      '224.0.0.1',
      '::1',
      '::',
      'fe80::1',
      'fd00:ec2::254',
      '::ffff:127.0.0.1',
      '::ffff:10.0.0.1',
    ])
      expect(addressRefusal(a), a).toMatch(/ is a[n]? /);
  });

  it('refuses URLs that are not http(s), carry credentials, or name a private address', async () => {
    expect(await checkWebhookUrl('ftp://example.com/', false)).toMatchObject({ ok: false });
    expect(await checkWebhookUrl('javascript:alert(1)', false)).toMatchObject({ ok: false });
    expect(await checkWebhookUrl('https://u:p@93.184.215.14/', false)).toMatchObject({ ok: false });
    expect(await checkWebhookUrl('http://[::1]:8080/', false)).toMatchObject({
      ok: false,
      message: expect.stringContaining('loopback'),
    });
    expect(await checkWebhookUrl('http://localhost:8080/', false)).toMatchObject({
      ok: false,
      message: expect.stringContaining('loopback'),
    });
    expect(await checkWebhookUrl('https://93.184.215.14/hook', false)).toMatchObject({ ok: true });
    expect(await checkWebhookUrl('http://127.0.0.1:8080/hook', true)).toMatchObject({ ok: true });
  });

  it('refuses to connect to a private address at send time too (a name may resolve anew)', async () => {
    const headers = { 'webhook-id': 'x' };
    expect(
      await sendWebhook('http://127.0.0.1:9/x', headers, '{}', { timeoutMs: 500, allowPrivate: false }),
    ).toEqual({
      ok: false,
      status: null,
      error: 'refused: 127.0.0.1 is a loopback address',
    });
    const byName = await sendWebhook('http://localhost:9/x', headers, '{}', {
      timeoutMs: 500,
      allowPrivate: false,
    });
    expect(byName).toMatchObject({ ok: false, status: null, error: expect.stringContaining('refused') });
  });
});

describe('signing secrets', () => {
  it('are whsec_ secrets, encrypted at rest under the key and bound to their destination', () => {
    const key = randomBytes(32);
    const secret = newSigningSecret();
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    const stored = encryptSecret(key, 'd1', secret);
    expect(stored).not.toContain(secret.slice(6));
    expect(encryptSecret(key, 'd1', secret)).not.toBe(stored);
    expect(decryptSecret(key, 'd1', stored)).toBe(secret);
    expect(() => decryptSecret(randomBytes(32), 'd1', stored)).toThrow();
    expect(() => decryptSecret(key, 'd2', stored)).toThrow();
  });

  it('sign deliveries as the standardwebhooks package verifies them', () => {
    const secret = newSigningSecret();
    const body = JSON.stringify({ type: 'identify', traits: { vip: true } });
    const headers = signedHeaders(secret, 'sg-1-identify', body, new Date());
    expect(new Webhook(secret).verify(body, headers)).toEqual(JSON.parse(body));
    expect(() => new Webhook(newSigningSecret()).verify(body, headers)).toThrow();
    expect(() => new Webhook(secret).verify(`${body} `, headers)).toThrow();
  });
});
