// Composition root: config → Neo4j and PostgreSQL (the configured ones, or local ones we start) →
// driver and pool → migrations → services → HTTP, then the background work of the two-store commit
// (recovery, marker sweeping, partitions ahead). src/server.ts runs it for `npm start`; tests start it the
// same way.
import type { Config } from './config.ts';
import { ServiceUnavailableError } from './errors.ts';
import { createApp, type App } from './app.ts';
import { createDriver, Graph, migrate, QueryRegistry } from './graph/index.ts';
import { IDENTITY_QUERIES } from './identity/index.ts';
import { trackingApi } from './ingest/index.ts';
import type { Logger } from './log.ts';
import { Metrics, startMetricsServer } from './metrics/index.ts';
import { PROFILE_QUERIES, profileApi } from './profiles/index.ts';
import { createServices, type Services } from './services.ts';
import { SPACE_QUERIES } from './spaces/index.ts';
import { startLocalNeo4j, type LocalNeo4j } from '../tools/neo4j/launcher.ts';
import { startLocalPostgres } from '../tools/postgres/launcher.ts';
import { EVENT_QUERIES, LEGACY_MIGRATION_QUERIES, LEGACY_MIGRATION_SQL } from './events/index.ts';
import { AUDIENCE_GRAPH_QUERIES, COMPUTED_QUERIES } from './computed/index.ts';
import { DESTINATION_QUERIES } from './destinations/index.ts';
import { IMPORT_QUERIES, importApi } from './imports/index.ts';
import { SYNC_QUERIES, type SyncStep, type TargetKind } from './sync/index.ts';
import { SQL_TRAIT_QUERIES } from './sql-traits/index.ts';
import { PRIVACY_GRAPH_QUERIES, PRIVACY_QUERIES } from './privacy/index.ts';
import { RETENTION_QUERIES } from './retention/index.ts';
import { RECOVERY_AGE_MS, type CommitStep } from './ingest/index.ts';
import { Database } from './postgres/database.ts';
import type { QueryTime } from './graph/query-times.ts';
import { ensurePartitions, migrateDatabase, SQL_DIR } from './postgres/migrations.ts';
import pg from 'pg';

/** How often the recovery pass, the marker sweep and the partitions check run (docs/adr/0018-event-store.md). */
const HOUSEKEEPING_MS = 10_000;
/** A running import writes its counts at least every second; one silent this long lost its process. */
const IMPORT_ABANDONED_MS = 2 * 60_000;

export const REQUIRED_QUERIES = [
  ...IDENTITY_QUERIES,
  ...PROFILE_QUERIES,
  ...SPACE_QUERIES,
  ...LEGACY_MIGRATION_QUERIES,
  ...AUDIENCE_GRAPH_QUERIES,
  ...PRIVACY_GRAPH_QUERIES,
  'graph/await-indexes',
];

/** The event store's named statements: a missing file fails the boot. */
export const REQUIRED_SQL = [
  ...new Set([
    ...EVENT_QUERIES,
    ...LEGACY_MIGRATION_SQL,
    ...COMPUTED_QUERIES,
    ...DESTINATION_QUERIES,
    ...SYNC_QUERIES,
    ...SQL_TRAIT_QUERIES,
    ...IMPORT_QUERIES,
    ...PRIVACY_QUERIES,
    ...RETENTION_QUERIES,
  ]),
];

/** Folders of sql/ that hold no event-store statements: migrations, and the sync targets' dialects. */
export const NOT_EVENT_STORE_SQL = ['migrations', 'targets'];

export interface Service {
  app: App;
  services: Services;
  /** Write transactions retried after a deadlock since start (benchmarks report it). */
  deadlocks(): number;
  /** Statements and milliseconds per named query since start, by store (benchmarks report them). */
  queryTimes(): { neo4j: Record<string, QueryTime>; postgres: Record<string, QueryTime> };
  url: string;
  /** Prometheus scrape URL on the metrics port (docs/adr/0016-metrics.md); undefined with METRICS_PORT=off. */
  metricsUrl: string | undefined;
  stop(): Promise<void>;
}

export interface StartOptions {
  /** Called after each step of every batch's two-store commit (the crash tests kill the process there). */
  onCommitStep?: (step: CommitStep) => void;
  /** Called after each step of every Profiles Sync transaction (the sync crash tests kill there). */
  onSyncStep?: (step: SyncStep, kind: TargetKind) => void;
}

