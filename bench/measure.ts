// Load shapes and statistics. Closed loop: N clients, each sends its next request when the previous one
// answers, which measures capacity. Open loop: requests leave on a wall-clock schedule whatever the
// answers do, and latency counts from the scheduled time, so a stall shows up in the tail instead of
// silently slowing the sender (coordinated omission). Every loop is bounded in time and in count.
import { sleep, type StackSample } from './stack.ts';

export interface LoopResult {
  /** Requests completed inside the measured window. */
  ops: number;
  /** Units (events, merges, lookups) completed inside the measured window. */
  units: number;
  /** Units completed over the whole loop, warm-up and drain included (what the API's CPU time was spent on). */
  totalUnits: number;
  /** The work ran out before the window's end (a closed loop's pre-built requests), ending it early. */
  exhausted: boolean;
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
  const exhausted = exhaustedAt !== null && exhaustedAt < windowEnd;
  if (o.drain === true) return { ...acc.result(lastDone), exhausted };
  // Work that ran out (or a count bound) ends the window early.
  const end = Math.min(windowEnd, Math.max(windowStart, exhaustedAt ?? performance.now()));
  return { ...acc.result(end), exhausted };
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

/** How many requests an open loop at `rate` sends over its warm-up and window (for pre-built bodies). */
export function scheduledRequests(o: { rate: number; warmupMs: number; durationMs: number }): number {
  return Math.floor(((o.warmupMs + o.durationMs) * o.rate) / 1000);
}

export async function openLoop(o: OpenLoopOptions): Promise<OpenLoopResult> {
  const interval = 1000 / o.rate;
  const start = performance.now();
  const windowStart = start + o.warmupMs;
  const windowEnd = windowStart + o.durationMs;
  const acc = new Accumulator(windowStart, windowEnd);
  const total = scheduledRequests(o);
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
  return { ...acc.result(windowEnd), exhausted: false, late, scheduled: total };
}

class Accumulator {
  private ops = 0;
  private units = 0;
  private totalUnits = 0;
  private readonly latencies: number[] = [];
  private errors = 0;
  private firstError: string | null = null;

  constructor(
    private readonly windowStart: number,
    private readonly windowEnd: number,
  ) {}

  done(started: number, finished: number, units: number): void {
    this.totalUnits += units;
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

  result(end: number): Omit<LoopResult, 'exhausted'> {
    return {
      ops: this.ops,
      units: this.units,
      totalUnits: this.totalUnits,
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

/** A closed loop's op over requests built beforehand: sends them in order; null (the end) when used up. */
export function fromPool<T>(
  items: readonly T[],
  send: (item: T) => Promise<number>,
): () => Promise<number | null> {
  let next = 0;
  return async () => (next < items.length ? send(items[next++] as T) : null);
}

/** Builds `count` items before a timed phase. */
export function prebuild<T>(count: number, make: (i: number) => T): T[] {
  return Array.from({ length: count }, (_, i) => make(i));
}

type Processes = keyof StackSample['cpuMs'];

/**
 * Each process's CPU over a phase: in % of one core, and in µs per event (or unit) the phase completed,
 * warm-up included, since the CPU was spent on those too.
 */
export function phaseCpu(before: StackSample, after: StackSample, wallMs: number, units: number) {
  const names = Object.keys(after.cpuMs) as Processes[];
  const delta = (name: Processes) => {
    const a = before.cpuMs[name];
    const b = after.cpuMs[name];
    return a === null || b === null ? null : b - a;
  };
  return {
    percentOfOneCore: Object.fromEntries(
      names.map((n) => {
        const d = delta(n);
        return [n, d === null ? null : round((d / wallMs) * 100)];
      }),
    ) as Record<Processes, number | null>,
    usPerEvent: Object.fromEntries(
      names.map((n) => {
        const d = delta(n);
        return [n, d === null || units === 0 ? null : round((d * 1000) / units)];
      }),
    ) as Record<Processes, number | null>,
  };
}
