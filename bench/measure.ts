// Load shapes and statistics. Closed loop: N clients, each sends its next request when the previous one
// answers, which measures capacity. Open loop: requests leave on a wall-clock schedule whatever the
// answers do, and latency counts from the scheduled time, so a stall shows up in the tail instead of
// silently slowing the sender (coordinated omission). Every loop is bounded in time and in count.
import { sleep } from './stack.ts';

export interface LoopResult {
  /** Requests completed inside the measured window. */
  ops: number;
  /** Units (events, merges, lookups) completed inside the measured window. */
  units: number;
  /** The measured window, warm-up excluded. */
  windowMs: number;
  /** Per-request latencies (ms) of requests started inside the window. */
  latencies: number[];
  errors: number;
  firstError: string | null;
}

export interface ClosedLoopOptions {
  clients: number;
  warmupMs: number;
  durationMs: number;
  /** Stop after this many requests in all, warm-up included. */
  maxOps: number;
  /**
   * Count-bounded instead: the window runs from the end of the warm-up until the last request answers,
   * and every request started in it counts. For requests so long that a fixed window would cut most of
   * them (W2's ~450 KB batches).
   */
  drain?: boolean;
  /** One request of client `c`; resolves to the units it did, or null when there is no more work. */
  op: (client: number) => Promise<number | null>;
}

export async function closedLoop(o: ClosedLoopOptions): Promise<LoopResult> {
  const start = performance.now();
  const windowStart = start + o.warmupMs;
  const windowEnd = windowStart + o.durationMs;
  const acc = new Accumulator(windowStart, o.drain === true ? Number.POSITIVE_INFINITY : windowEnd);
  let issued = 0;
  let lastDone = windowStart;
  let exhaustedAt: number | null = null;
  const client = async (c: number): Promise<void> => {
    while (performance.now() < windowEnd && issued < o.maxOps && exhaustedAt === null) {
      issued += 1;
      const t0 = performance.now();
      try {
        const units = await o.op(c);
        if (units === null) {
          exhaustedAt ??= performance.now();
          return;
        }
        lastDone = performance.now();
        acc.done(t0, lastDone, units);
      } catch (error) {
        acc.failed(error);
        await sleep(20);
      }
    }
  };
  await Promise.all(Array.from({ length: o.clients }, (_, c) => client(c)));
  if (o.drain === true) return acc.result(lastDone);
  // Work that ran out (or a count bound) ends the window early.
  const end = Math.min(windowEnd, Math.max(windowStart, exhaustedAt ?? performance.now()));
  return acc.result(end);
}

export interface OpenLoopOptions {
  /** Requests per second. */
  rate: number;
  warmupMs: number;
  durationMs: number;
  /** Requests in flight at most; past it, requests wait for a slot (their wait counts as latency). */
  maxInFlight: number;
  /** Request number `i`; resolves to the units it did. */
  op: (i: number) => Promise<number>;
}

export interface OpenLoopResult extends LoopResult {
  /** Requests that left more than 10 ms after their scheduled time (the sender or the slots fell behind). */
  late: number;
  scheduled: number;
}

export async function openLoop(o: OpenLoopOptions): Promise<OpenLoopResult> {
  const interval = 1000 / o.rate;
  const start = performance.now();
  const windowStart = start + o.warmupMs;
  const windowEnd = windowStart + o.durationMs;
  const acc = new Accumulator(windowStart, windowEnd);
  const total = Math.floor((o.warmupMs + o.durationMs) / interval);
  const running = new Set<Promise<void>>();
  let late = 0;
  for (let i = 0; i < total; i++) {
    const scheduled = start + i * interval;
    const wait = scheduled - performance.now();
    if (wait > 1) await sleep(wait);
    while (running.size >= o.maxInFlight) await Promise.race(running);
    if (performance.now() - scheduled > 10) late += 1;
    const p = o.op(i).then(
      (units) => acc.done(scheduled, performance.now(), units),
      (error: unknown) => acc.failed(error),
    );
    const tracked = p.finally(() => running.delete(tracked));
    running.add(tracked);
  }
  await Promise.all(running);
  return { ...acc.result(windowEnd), late, scheduled: total };
}

class Accumulator {
  private ops = 0;
  private units = 0;
  private readonly latencies: number[] = [];
  private errors = 0;
  private firstError: string | null = null;

  constructor(
    private readonly windowStart: number,
    private readonly windowEnd: number,
  ) {}

  done(started: number, finished: number, units: number): void {
    const counts =
      this.windowEnd === Number.POSITIVE_INFINITY
        ? started >= this.windowStart
        : finished >= this.windowStart && finished <= this.windowEnd;
    if (counts) {
      this.ops += 1;
      this.units += units;
    }
    if (started >= this.windowStart && started <= this.windowEnd) this.latencies.push(finished - started);
  }

  failed(error: unknown): void {
    this.errors += 1;
    this.firstError ??= error instanceof Error ? error.message : String(error);
  }

  result(end: number): LoopResult {
    return {
      ops: this.ops,
      units: this.units,
      windowMs: Math.max(1, end - this.windowStart),
      latencies: this.latencies,
      errors: this.errors,
      firstError: this.firstError,
    };
  }
}

/** Nearest-rank percentile (p in 0..100) of unsorted samples; NaN when there are none. */
export function percentile(samples: readonly number[], p: number): number {
  if (samples.length === 0) return Number.NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1] as number;
}

export const median = (samples: readonly number[]): number => percentile(samples, 50);

export const perSecond = (r: LoopResult): number => (r.units * 1000) / r.windowMs;

/** Rounds for reporting: 3 significant digits below 100, whole numbers above. */
export function round(n: number): number {
  if (!Number.isFinite(n)) return n;
  if (Math.abs(n) >= 100) return Math.round(n);
  return Number(n.toPrecision(3));
}
