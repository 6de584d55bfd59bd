// Drives a test's own computed-traits worker to rest (docs/adr/0021-computed-traits.md): the files that
// run the worker in-process (catchUp) rather than through a service wait for the same condition.
import type { ComputedTraitsService } from '../../src/computed/index.ts';

/**
 * Drives `computed` until every computed trait and audience of `space` is LIVE and one more pass marks
 * and recomputes nothing; throws after 400 passes (about 10 s of waiting, more with the passes' work).
 */
export async function settleComputed(computed: ComputedTraitsService, space: string): Promise<void> {
  for (let i = 0; i < 400; i++) {
    await computed.catchUp();
    const all = [...(await computed.list(space)), ...(await computed.audiences(space))];
    if (all.every((c) => c.status === 'LIVE')) {
      const { marked, recomputed } = await computed.catchUp();
      if (marked === 0 && recomputed === 0) return;
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error('computed traits did not settle');
}
