// Load under kill -9, for the crash tests of the computed-traits worker (computed traits and audiences):
// senders post their batches to whichever child service is up, resending what fails as Segment's
// libraries do, while the child is armed (SIGUSR2) to kill itself right after a chosen statement of the
// worker, or its commit, at seeded moments; each time, a new child starts on the same databases.
import { expect } from 'vitest';
import type { CrashChild } from './crash-child.ts';

/** One kill: after how many acknowledged batches, after a further delay, where in the worker. */
export interface Kill {
  /** The worker's statement after which the child dies. */
  after: string;
  /** Right after the statement's transaction commits, rather than right after the statement. */
  commit: boolean;
  /** Once the load is acknowledged, rather than under it (the child may then be killed idle). */
  tail: boolean;
  afterBatches: number;
  delayMs: number;
  /** Further environment for the child armed with this kill. */
  env?: Record<string, string>;
}

/** What a kill hit: where it landed, how much load was acknowledged and in flight, what it cost. */
export interface KillReport {
  tail: boolean;
  /** The statement (or ' committed') after which the child died, or 'idle' when it was killed idle. */
  after: string;
  /** Batches acknowledged and requests in flight when the child was armed, and acknowledged at the kill. */
  acked: number;
  inFlight: number;
  ackedAtKill: number;
  /** Milliseconds from arming to the kill. */
  armedMs: number;
  /** Requests that failed between the kill and the restart (in flight, or sent to the dead process). */
  failedUntilRestart: number;
  restartMs: number;
  /** What the caller counted after the kill, before the restart (pending batches, marks, changes…). */
  left: Record<string, number>;
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Sends every queue (one sender each, batches in order) to `/v1/batch` with `writeKey`, killing and
 * restarting the child as `kills` say. `start(kill)` starts a child armed with a kill (undefined: the last
 * child, never killed); `afterKill` counts what a kill left and may act before the restart is awaited
 * (e.g. define more traits). Resolves once every batch is acknowledged, with the kills' reports and the
 * answers the service gave that the test should refuse (anything but 200, 429, 503 or a lost connection),
 * how many requests failed in all, and the child still running.
 */
export async function runKilledLoad<M>(options: {
  /** One queue of batches per sender. */
  queues: M[][][];
  writeKey: string;
  kills: Kill[];
  start: (kill: Kill | undefined) => Promise<CrashChild>;
  afterKill: (index: number) => Promise<Record<string, number>>;
  onRestarted?: (index: number) => Promise<void>;
  /**
   * A pause after each acknowledged batch, per sender (ms): stretches the load over the time the child's
   * work takes to reach the armed statements (e.g. a killed sender's delivery leases running out), so that
   * kills land under the load rather than after it.
   */
  paceMs?: number;
}): Promise<{ reports: KillReport[]; refused: string[]; failed: number; target: CrashChild }> {
  const { kills } = options;
  let target = await options.start(kills[0]);
  const progress = { acked: 0, inFlight: 0, failed: 0, done: false };
  const refused: string[] = [];
  const basic = `Basic ${Buffer.from(`${options.writeKey}:`).toString('base64')}`;
  /** Posts a batch until it is acknowledged, to whichever child is up, as Segment's libraries retry. */
  const deliver = async (batch: M[]) => {
    for (;;) {
      progress.inFlight += 1;
      const outcome = await fetch(`${target.url}/v1/batch`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: basic },
        body: JSON.stringify({ batch }),
      }).then(
        async (r) => (r.status === 200 ? 'ok' : `HTTP ${r.status} ${await r.text()}`),
        () => 'connection lost',
      );
      progress.inFlight -= 1;
      if (outcome === 'ok') return;
      progress.failed += 1;
      // 429 and 503 are retried like a lost connection; anything else is an answer the test refuses.
      if (!/^(connection lost|HTTP (429|503) )/.test(outcome)) refused.push(outcome);
      if (outcome.startsWith('HTTP 4') && !outcome.startsWith('HTTP 429')) return;
      await sleep(100);
    }
  };
  const senders = Promise.all(
    options.queues.map(async (queue) => {
      for (const batch of queue) {
        await deliver(batch);
        progress.acked += 1;
        if (options.paceMs !== undefined) await sleep(options.paceMs);
      }
    }),
  ).finally(() => (progress.done = true));

  const reports: KillReport[] = [];
  for (const [k, kill] of kills.entries()) {
    while (progress.acked < kill.afterBatches && !progress.done) await sleep(5);
    await sleep(kill.delayMs);
    const failedBefore = progress.failed;
    const armed = { acked: progress.acked, inFlight: progress.inFlight, at: Date.now() };
    target.child.kill('SIGUSR2');
    // Under load the worker always has work soon; at the tail it may have done everything already, and
    // then the child is killed while idle. So is a child whose load ended before it reached the statement
    // (a loaded machine): the test's mid-stream count says how many kills may do so.
    const timeout = kill.tail ? 3_000 : 15_000;
    let how = await Promise.race([target.exited, sleep(timeout).then(() => 'still running')]);
    const died = how === 'SIGKILL' ? `${kill.after}${kill.commit ? ' committed' : ''}` : 'idle';
    if ((kill.tail || progress.done) && how === 'still running') {
      target.child.kill('SIGKILL');
      how = await target.exited;
    }
    expect(how, `child armed to die after ${kill.after}`).toBe('SIGKILL');
    const armedMs = Date.now() - armed.at;
    const ackedAtKill = progress.acked;
    const left = await options.afterKill(k);
    const restarting = Date.now();
    target = await options.start(kills[k + 1]);
    reports.push({
      tail: kill.tail,
      after: died,
      acked: armed.acked,
      inFlight: armed.inFlight,
      ackedAtKill,
      armedMs,
      failedUntilRestart: progress.failed - failedBefore,
      restartMs: Date.now() - restarting,
      left,
    });
    await options.onRestarted?.(k);
  }
  await senders;
  return { reports, refused, failed: progress.failed, target };
}