export async function startService(
  config: Config,
  logger: Logger,
  options: StartOptions = {},
): Promise<Service> {
  const cleanups: { name: string; run: () => Promise<void> }[] = [];
  const stop = async () => {
    for (const cleanup of cleanups.reverse()) {
      try {
        logger.debug('stopping', { component: cleanup.name });
        await cleanup.run();
        logger.info('stopped', { component: cleanup.name });
      } catch (error) {
        logger.error('shutdown step failed', { component: cleanup.name, error });
      }
    }
  };
  try {
    let connection = {
      uri: config.neo4j.uri ?? '',
      user: config.neo4j.user,
      password: config.neo4j.password,
    };
    if (config.neo4j.uri === undefined) {
      logger.info('NEO4J_URI is not set: starting a local Neo4j', { home: config.localNeo4j.home });
      const local: LocalNeo4j = await startLocalNeo4j({
        ...config.localNeo4j,
        log: (msg) => logger.info(msg, { component: 'neo4j' }),
      });
      cleanups.push({ name: 'neo4j', run: () => local.stop() });
      connection = { uri: local.uri, user: local.user, password: local.password };
      logger.info('local Neo4j is up', { bolt: local.uri, browser: `${local.httpUrl}/browser/` });
    }
    const database = await openDatabase(config, logger, cleanups);
    const driver = createDriver({ ...connection, unavailableTimeoutMs: config.neo4j.unavailableTimeoutMs });
    cleanups.push({ name: 'driver', run: () => driver.close() });
    const queries = await QueryRegistry.load(undefined, REQUIRED_QUERIES);
    const graph = new Graph(driver, queries, {
      database: config.neo4j.database,
      unavailableTimeoutMs: config.neo4j.unavailableTimeoutMs,
    });
    // One registry per service (docs/adr/0016-metrics.md), fed by the graph, ingestion and the app.
    const metrics = new Metrics();
    metrics.watchGraph(graph);
    metrics.watchQueryTimes({ neo4j: graph.queryTimes, postgres: database.queryTimes });
    const services = createServices(graph, database, {
      ingestWriters: config.ingest.writersPerSpace,
      ingestObserver: metrics.ingest,
      importObserver: metrics.imports,
      computedTraitsPerSpace: config.computed.traitsPerSpace,
      computedExpressionsPerDefinition: config.computed.expressionsPerDefinition,
      audiencesPerSpace: config.computed.audiencesPerSpace,
      onComputedError: computedErrors(logger),
      destinations: {
        secretKey: config.destinations.secretKey ?? null,
        allowPrivateUrls: config.destinations.allowPrivateUrls,
        maxAttempts: config.destinations.maxAttempts,
        retryBaseMs: config.destinations.retryBaseMs,
        retryMaxMs: config.destinations.retryMaxMs,
        timeoutMs: config.destinations.timeoutMs,
        maxPerSpace: config.destinations.perSpace,
      },
      onDestinationsError: workerErrors(logger, 'destinations'),
      deliveryObserver: metrics.deliveries,
      ...(options.onCommitStep === undefined ? {} : { onCommitStep: options.onCommitStep }),
      ...(config.sync.secretKey === undefined ? {} : { syncSecretKey: config.sync.secretKey }),
      syncSettings: { intervalMs: config.sync.intervalMs },
      syncHooks: {
        onError: (error, target) =>
          logger.warn('a sync to a warehouse failed; it is tried again', { target, error }),
        ...(options.onSyncStep === undefined ? {} : { onStep: options.onSyncStep }),
      },
      sqlTraitSettings: {
        timeoutMs: config.sync.sqlTraitTimeoutMs,
        maxRows: config.sync.sqlTraitMaxRows,
      },
      sqlTraitHooks: { onError: workerErrors(logger, 'SQL traits') },
      privacyHooks: {
        onError: (error, regulation) =>
          regulation === null
            ? logger.warn('looking for unfinished deletion requests failed; it runs again', { error })
            : logger.error('a deletion or suppression request failed', { regulation, error }),
      },
      retentionSettings: { intervalMs: config.retention.intervalMs, batchSize: config.retention.batchSize },
      retentionObserver: metrics.retention,
      retentionHooks: {
        onError: workerErrors(logger, 'retention'),
        onRun: (run) => logger.info('retention removed old events', { ...run }),
      },
    });
    // Fast-path bookkeeping still in memory reaches the graph before the driver closes.
    cleanups.push({ name: 'activity', run: () => services.identity.close() });
    metrics.watchQueue(() => services.ingest.queueStats());
    metrics.watchOutbox(() => services.destinations.outboxStats());
    metrics.watchSync(() => services.sync.targets());
    const app = await createApp({
      graph,
      database,
      services,
      logger,
      graphql: config.graphql,
      // The import's paths first: they are under the Profile API's /v1/spaces/ prefix.
      routes: [
        trackingApi({ services, logger, config: config.tracking }),
        importApi(services, logger),
        profileApi(services, logger),
      ],
      metrics,
    });
    cleanups.push({ name: 'http', run: () => app.close() });
    await new Promise<void>((resolve, reject) => {
      app.server.once('error', reject);
      app.server.listen(config.port, config.host, () => resolve());
    });
    const address = app.server.address();
    const port = typeof address === 'object' && address !== null ? address.port : config.port;
    const url = `http://${config.host === '0.0.0.0' ? 'localhost' : config.host}:${port}`;
    let metricsUrl: string | undefined;
    if (config.metrics.port !== undefined) {
      const metricsServer = await startMetricsServer(
        metrics,
        { ...config.metrics, port: config.metrics.port },
        logger,
      );
      cleanups.push({ name: 'metrics', run: () => metricsServer.close() });
      metricsUrl = metricsServer.url;
    }

    const applied = await migrate(graph);
    const sqlApplied = await migrateDatabase(database);
    // Batches a crash left half written: finished before the service says it is ready.
    const recovered = await services.commit.recover(new Date());
    if (recovered > 0) logger.warn('finished batches that a crash left half written', { batches: recovered });
    const legacy = await services.legacyEvents.pending();
    if (legacy.eventsLeft || legacy.unfinished) {
      // Issue 12 §8: events of the version before the event store are not read until they are moved.
      logger.warn(
        'the graph holds events of an earlier version: run `npm run stitchgraph -- events migrate`',
        legacy,
      );
    }
    const bootstrap = await services.spaces.bootstrap();
    if (bootstrap !== null) {
      // Shown once: only their hashes are stored (issue #5). Never an open server.
      logger.warn('created the default space and its first keys; store them now, they are not shown again', {
        space: bootstrap.space,
        writeKey: bootstrap.writeKey,
        accessToken: bootstrap.token,
      });
    }
    for (const unusable of await services.identity.unusablePatterns()) {
      // Set before patterns were checked with RE2: such a pattern never matches until an admin replaces it.
      logger.warn('a blocked-value pattern cannot be used (RE2); it never matches until replaced', unusable);
    }
    app.setReady(true);
    logger.info('stitchgraph is ready', {
      graphql: `${url}/graphql`,
      metrics: metricsUrl ?? 'off',
      migrations: applied.length + sqlApplied.length,
    });
    const housekeeping = startHousekeeping(services, database, logger);
    cleanups.push({ name: 'housekeeping', run: () => housekeeping.stop() });
    // Computed traits follow the change log from here on (docs/adr/0021-computed-traits.md).
    services.computed.start();
    cleanups.push({ name: 'computed traits', run: () => services.computed.stop() });
    // Deletion requests whose process went away are taken over (docs/adr/0027-deletion-and-suppression.md).
    services.privacy.start();
    cleanups.push({ name: 'deletion requests', run: () => services.privacy.stop() });
    // Events older than their space's retention go, with what they counted for (docs/adr/0028-retention.md).
    services.retention.start();
    cleanups.push({ name: 'retention', run: () => services.retention.stop() });
    // Webhook destinations send from their durable outbox (docs/adr/0023); off without a secret key.
    services.destinations.start();
    cleanups.push({ name: 'destinations', run: () => services.destinations.stop() });
    if (!services.destinations.enabled)
      logger.info('webhook destinations are off: DESTINATION_SECRET_KEY is not set');
    // Profiles Sync follows the change log into the warehouses (docs/adr/0024-profiles-sync.md).
    // Only with the key that opens the targets: a process without it would record an error on each.
    if (config.sync.secretKey !== undefined) {
      services.sync.start();
      cleanups.push({ name: 'profiles sync', run: () => services.sync.stop() });
      // SQL traits read the targets on their schedules (docs/adr/0025-sql-traits.md); one slot runs once
      // across processes.
      services.sqlTraits.start();
      cleanups.push({ name: 'sql traits', run: () => services.sqlTraits.stop() });
    }
    // One-off and resumable (docs/adr/0014-input-hygiene.md): emails stored before §8's normalisation.
    let stopping = false;
    const emails = services.identity
      .renormaliseEmails({
        apply: (space, events) => services.commit.apply(space, events),
        stopped: () => stopping,
        // STYLE.md §16: long work is visible; one line a page of 500.
        progress: (counts) => logger.info('re-normalising stored email identifiers', { ...counts }),
      })
      .then((counts) => {
        if (counts.renamed + counts.folded + counts.resolved + counts.unresolved > 0)
          logger.info('re-normalised stored email identifiers', { ...counts });
      })
      .catch((error: unknown) =>
        logger.error('email re-normalisation stopped; it resumes at the next start', { error }),
      );
    cleanups.push({
      name: 'email re-normalisation',
      run: async () => {
        stopping = true;
        await emails;
      },
    });
    const queryTimes = () => ({
      neo4j: graph.queryTimes.snapshot(),
      postgres: database.queryTimes.snapshot(),
    });
    return { app, services, deadlocks: () => graph.deadlocks, queryTimes, url, metricsUrl, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

/**
 * The event store's pool: on DATABASE_URL, or on a local PostgreSQL started under LOCAL_POSTGRES_DIR (and
 * stopped with the service) holding a `stitchgraph` database.
 */
export async function openDatabase(
  config: Config,
  logger: Logger,
  cleanups: { name: string; run: () => Promise<void> }[],
): Promise<Database> {
  let url = config.postgres.url;
  if (url === undefined) {
    logger.info('DATABASE_URL is not set: starting a local PostgreSQL', { dir: config.localPostgres.dir });
    const local = await startLocalPostgres({
      dir: config.localPostgres.dir,
      port: config.localPostgres.port,
      persistent: true,
      sharedBuffers: config.localPostgres.sharedBuffers,
      log: (msg) => logger.info(msg, { component: 'postgres' }),
    });
    cleanups.push({ name: 'postgres', run: () => local.stop() });
    url = await ensureLocalDatabase(local.url, 'stitchgraph');
    logger.info('local PostgreSQL is up', { host: local.host, port: local.port, database: 'stitchgraph' });
  }
  const queries = await QueryRegistry.load(SQL_DIR, REQUIRED_SQL, {
    extension: '.sql',
    skip: NOT_EVENT_STORE_SQL,
  });
  const database = new Database(queries, {
    url,
    unavailableTimeoutMs: config.postgres.unavailableTimeoutMs,
    maxConnections: config.postgres.poolSize,
  });
  cleanups.push({ name: 'pool', run: () => database.close() });
  return database;
}

/** Creates `name` on the local server unless it exists; returns its URL. */
async function ensureLocalDatabase(serverUrl: string, name: string): Promise<string> {
  const client = new pg.Client({ connectionString: serverUrl });
  await client.connect();
  try {
    const found = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (found.rowCount === 0) await client.query(`CREATE DATABASE ${client.escapeIdentifier(name)}`);
  } finally {
    await client.end();
  }
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

/**
 * Background work of the two-store commit, every HOUSEKEEPING_MS: finishing batches whose writer went
 * away (in this or another process), removing graph markers of finished batches, and creating next
 * months' partitions. Failures are logged and tried again next time.
 */
function startHousekeeping(
  services: Services,
  database: Database,
  logger: Logger,
): { stop(): Promise<void> } {
  let running: Promise<void> = Promise.resolve();
  let busy = false;
  const tick = () => {
    // A tick still running (a slow database) is not joined by the next one.
    if (busy) return;
    busy = true;
    running = (async () => {
      const now = Date.now();
      try {
        const recovered = await services.commit.recover(new Date(now - RECOVERY_AGE_MS));
        if (recovered > 0)
          logger.warn('finished batches that their writer left half written', { batches: recovered });
        await services.commit.sweep(new Date(now - RECOVERY_AGE_MS));
        // An upload whose process went away never finishes (docs/adr/0026-profiles-csv-upload.md).
        const abandoned = await services.imports.failAbandoned(new Date(now - IMPORT_ABANDONED_MS));
        if (abandoned > 0) logger.warn('import jobs lost their upload; marked FAILED', { jobs: abandoned });
        await ensurePartitions(database, new Date(now), new Date(now + 62 * 24 * 3600 * 1000));
      } catch (error) {
        // An outage is reported by /readyz and every request already: one line, no stack.
        if (error instanceof ServiceUnavailableError) {
          logger.warn('housekeeping waits for the databases', {
            reason: error.reason,
            message: error.message,
          });
        } else logger.warn('housekeeping failed; it runs again shortly', { error });
      } finally {
        busy = false;
      }
    })();
  };
  const timer = setInterval(tick, HOUSEKEEPING_MS);
  timer.unref();
  return {
    stop: async () => {
      clearInterval(timer);
      await running;
    },
  };
}

/**
 * How the computed-traits worker's failures are logged: an outage is reported by /readyz and every request
 * already, so it gets one warning line without a stack, at most every 10 s (the worker tries every 200 ms);
 * anything else is an error with its stack.
 */
function computedErrors(logger: Logger): (error: unknown) => void {
  return workerErrors(logger, 'computed traits');
}

/** As computedErrors, for any background worker named `worker`. */
function workerErrors(logger: Logger, worker: string): (error: unknown) => void {
  let lastOutageLog = 0;
  return (error) => {
    if (error instanceof ServiceUnavailableError) {
      if (Date.now() - lastOutageLog < 10_000) return;
      lastOutageLog = Date.now();
      logger.warn(`${worker} wait for the databases`, { reason: error.reason, message: error.message });
    } else logger.error(`a ${worker} pass failed; it runs again`, { error });
  };
}
