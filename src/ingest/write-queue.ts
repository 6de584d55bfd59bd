// Group commit for ingestion (docs/adr/0012-group-commit.md). Requests of one space that arrive while
// its transactions are busy wait in a queue; the next transaction takes as many of them as fit in
// `maxEvents`, in arrival order, and every request is answered when that transaction has committed. A
// space has at most `writers` transactions in flight in this process, so concurrent clients no longer
// mean as many concurrent transactions contending for the same locks; each transaction pays its fixed
// cost (round trips, commit) for more events.
import { ServiceUnavailableError } from '../errors.ts';
import type { ApplyResult } from '../identity/index.ts';
import type { ValidEvent } from './event.ts';

/** Transactions in flight per space when nothing else is configured (INGEST_WRITERS). */
export const DEFAULT_WRITERS = 4;

export type ApplyBatch = (space: string, events: ValidEvent[]) => Promise<ApplyResult[]>;

export interface WriteQueueOptions {
  /** Events per transaction; a request is never split, so a larger one runs alone. */
  maxEvents: number;
  /** Transactions in flight per space. */
  writers: number;
  /** Called as each transaction starts, with its size (metrics; docs/adr/0016-metrics.md). */
  onTransaction?: (events: number, requests: number) => void;
}

/** What waits and what runs, across every space of this process (for a metrics scrape). */
export interface QueueStats {
  /** Requests (chunks of up to `maxEvents` events) waiting for a transaction. */
  waitingRequests: number;
  /** Events in those requests. */
  waitingEvents: number;
  /** Transactions in flight. */
  running: number;
}

interface Job {
  events: ValidEvent[];
  resolve: (results: ApplyResult[]) => void;
  reject: (error: unknown) => void;
}

interface SpaceQueue {
  jobs: Job[];
  running: number;
}

export class WriteQueue {
  private readonly spaces = new Map<string, SpaceQueue>();

  constructor(
    private readonly apply: ApplyBatch,
    private readonly options: WriteQueueOptions,
  ) {}

  /** Applies the events as one unit, in order, sharing a transaction with other waiting requests. */
  submit(space: string, events: ValidEvent[]): Promise<ApplyResult[]> {
    if (events.length === 0) return Promise.resolve([]);
    let queue = this.spaces.get(space);
    if (queue === undefined) {
      queue = { jobs: [], running: 0 };
      this.spaces.set(space, queue);
    }
    const done = new Promise<ApplyResult[]>((resolve, reject) => {
      queue.jobs.push({ events, resolve, reject });
    });
    if (queue.running < this.options.writers) {
      queue.running += 1;
      void this.drain(space, queue);
    }
    return done;
  }

  stats(): QueueStats {
    const stats: QueueStats = { waitingRequests: 0, waitingEvents: 0, running: 0 };
    for (const queue of this.spaces.values()) {
      stats.waitingRequests += queue.jobs.length;
      for (const job of queue.jobs) stats.waitingEvents += job.events.length;
      stats.running += queue.running;
    }
    return stats;
  }

  /** One writer: takes what fits into a transaction until the queue is empty. */
  private async drain(space: string, queue: SpaceQueue): Promise<void> {
    try {
      for (;;) {
        const jobs = this.take(queue);
        if (jobs.length === 0) return;
        await this.run(space, queue, jobs);
      }
    } finally {
      queue.running -= 1;
      if (queue.running === 0 && queue.jobs.length === 0) this.spaces.delete(space);
    }
  }

  private take(queue: SpaceQueue): Job[] {
    const taken: Job[] = [];
    let events = 0;
    while (queue.jobs.length > 0) {
      const next = queue.jobs[0] as Job;
      if (taken.length > 0 && events + next.events.length > this.options.maxEvents) break;
      taken.push(next);
      events += next.events.length;
      queue.jobs.shift();
    }
    return taken;
  }

  private async run(space: string, queue: SpaceQueue, jobs: Job[]): Promise<void> {
    try {
      const events = jobs.flatMap((j) => j.events);
      this.options.onTransaction?.(events.length, jobs.length);
      const results = await this.apply(space, events);
      let at = 0;
      for (const job of jobs) {
        job.resolve(results.slice(at, at + job.events.length));
        at += job.events.length;
      }
    } catch (error) {
      if (error instanceof ServiceUnavailableError && error.reason === 'unreachable') {
        // The database has been unreachable for the whole bound (ADR 0017): trying each request alone,
        // or the requests still waiting, would only make them wait again. All are refused now, and their
        // clients send them again (the same messageId is applied once).
        const waiting = queue.jobs.splice(0);
        for (const job of [...jobs, ...waiting]) job.reject(error);
        return;
      }
      if (jobs.length === 1) {
        (jobs[0] as Job).reject(error);
        return;
      }
      // The shared transaction rolled back: nothing of it was written. Each request is tried on its own,
      // so that one request's failure is not every request's.
      for (const job of jobs) {
        try {
          this.options.onTransaction?.(job.events.length, 1);
          job.resolve(await this.apply(space, job.events));
        } catch (alone) {
          job.reject(alone);
        }
      }
    }
  }
}
