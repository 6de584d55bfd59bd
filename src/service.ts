// Composition root: config → Neo4j (the configured one, or a local one we start) → driver → migrations →
// services → HTTP. src/server.ts runs it for `npm start`; tests start it the same way.
import type { Config } from './config.ts';
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

export const REQUIRED_QUERIES = [
  ...IDENTITY_QUERIES,
  ...PROFILE_QUERIES,
  ...SPACE_QUERIES,
  'graph/await-indexes',
];

export interface Service {
  app: App;
  services: Services;
  /** Write transactions retried after a deadlock since start (benchmarks report it). */
  deadlocks(): number;
  url: string;
  /** Prometheus scrape URL on the metrics port (docs/adr/0016-metrics.md); undefined with METRICS_PORT=off. */
  metricsUrl: string | undefined;
  stop(): Promise<void>;
}

export async function startService(config: Config, logger: Logger): Promise<Service> {
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
    const services = createServices(graph, {
      ingestWriters: config.ingest.writersPerSpace,
      ingestObserver: metrics.ingest,
    });
    metrics.watchQueue(() => services.ingest.queueStats());
    const app = await createApp({
      graph,
      services,
      logger,
      graphql: config.graphql,
      routes: [trackingApi({ services, logger, config: config.tracking }), profileApi(services, logger)],
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
      migrations: applied.length,
    });
    // One-off and resumable (docs/adr/0014-input-hygiene.md): emails stored before §8's normalisation.
    let stopping = false;
    const emails = services.identity
      .renormaliseEmails({
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
    return { app, services, deadlocks: () => graph.deadlocks, url, metricsUrl, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
