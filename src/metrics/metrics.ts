// Prometheus metrics (docs/adr/0016-metrics.md). One registry per service instance, never prom-client's
// global one, so that several services in one process (the tests) keep their counts apart. Every label
// takes its values from a closed set (route patterns, status codes, error codes), never from input, so a
// client cannot grow the number of series.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ApolloServerPlugin, BaseContext } from '@apollo/server';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { AppError } from '../errors.ts';
import type { QueryTimes } from '../graph/query-times.ts';
import type { ImportObserver } from '../imports/index.ts';
import type { RetentionObserver } from '../retention/index.ts';
import type { EventOutcome, IngestObserver, QueueStats } from '../ingest/index.ts';
import type { SyncTargetStatus } from '../sync/index.ts';

/** What the metrics read from the graph at each scrape (src/graph/graph.ts). */
export interface GraphSource {
  /** Write transactions retried after a deadlock since start. */
  readonly deadlocks: number;
  /** A cheap query; rejects when Neo4j cannot answer. */
  ping(): Promise<void>;
}

/** A scrape that waits longer than this for Neo4j's answer reports it unavailable. */
export const NEO4J_CHECK_TIMEOUT_MS = 2_000;

/** Seconds; from 5 ms (health checks) to 30 s (a large batch waiting behind others). */
const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
/** Group commit takes up to 100 events per transaction (BATCH_CHUNK). */
const EVENT_BUCKETS = [1, 2, 5, 10, 25, 50, 75, 100];
const REQUEST_BUCKETS = [1, 2, 3, 5, 10, 25, 50, 100];
const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);
/** The shape of our codes (SEMANTICS.md §7) and Apollo's; anything else is counted as OTHER. */
const CODE = /^[A-Z][A-Z0-9_]{0,63}$/;

export class Metrics {
  readonly registry = new Registry();
  /** Read at scrape time; set once the composition root has built them. */
  private readonly sources: {
    graph?: GraphSource;
    queue?: () => QueueStats;
    outbox?: () => Promise<{ pending: number; oldestSeconds: number }>;
    queryTimes?: Record<'neo4j' | 'postgres', QueryTimes>;
    syncTargets?: () => Promise<SyncTargetStatus[]>;
  } = {};

  private readonly httpRequests = new Counter({
    name: 'stitchgraph_http_requests_total',
    help: 'HTTP requests answered on the main port, by method, route pattern and status',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [this.registry],
  });
  private readonly httpDuration = new Histogram({
    name: 'stitchgraph_http_request_duration_seconds',
    help: 'Time from a request arriving to its answer being sent, by method, route pattern and status',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });
  private readonly events = new Counter({
    name: 'stitchgraph_ingest_events_total',
    help: 'Events judged by ingestion (tracking API and GraphQL): applied, duplicate, suppressed (a deletion and suppression request, ADR 0027), or refused with a code',
    labelNames: ['outcome', 'code'] as const,
    registers: [this.registry],
  });
  private readonly batchesRefused = new Counter({
    name: 'stitchgraph_ingest_batches_refused_total',
    help: 'Batches refused as a whole before any item was judged, by code',
    labelNames: ['code'] as const,
    registers: [this.registry],
  });
  private readonly transactionEvents = new Histogram({
    name: 'stitchgraph_ingest_transaction_events',
    help: 'Events per group-commit transaction',
    buckets: EVENT_BUCKETS,
    registers: [this.registry],
  });
  private readonly transactionRequests = new Histogram({
    name: 'stitchgraph_ingest_transaction_requests',
    help: 'Requests sharing one group-commit transaction',
    buckets: REQUEST_BUCKETS,
    registers: [this.registry],
  });
  private readonly graphqlRefused = new Counter({
    name: 'stitchgraph_graphql_refused_operations_total',
    help: 'GraphQL operations refused before they ran (parse, validation, limits), by the code of the first error',
    labelNames: ['code'] as const,
    registers: [this.registry],
  });

  private readonly deliveryAttempts = new Counter({
    name: 'stitchgraph_destination_deliveries_total',
    help: 'Webhook delivery attempts by outcome: delivered, retry (failed, tried again later), failed (given up)',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });

  private readonly importRows = new Counter({
    name: 'stitchgraph_import_rows_total',
    help: 'Profiles CSV upload rows by outcome: applied, duplicate (a re-upload), refused',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });
  private readonly importJobs = new Counter({
    name: 'stitchgraph_import_jobs_total',
    help: 'Profiles CSV upload jobs ended, by status: DONE, FAILED',
    labelNames: ['status'] as const,
    registers: [this.registry],
  });

  private readonly retentionEvents = new Counter({
    name: 'stitchgraph_retention_events_removed_total',
    help: "Events removed by retention (docs/adr/0028), by path: batch (a space's rows deleted), partition (a month dropped)",
    labelNames: ['path'] as const,
    registers: [this.registry],
  });
  private readonly retentionPartitions = new Counter({
    name: 'stitchgraph_retention_partitions_dropped_total',
    help: 'Monthly event-table partitions dropped by retention (one per table and month)',
    registers: [this.registry],
  });

