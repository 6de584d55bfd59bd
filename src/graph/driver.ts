import neo4j, { type Driver } from 'neo4j-driver';

export interface DriverSettings {
  uri: string;
  user: string;
  password: string | undefined;
}

export function createDriver(settings: DriverSettings): Driver {
  const auth =
    settings.password === undefined ? undefined : neo4j.auth.basic(settings.user, settings.password);
  return neo4j.driver(settings.uri, auth, {
    // Concurrent merges wait on each other's locks; give the driver's retry loop room (STYLE.md §7).
    maxTransactionRetryTime: 60_000,
    disableLosslessIntegers: true,
    userAgent: 'stitchgraph/0.1',
  });
}
