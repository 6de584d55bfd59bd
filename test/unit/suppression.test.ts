// The in-memory suppression set (docs/adr/0027-deletion-and-suppression.md): read once per refresh
// interval, shared by concurrent askers, local additions in effect at once and kept across a read that
// started before their commit.
import { describe, expect, it } from 'vitest';
import { SuppressionList } from '../../src/privacy/index.ts';

function harness(refreshMs = 1_000) {
  let now = 0;
  let stored: string[] = [];
  const reads: { resolve: () => void }[] = [];
  const list = new SuppressionList(
    () =>
      new Promise<string[]>((resolve) => {
        const snapshot = [...stored];
        reads.push({ resolve: () => resolve(snapshot) });
      }),
    refreshMs,
    () => now,
  );
  return {
    list,
    reads,
    set: (keys: string[]) => (stored = keys),
    advance: (ms: number) => (now += ms),
  };
}

describe('SuppressionList', () => {
  it('reads a space once per refresh interval, one read shared by concurrent askers', async () => {
    const h = harness();
    h.set(['user_id:a']);
    const first = [h.list.keys('s'), h.list.keys('s')];
    expect(h.reads).toHaveLength(1);
    h.reads[0]?.resolve();
    for (const keys of await Promise.all(first)) expect([...keys]).toEqual(['user_id:a']);
    h.set(['user_id:a', 'user_id:b']);
    h.advance(999);
    expect([...(await h.list.keys('s'))]).toEqual(['user_id:a']);
    expect(h.reads).toHaveLength(1);
    h.advance(1);
    const again = h.list.keys('s');
    h.reads[1]?.resolve();
    expect([...(await again)].sort()).toEqual(['user_id:a', 'user_id:b']);
  });

  it('keeps a key added here while a read that predates it runs, and forgets on invalidate', async () => {
    const h = harness();
    const warm = h.list.keys('s');
    h.reads[0]?.resolve();
    await warm;
    h.advance(1_000);
    const reading = h.list.keys('s');
    h.list.add('s', ['email:x@y.z']);
    h.reads[1]?.resolve();
    expect([...(await reading)]).toEqual(['email:x@y.z']);
    h.list.invalidate('s');
    const fresh = h.list.keys('s');
    h.reads[2]?.resolve();
    expect([...(await fresh)]).toEqual([]);
  });
});