  /** Feeds the retention counters; handed to RetentionService by the composition root (docs/adr/0028). */
  readonly retention: RetentionObserver = {
    removed: (path, events) => this.retentionEvents.inc({ path }, events),
    dropped: (partitions) => this.retentionPartitions.inc(partitions),
  };

  /** Feeds the import counters; handed to ImportService by the composition root (docs/adr/0026). */
  readonly imports: ImportObserver = {
    rows: (outcome, count) => this.importRows.inc({ outcome }, count),
    finished: (status) => this.importJobs.inc({ status }),
  };

  /** Feeds the destinations' delivery counter; handed to DestinationsService by the composition root. */
  readonly deliveries = {
    attempt: (outcome: 'delivered' | 'retry' | 'failed') => this.deliveryAttempts.inc({ outcome }),
  };

  /** Feeds the ingestion counters; handed to IngestService by the composition root. */
  readonly ingest: IngestObserver = {
    outcomes: (outcomes: readonly EventOutcome[]) => {
      for (const o of outcomes) {
        if (!o.ok) this.events.inc({ outcome: 'refused', code: codeLabel(o.error?.code) });
        else
          this.events.inc({ outcome: o.suppressed ? 'suppressed' : o.duplicate ? 'duplicate' : 'applied' });
      }
    },
    batchRefused: (error: AppError) => this.batchesRefused.inc({ code: codeLabel(error.code) }),
    transaction: (events: number, requests: number) => {
      this.transactionEvents.observe(events);
      this.transactionRequests.observe(requests);
    },
  };

  constructor() {
    const sources = this.sources;
    collectDefaultMetrics({ register: this.registry });
    // Read at scrape time from the objects that already keep them: nothing on the hot path.
    let deadlocksSeen = 0;
    new Counter({
      name: 'stitchgraph_neo4j_deadlock_retries_total',
      help: 'Write transactions that lost a deadlock and were run again',
      registers: [this.registry],
      collect() {
        const now = sources.graph?.deadlocks ?? 0;
        if (now > deadlocksSeen) this.inc(now - deadlocksSeen);
        deadlocksSeen = now;
      },
    });
    new Gauge({
      name: 'stitchgraph_neo4j_up',
      help: `1 when Neo4j answered a query at scrape time within ${NEO4J_CHECK_TIMEOUT_MS} ms, else 0`,
      registers: [this.registry],
      async collect() {
        if (sources.graph !== undefined) this.set(await reachable(sources.graph, NEO4J_CHECK_TIMEOUT_MS));
      },
    });
    // Totals since start, set at scrape time; the label values are the names of query files.
    const perQuery = (name: string, help: string, read: (t: { count: number; ms: number }) => number) =>
      new Counter({
        name,
        help,
        labelNames: ['store', 'query'] as const,
        registers: [this.registry],
        collect() {
          this.reset();
          for (const store of ['neo4j', 'postgres'] as const) {
            const times = sources.queryTimes?.[store].snapshot() ?? {};
            for (const [query, t] of Object.entries(times)) this.inc({ store, query }, read(t));
          }
        },
      });
    perQuery(
      'stitchgraph_db_statements_total',
      'Statements sent since start, by store (neo4j, postgres) and named query',
      (t) => t.count,
    );
    perQuery(
      'stitchgraph_db_statement_seconds_total',
      'Seconds from sending a statement to its last row, summed since start, by store and named query',
      (t) => t.ms / 1000,
    );
    const queueGauge = (name: string, help: string, read: (s: QueueStats) => number) =>
      new Gauge({
        name,
        help,
        registers: [this.registry],
        collect() {
          if (sources.queue !== undefined) this.set(read(sources.queue()));
        },
      });
    // The outbox, read at scrape time in one statement; a failed read leaves the last values.
    let outbox: Promise<{ pending: number; oldestSeconds: number } | null> | null = null;
    const readOutbox = () =>
      (outbox ??= (sources.outbox?.() ?? Promise.resolve(null))
        .catch(() => null)
        .finally(() => setTimeout(() => (outbox = null), 0)));
    new Gauge({
      name: 'stitchgraph_destination_outbox_pending',
      help: 'Webhook deliveries waiting to be sent (PENDING), all spaces',
      registers: [this.registry],
      async collect() {
        const s = await readOutbox();
        if (s !== null) this.set(s.pending);
      },
    });
    new Gauge({
      name: 'stitchgraph_destination_outbox_lag_seconds',
      help: 'Age of the oldest webhook delivery still waiting to be sent (0 when none waits)',
      registers: [this.registry],
      async collect() {
        const s = await readOutbox();
        if (s !== null) this.set(s.oldestSeconds);
      },
    });
    queueGauge(
      'stitchgraph_ingest_queue_requests',
      'Requests waiting for a group-commit transaction, all spaces',
      (s) => s.waitingRequests,
    );
    queueGauge(
      'stitchgraph_ingest_queue_events',
      'Events in the requests waiting for a group-commit transaction, all spaces',
      (s) => s.waitingEvents,
    );
    queueGauge(
      'stitchgraph_ingest_transactions_running',
      'Group-commit transactions in flight, all spaces',
      (s) => s.running,
    );
    // Profiles Sync (docs/adr/0024-profiles-sync.md): the targets are read once per scrape for all four.
    let syncRead: { at: number; targets: Promise<SyncTargetStatus[]> } | undefined;
    const syncTargets = (): Promise<SyncTargetStatus[]> => {
      if (sources.syncTargets === undefined) return Promise.resolve([]);
      if (syncRead === undefined || Date.now() - syncRead.at > 1_000)
        syncRead = { at: Date.now(), targets: sources.syncTargets().catch(() => []) };
      return syncRead.targets;
    };
    const syncGauge = (name: string, help: string, read: (t: SyncTargetStatus) => number) =>
      new Gauge({
        name,
        help,
        labelNames: ['space', 'target', 'kind'] as const,
        registers: [this.registry],
        async collect() {
          this.reset();
          for (const t of await syncTargets())
            this.set({ space: t.space, target: t.id, kind: t.kind }, read(t));
        },
      });
    syncGauge(
      'stitchgraph_sync_lag_changes',
      "Change-log rows of the target's space that a Profiles Sync target does not have yet",
      (t) => t.lag.changes,
    );
    syncGauge(
      'stitchgraph_sync_lag_seconds',
      'Age of the oldest change-log row a Profiles Sync target does not have yet (0 when none)',
      (t) => t.lag.ms / 1000,
    );
    syncGauge(
      'stitchgraph_sync_rows',
      'Rows a Profiles Sync target holds from its current generation, as of its last sync',
      (t) => t.rowsWritten,
    );
    syncGauge(
      'stitchgraph_sync_failures',
      'Failed attempts in a row on a Profiles Sync target (0 when its last attempt succeeded)',
      (t) => t.failures,
    );
  }

