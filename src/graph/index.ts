export {
  Graph,
  errorCode,
  isUnavailable,
  retryDelayMs,
  CONSTRAINT_VIOLATION,
  type Tx,
  type Row,
  type Params,
} from './graph.ts';
export { QueryRegistry, CYPHER_DIR } from './registry.ts';
export { createDriver, DEFAULT_UNAVAILABLE_TIMEOUT_MS, type DriverSettings } from './driver.ts';
export { migrate, MIGRATIONS_FOLDER } from './migrations.ts';
