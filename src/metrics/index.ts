export { Metrics, reachable, NEO4J_CHECK_TIMEOUT_MS, type GraphSource } from './metrics.ts';
export { startMetricsServer, type MetricsServer } from './metrics-server.ts';