  /** Profiles Sync targets' lag, rows and failures come from here (read at scrape time). */
  watchSync(targets: () => Promise<SyncTargetStatus[]>): void {
    this.sources.syncTargets = targets;
  }

  /** The destinations' outbox (pending deliveries and the oldest one's age) is read from here. */
  watchOutbox(stats: () => Promise<{ pending: number; oldestSeconds: number }>): void {
    this.sources.outbox = stats;
  }

  /** The deadlock count and Neo4j's availability come from this graph. */
  watchGraph(graph: GraphSource): void {
    this.sources.graph = graph;
  }

  /** Time per named statement of each store comes from these. */
  watchQueryTimes(times: Record<'neo4j' | 'postgres', QueryTimes>): void {
    this.sources.queryTimes = times;
  }

  /** Group commit's queue depth comes from here. */
  watchQueue(stats: () => QueueStats): void {
    this.sources.queue = stats;
  }

  /**
   * Counts and times one HTTP request once its answer is sent (or the client went away: status
   * `aborted`). `route` names the matched route's pattern and is asked only then.
   */
  observeRequest(req: IncomingMessage, res: ServerResponse, route: () => string): void {
    const end = this.httpDuration.startTimer();
    res.once('close', () => {
      let pattern: string;
      try {
        pattern = route();
      } catch {
        pattern = 'unmatched';
      }
      const labels = {
        method: METHODS.has(req.method ?? '') ? (req.method as string) : 'OTHER',
        route: pattern,
        status: res.writableFinished ? String(res.statusCode) : 'aborted',
      };
      end(labels);
      this.httpRequests.inc(labels);
    });
  }

  /**
   * Counts operations Apollo refused before running them: their answer has errors and no `data`. It
   * reads the formatted answer, so the codes are the ones clients see, whichever rule or plugin raised
   * them (src/app.ts masks any other code as INTERNAL_SERVER_ERROR).
   */
  graphqlPlugin<T extends BaseContext>(): ApolloServerPlugin<T> {
    const refused = this.graphqlRefused;
    return {
      async requestDidStart() {
        return {
          async willSendResponse({ response }) {
            if (response.body.kind !== 'single') return;
            const { data, errors } = response.body.singleResult;
            if (data !== undefined || errors === undefined || errors.length === 0) return;
            refused.inc({ code: codeLabel(errors[0]?.extensions?.code) });
          },
        };
      },
    };
  }
}

/** 1 when `ping` resolves within `timeoutMs`, else 0; never rejects. */
export async function reachable(graph: Pick<GraphSource, 'ping'>, timeoutMs: number): Promise<0 | 1> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<0>((resolve) => {
    timer = setTimeout(() => resolve(0), timeoutMs);
  });
  try {
    return await Promise.race([graph.ping().then(() => 1 as const), timeout]);
  } catch {
    return 0;
  } finally {
    clearTimeout(timer);
  }
}

function codeLabel(code: unknown): string {
  return typeof code === 'string' && CODE.test(code) ? code : 'OTHER';
}
