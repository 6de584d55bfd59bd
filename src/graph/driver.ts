import neo4j, { type Driver } from 'neo4j-driver';

/** How long a statement keeps trying an unreachable database when nothing else is configured. */
export const DEFAULT_UNAVAILABLE_TIMEOUT_MS = 5_000;

export interface DriverSettings {
  uri: string;
  user: string;
  password: string | undefined;
  /**
   * NEO4J_UNAVAILABLE_TIMEOUT_MS: also the longest a new connection may take to open, so that a host
   * that drops packets is given up on as soon as one that refuses them (ADR 0017).
   */
  unavailableTimeoutMs?: number;
}

export function createDriver(settings: DriverSettings): Driver {
  const auth =
    settings.password === undefined ? undefined : neo4j.auth.basic(settings.user, settings.password);
  const bound = settings.unavailableTimeoutMs ?? DEFAULT_UNAVAILABLE_TIMEOUT_MS;
  return neo4j.driver(settings.uri, auth, {
    // Graph retries transient failures itself, with a deadline for an unreachable server (graph.ts,
    // ADR 0017). The driver's own loop would retry one for this long, holding the request meanwhile; at
    // 0 it still retries a failed BEGIN or COMMIT once, after about a second.
    maxTransactionRetryTime: 0,
    connectionTimeout: bound,
    // Waiting for a pooled connection ends with an error the driver gives no code ("N/A"), so it cannot
    // be told from others and answers 500: keep it above one connection attempt, far below a minute.
    connectionAcquisitionTimeout: 2 * bound,
    disableLosslessIntegers: true,
    userAgent: 'stitchgraph/0.1',
  });
}
