// Target locations at rest (docs/adr/0024-profiles-sync.md): sealed with AES-256-GCM under the configured
// key, bound to the target's id, and never readable with another key or on another target.
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { SecretBox } from '../../src/sync/index.ts';

const KEY = Buffer.alloc(32, 1).toString('base64');
const URL = 'postgres://analyst:s3cret@db.internal:5432/warehouse';

describe('SecretBox', () => {
  it('seals a location so that only the same key and target open it', () => {
    const box = SecretBox.fromKey(KEY);
    const sealed = box.seal(URL, 'sync_a');
    expect(sealed).toMatch(/^v1:/);
    expect(sealed).not.toContain('s3cret');
    expect(box.seal(URL, 'sync_a')).not.toBe(sealed); // a fresh IV each time
    expect(box.open(sealed, 'sync_a')).toBe(URL);
    expect(() => box.open(sealed, 'sync_b')).toThrow(/cannot be decrypted/);
    expect(() => SecretBox.fromKey(Buffer.alloc(32, 2).toString('hex')).open(sealed, 'sync_a')).toThrow(
      /cannot be decrypted/,
    );
    const [v, iv, tag, body] = sealed.split(':');
    const tampered = [v, iv, tag, `${body?.slice(0, -2)}AA`].join(':');
    expect(() => box.open(tampered, 'sync_a')).toThrow(/cannot be decrypted/);
  });

  it('fingerprints equal locations alike, under the key only', () => {
    const box = SecretBox.fromKey(KEY);
    expect(box.fingerprint(URL)).toBe(SecretBox.fromKey(KEY).fingerprint(URL));
    expect(box.fingerprint(URL)).not.toBe(box.fingerprint(`${URL}2`));
    expect(box.fingerprint(URL)).not.toBe(
      SecretBox.fromKey(Buffer.alloc(32, 3).toString('base64')).fingerprint(URL),
    );
  });

  it('takes a 32-byte key as base64 or hex, and config refuses any other', () => {
    expect(SecretBox.isKey(KEY)).toBe(true);
    expect(SecretBox.isKey('ab'.repeat(32))).toBe(true);
    expect(SecretBox.isKey(Buffer.alloc(16).toString('base64'))).toBe(false);
    expect(loadConfig({ SYNC_SECRET_KEY: KEY }).sync).toMatchObject({ secretKey: KEY, intervalMs: 10_000 });
    expect(loadConfig({}).sync).toMatchObject({ secretKey: undefined, intervalMs: 10_000 });
    expect(() => loadConfig({ SYNC_SECRET_KEY: 'short' })).toThrow(/SYNC_SECRET_KEY must be 32 bytes/);
    expect(() => loadConfig({ SYNC_INTERVAL_MS: '0' })).toThrow(/SYNC_INTERVAL_MS must be a whole number/);
  });
});
