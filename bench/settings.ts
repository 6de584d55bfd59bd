// Sizes and durations of the two modes, and what every workload is handed.
import type { ApiClient } from './client.ts';
import type { Population } from './events.ts';
import type { SpaceKeys, Stack } from './stack.ts';

export type Mode = 'quick' | 'full';

export interface Phase {
  warmupMs: number;
  durationMs: number;
}

export interface ModeSettings {
  /** Seeded profiles and events of history in the main space. */
  profiles: number;
  events: number;
  /** Concurrent clients of the closed-loop workloads (API and raw baseline alike). */
  clients: number;
  ingest: Phase;
  /**
   * The rate a closed-loop ingest phase's requests are pre-built for (events/s over its warm-up and window):
   * bodies are serialised before the phase, so the load generator only sends bytes while it runs. A phase
   * that uses them all up ends its window there and says so (`exhausted`).
   */
  poolEventsPerSec: number;
  /** W2: clients, measured requests per client (after one warm-up each), and a time bound. */
  largeBatches: { clients: number; requests: number; maxMs: number };
  freshness: Phase;
  /** Closed-loop merges: pairs seeded for it, and the time it may take. */
  merges: Phase & { pairs: number };
  /** Single merges timed per case (median taken). */
  mergeSamples: number;
  /** Merges timed per history case, and the events of each profile in the big case. */
  historySamples: number;
  bigHistory: number;
  lookups: Phase;
  mixed: Phase;
  /** Unmeasured load before the first workload, so that Neo4j's JIT has compiled the hot paths. */
  warmupMs: number;
  /** Heap and page cache of the benchmark's Neo4j. */
  heap: string;
  pageCache: string;
  /**
   * The benchmark's PostgreSQL's shared_buffers, sized as Neo4j's page cache is: the full run's event store
   * (3-4 GB) is read from shared buffers rather than copied in from the operating system's cache page by
   * page (docs/adr/0011-benchmarks.md).
   */
  sharedBuffers: string;
}

/** Sized for a 2-core machine with 24 GiB: quick stays well under its 8-minute deadline. */
export const MODES: Record<Mode, ModeSettings> = {
  quick: {
    profiles: 5_000,
    events: 50_000,
    clients: 8,
    ingest: { warmupMs: 2_000, durationMs: 10_000 },
    poolEventsPerSec: 4_000,
    largeBatches: { clients: 4, requests: 2, maxMs: 60_000 },
    freshness: { warmupMs: 2_000, durationMs: 10_000 },
    merges: { warmupMs: 2_000, durationMs: 8_000, pairs: 2_000 },
    mergeSamples: 5,
    historySamples: 3,
    bigHistory: 10_000,
    lookups: { warmupMs: 2_000, durationMs: 8_000 },
    mixed: { warmupMs: 2_000, durationMs: 10_000 },
    warmupMs: 20_000,
    heap: '4g',
    pageCache: '2g',
    sharedBuffers: '1GB',
  },
  full: {
    profiles: 100_000,
    events: 1_000_000,
    clients: 8,
    ingest: { warmupMs: 10_000, durationMs: 60_000 },
    poolEventsPerSec: 5_000,
    largeBatches: { clients: 4, requests: 10, maxMs: 300_000 },
    freshness: { warmupMs: 5_000, durationMs: 60_000 },
    merges: { warmupMs: 5_000, durationMs: 60_000, pairs: 30_000 },
    mergeSamples: 9,
    historySamples: 3,
    bigHistory: 100_000,
    lookups: { warmupMs: 5_000, durationMs: 60_000 },
    mixed: { warmupMs: 5_000, durationMs: 60_000 },
    warmupMs: 240_000,
    heap: '4g',
    pageCache: '6g',
    sharedBuffers: '4GB',
  },
};

/** Events per request of W1, W3 and W6. */
export const BATCH_EVENTS = 15;
/** Target JSON size of a W2 request (the tracking API takes up to 500 KB). */
export const LARGE_BATCH_BYTES = 450_000;
/** The fixed seed of every generator in a run. */
export const SEED = 20_260_601;
/** Users of the main space kept out of the load, for W3's and W7's visibility probes. */
export const PROBE_USERS = 256;

export interface RunContext {
  mode: Mode;
  settings: ModeSettings;
  stack: Stack;
  /** The seeded main space and its keys, and a client of the API holding them. */
  main: SpaceKeys;
  client: ApiClient;
  /** Seeded users: [0, loadUsers) take load; [loadUsers, users.count) are W3's and W7's probes. */
  users: Population;
  loadUsers: number;
  log: (msg: string) => void;
}
