// The only reader of process.env (STYLE.md §11). Every variable is validated once; all problems are
// reported together so that an operator fixes them in one go.
import { isIP } from 'node:net';
import { DEFAULT_UNAVAILABLE_TIMEOUT_MS } from './graph/driver.ts';
import { DEFAULT_WRITERS } from './ingest/write-queue.ts';
import { SecretBox } from './sync/secrets.ts';
import { SHARED_BUFFERS } from '../tools/postgres/launcher.ts';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

export interface LocalNeo4jConfig {
  /** Folder holding the local instance's configuration, data and logs (git-ignored). */
  home: string;
  boltPort: number;
  httpPort: number;
  /** JVM heap, e.g. `512m`. */
  heap: string;
  /** Page cache, e.g. `256m`. */
  pageCache: string;
}

export interface Neo4jConfig {
  /** Bolt URI of an existing Neo4j; when undefined the service starts a local one. */
  uri: string | undefined;
  user: string;
  password: string | undefined;
  database: string;
  /**
   * How long requests keep trying an unreachable Neo4j, counted from the outage's first failure, before
   * they are answered 503 SERVICE_UNAVAILABLE with Retry-After (docs/adr/0017-outages-and-browser-credentials.md).
   */
  unavailableTimeoutMs: number;
}

/** The event store (docs/adr/0018-event-store.md). */
export interface PostgresConfig {
  /** postgres:// URL of an existing server and database; when undefined the service starts a local one. */
  url: string | undefined;
  /** How long requests keep trying an unreachable PostgreSQL before a 503 with Retry-After. */
  unavailableTimeoutMs: number;
  /** Connections in this process's pool. */
  poolSize: number;
}

export interface LocalPostgresConfig {
  /** Folder of the local server's data and generated credentials (git-ignored). */
  dir: string;
  port: number;
  /** Its `shared_buffers` (PostgreSQL's units, e.g. `128MB`; docs/adr/0018-event-store.md "Shared buffers"). */
  sharedBuffers: string;
}

/** GraphQL protection (docs/adr/0006-graphql-protection.md). */
export interface GraphQLConfig {
  /** Whether `__schema` and `__type` are answered. */
  introspection: boolean;
  /** Whether a browser's GET /graphql gets the built-in query page. */
  landingPage: boolean;
  /** Deepest field nesting an operation may select; a root field is depth 1. */
  maxDepth: number;
  /** Deepest nesting, introspection included, of an operation that selects `__schema`. */
  maxIntrospectionDepth: number;
  /** Largest static cost an operation may have (src/graphql/cost.ts). */
  maxCost: number;
  /** Most aliases one operation may use, fragments included (`__typename` aliases do not count). */
  maxAliases: number;
  /** Most lexical tokens (names, punctuation, literal values) one GraphQL document may hold. */
  maxTokens: number;
  /** Most directives (`@include`, `@skip`, …) one operation may use. */
  maxDirectives: number;
  /** Largest answer to a query, in bytes of JSON. */
  maxResponseBytes: number;
}

/** The Segment-compatible tracking API (docs/adr/0007-tracking-api.md). */
export interface TrackingConfig {
  /** Events per second per write key, kept in this process's memory (a token bucket). */
  rateLimit: number;
  /** Events one write key may send at once after a quiet spell (the bucket's size). */
  rateBurst: number;
  /**
   * Base URL browsers post events to, named in the settings that analytics.js fetches
   * (`/v1/projects/<writeKey>/settings`); undefined: the host that settings request came to.
   */
  publicUrl: string | undefined;
}

/** Ingestion's group commit (docs/adr/0012-group-commit.md). */
export interface IngestConfig {
  /** Ingestion transactions in flight per space in this process. */
  writersPerSpace: number;
}

/** Computed traits (SEMANTICS.md §9, docs/adr/0021-computed-traits.md). */
export interface ComputedConfig {
  /** Most computed traits a space may have (not counting deleted ones). */
  traitsPerSpace: number;
  /** Most property conditions in one definition's `.where` filters. */
  expressionsPerDefinition: number;
  /** Most audiences a space may have (not counting deleted ones). */
  audiencesPerSpace: number;
}

/** Webhook destinations (SEMANTICS.md §10 "Activation", docs/adr/0023-webhook-destinations.md). */
export interface DestinationsConfig {
  /** AES-256-GCM key (32 bytes) that encrypts signing secrets at rest; undefined: destinations are off. */
  secretKey: Buffer | undefined;
  /** Whether webhook URLs may resolve to loopback, private, link-local or other non-public addresses. */
  allowPrivateUrls: boolean;
  /** Attempts before a delivery is given up (FAILED, replayable). */
  maxAttempts: number;
  /** First retry delay; each further one doubles (with jitter), up to retryMaxMs. */
  retryBaseMs: number;
  retryMaxMs: number;
  /** How long one webhook request may take. */
  timeoutMs: number;
  /** Most destinations per space. */
  perSpace: number;
}

/** Prometheus metrics at /metrics on a port of their own (docs/adr/0016-metrics.md). */
export interface MetricsConfig {
  /** Port of the metrics server; 0 picks a free one; undefined (`METRICS_PORT=off`) serves none. */
  port: number | undefined;
  /** Interface it binds to: loopback unless an operator opens it. */
  host: string;
}

/** Profiles Sync (docs/adr/0024-profiles-sync.md). */
export interface SyncConfig {
  /** Key that encrypts sync targets' locations (32 bytes); undefined: targets cannot be added or opened. */
  secretKey: string | undefined;
  /** How often each target is synced (ms). */
  intervalMs: number;
  /** The longest a SQL trait's query may run (ms; docs/adr/0025-sql-traits.md). */
  sqlTraitTimeoutMs: number;
  /** The most rows a SQL trait's query may return; one more refuses its run. */
  sqlTraitMaxRows: number;
}

/** Event retention (docs/adr/0028-retention.md). */
export interface RetentionConfig {
  /** How often old events are removed (ms). */
  intervalMs: number;
  /** Most events one batch deletes in one transaction. */
  batchSize: number;
}

export interface Config {
  env: 'development' | 'production' | 'test';
  host: string;
  port: number;
  logLevel: LogLevel;
  neo4j: Neo4jConfig;
  localNeo4j: LocalNeo4jConfig;
  postgres: PostgresConfig;
  localPostgres: LocalPostgresConfig;
  graphql: GraphQLConfig;
  tracking: TrackingConfig;
  ingest: IngestConfig;
  computed: ComputedConfig;
  destinations: DestinationsConfig;
  metrics: MetricsConfig;
  sync: SyncConfig;
  retention: RetentionConfig;
}

/** One documented variable: the README's configuration table is kept in step with this list. */
interface VariableSpec {
  name: string;
  description: string;
  default?: string;
}

export const VARIABLES: readonly VariableSpec[] = [
  { name: 'NODE_ENV', description: 'development, production or test', default: 'development' },
  { name: 'HOST', description: 'interface the HTTP server binds to', default: '127.0.0.1' },
  { name: 'PORT', description: 'HTTP port for GraphQL, /healthz and /readyz', default: '4000' },
  { name: 'LOG_LEVEL', description: 'debug, info, warn or error', default: 'info' },
  { name: 'NEO4J_URI', description: 'Bolt URI of an existing Neo4j; unset starts a local one' },
  { name: 'NEO4J_USER', description: 'Neo4j user name', default: 'neo4j' },
  { name: 'NEO4J_PASSWORD', description: 'Neo4j password (required with NEO4J_URI when auth is on)' },
  { name: 'NEO4J_DATABASE', description: 'Neo4j database name', default: 'neo4j' },
  {
    name: 'NEO4J_UNAVAILABLE_TIMEOUT_MS',
    description: 'how long requests keep trying an unreachable Neo4j before a 503 (milliseconds)',
    default: String(DEFAULT_UNAVAILABLE_TIMEOUT_MS),
  },
  { name: 'NEO4J_LOCAL_HOME', description: 'folder of the local Neo4j instance', default: '.neo4j/instance' },
  { name: 'NEO4J_LOCAL_BOLT_PORT', description: 'Bolt port of the local Neo4j', default: '7687' },
  { name: 'NEO4J_LOCAL_HTTP_PORT', description: 'HTTP port of the local Neo4j (Browser)', default: '7474' },
  { name: 'NEO4J_LOCAL_HEAP', description: 'JVM heap of the local Neo4j', default: '512m' },
  { name: 'NEO4J_LOCAL_PAGECACHE', description: 'page cache of the local Neo4j', default: '256m' },
  {
    name: 'DATABASE_URL',
    description:
      'postgres:// URL of the event store (an existing PostgreSQL database); unset starts a local one',
  },
  {
    name: 'DATABASE_UNAVAILABLE_TIMEOUT_MS',
    description: 'how long requests keep trying an unreachable PostgreSQL before a 503 (milliseconds)',
    default: String(DEFAULT_UNAVAILABLE_TIMEOUT_MS),
  },
  { name: 'DATABASE_POOL_SIZE', description: 'PostgreSQL connections per process', default: '10' },
  { name: 'LOCAL_POSTGRES_DIR', description: 'folder of the local PostgreSQL', default: '.postgres' },
  {
    name: 'LOCAL_POSTGRES_PORT',
    description: 'port of the local PostgreSQL (loopback only)',
    default: '5433',
  },
  {
    name: 'LOCAL_POSTGRES_SHARED_BUFFERS',
    description: "shared_buffers of the local PostgreSQL, in PostgreSQL's units (512MB, 4GB)",
    default: '128MB',
  },
  // Unset means on, except with NODE_ENV=production: a default that depends on another variable.
  { name: 'GRAPHQL_INTROSPECTION', description: 'true or false; unset: on, off in production' },
  { name: 'GRAPHQL_LANDING_PAGE', description: 'true or false; unset: on, off in production' },
  { name: 'GRAPHQL_MAX_DEPTH', description: 'deepest field nesting an operation may select', default: '12' },
  {
    name: 'GRAPHQL_MAX_INTROSPECTION_DEPTH',
    description: 'deepest nesting, introspection included, of an operation that selects __schema',
    default: '20',
  },
  { name: 'GRAPHQL_MAX_COST', description: 'largest static cost an operation may have', default: '20000' },
  { name: 'GRAPHQL_MAX_ALIASES', description: 'most aliases one operation may use', default: '30' },
  {
    name: 'GRAPHQL_MAX_TOKENS',
    description: 'most lexical tokens one GraphQL document may hold',
    default: '2000',
  },
  { name: 'GRAPHQL_MAX_DIRECTIVES', description: 'most directives one operation may use', default: '50' },
  {
    name: 'GRAPHQL_MAX_RESPONSE_BYTES',
    description: 'largest answer to a query, in bytes of JSON',
    default: String(10 * 1024 * 1024),
  },
  {
    name: 'TRACKING_RATE_LIMIT',
    description: 'events per second per write key, per process',
    default: '1000',
  },
  { name: 'TRACKING_RATE_BURST', description: 'events one write key may send at once', default: '5000' },
  { name: 'TRACKING_PUBLIC_URL', description: 'base URL browsers send events to; unset: the request host' },
  {
    name: 'INGEST_WRITERS',
    description: 'ingestion transactions in flight per space, per process (group commit)',
    default: String(DEFAULT_WRITERS),
  },
  {
    name: 'COMPUTED_TRAITS_PER_SPACE',
    description: 'most computed traits a space may have (deleted ones not counted)',
    default: '100',
  },
  {
    name: 'COMPUTED_TRAIT_EXPRESSIONS',
    description:
      "most property conditions in one computed trait's .where filters (Segment allows 50 expressions)",
    default: '50',
  },
  {
    name: 'AUDIENCES_PER_SPACE',
    description: 'most audiences a space may have (deleted ones not counted)',
    default: '100',
  },
  {
    name: 'DESTINATION_SECRET_KEY',
    description:
      'key that encrypts webhook signing secrets at rest: 32 random bytes in base64 (openssl rand -base64 32); unset: destinations are off',
  },
  {
    name: 'DESTINATIONS_ALLOW_PRIVATE_URLS',
    description: 'true lets webhook URLs reach loopback, private and link-local addresses (SSRF guard off)',
    default: 'false',
  },
  {
    name: 'DESTINATION_MAX_ATTEMPTS',
    description: 'attempts before a webhook delivery is given up (FAILED, replayable)',
    default: '12',
  },
  {
    name: 'DESTINATION_RETRY_BASE_MS',
    description: 'first retry delay of a failed delivery; doubles each attempt, with jitter (milliseconds)',
    default: '1000',
  },
  {
    name: 'DESTINATION_RETRY_MAX_MS',
    description: 'longest retry delay of a failed delivery (milliseconds)',
    default: '3600000',
  },
  {
    name: 'DESTINATION_TIMEOUT_MS',
    description: 'how long one webhook request may take (milliseconds)',
    default: '10000',
  },
  { name: 'DESTINATIONS_PER_SPACE', description: 'most destinations a space may have', default: '50' },
  {
    name: 'SYNC_SECRET_KEY',
    description:
      'key that encrypts Profiles Sync targets (32 bytes as base64 or 64 hex digits); unset: no targets',
  },
  {
    name: 'SYNC_INTERVAL_MS',
    description: 'how often Profiles Sync writes new changes to each target (milliseconds)',
    default: '10000',
  },
  {
    name: 'SQL_TRAIT_TIMEOUT_MS',
    description: "the longest a SQL trait's query may run on its sync target (milliseconds)",
    default: '60000',
  },
  {
    name: 'SQL_TRAIT_MAX_ROWS',
    description: "the most rows a SQL trait's query may return; more refuses the run",
    default: '100000',
  },
  {
    name: 'RETENTION_INTERVAL_MS',
    description:
      "how often events older than their space's retention are removed (milliseconds; the first run one interval after the start)",
    default: '3600000',
  },
  {
    name: 'RETENTION_BATCH_SIZE',
    description:
      "most events one retention batch deletes in one transaction (a space's rows outside dropped months)",
    default: '5000',
  },
  { name: 'METRICS_PORT', description: 'port of the Prometheus /metrics server; off: none', default: '9464' },
  { name: 'METRICS_HOST', description: 'interface the metrics server binds to', default: '127.0.0.1' },
];

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

const MEMORY = /^\d+[kmgKMG]$/;
const HOST_NAME = /^[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*$/;

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const problems: string[] = [];
  const get = (name: string): string | undefined => {
    const value = env[name];
    if (value !== undefined && value.trim() !== '') return value.trim();
    return VARIABLES.find((v) => v.name === name)?.default;
  };
  const port = (name: string, or = ''): number => {
    const raw = get(name) ?? '';
    const n = Number(raw);
    if (!Number.isInteger(n) || n < 0 || n > 65535) {
      problems.push(`${name} must be a port number (0-65535)${or}, got "${raw}"`);
      return 0;
    }
    return n;
  };
  const oneOf = <T extends string>(name: string, allowed: readonly T[]): T => {
    const raw = get(name) ?? '';
    if (!(allowed as readonly string[]).includes(raw)) {
      problems.push(`${name} must be one of ${allowed.join(', ')}, got "${raw}"`);
      return allowed[0] as T;
    }
    return raw as T;
  };
  const flag = (name: string, unset: boolean): boolean => {
    const raw = get(name);
    if (raw === undefined) return unset;
    if (raw === 'true' || raw === 'false') return raw === 'true';
    problems.push(`${name} must be true or false, got "${raw}"`);
    return unset;
  };
  const positive = (name: string): number => {
    const raw = get(name) ?? '';
    const n = Number(raw);
    if (!/^\d+$/.test(raw) || !Number.isSafeInteger(n) || n < 1) {
      problems.push(`${name} must be a whole number of at least 1, got "${raw}"`);
      return 1;
    }
    return n;
  };
  const memory = (name: string): string => {
    const raw = get(name) ?? '';
    if (!MEMORY.test(raw)) problems.push(`${name} must look like 512m or 2g, got "${raw}"`);
    return raw;
  };

  const sharedBuffers = (name: string): string => {
    const raw = get(name) ?? '';
    if (!SHARED_BUFFERS.test(raw))
      problems.push(`${name} must be a whole number of kB, MB, GB or TB such as 512MB, got "${raw}"`);
    return raw;
  };

  const publicUrl = get('TRACKING_PUBLIC_URL');
  if (publicUrl !== undefined && !/^https?:\/\/[^/?#\s]+(\/[^?#\s]*)?$/.test(publicUrl)) {
    problems.push(
      `TRACKING_PUBLIC_URL must be an http(s) URL such as https://track.example.com, got "${publicUrl}"`,
    );
  }

  const metricsHost = get('METRICS_HOST') ?? '127.0.0.1';
  if (isIP(metricsHost) === 0 && !HOST_NAME.test(metricsHost)) {
    problems.push(`METRICS_HOST must be an IP address or a host name, got "${metricsHost}"`);
  }

  const uri = get('NEO4J_URI');
  if (uri !== undefined && !/^(neo4j|bolt)(\+s|\+ssc)?:\/\/.+/.test(uri)) {
    problems.push(`NEO4J_URI must be a neo4j:// or bolt:// URI, got "${uri}"`);
  }

  const databaseUrl = get('DATABASE_URL');
  if (databaseUrl !== undefined && !/^postgres(ql)?:\/\/.+/.test(databaseUrl)) {
    problems.push('DATABASE_URL must be a postgres:// or postgresql:// URL');
  }

  const secretKeyText = get('DESTINATION_SECRET_KEY');
  let secretKey: Buffer | undefined;
  if (secretKeyText !== undefined) {
    secretKey = Buffer.from(secretKeyText, 'base64');
    if (!/^[A-Za-z0-9+/]+={0,2}$/.test(secretKeyText) || secretKey.length !== 32) {
      problems.push(
        `DESTINATION_SECRET_KEY must be 32 bytes in base64 (e.g. openssl rand -base64 32), got ${secretKey.length} bytes`,
      );
      secretKey = undefined;
    }
  }
  const syncKey = get('SYNC_SECRET_KEY');
  if (syncKey !== undefined && !SecretBox.isKey(syncKey)) {
    problems.push('SYNC_SECRET_KEY must be 32 bytes, as base64 or as 64 hex digits');
  }

  const nodeEnv = oneOf('NODE_ENV', ['development', 'production', 'test'] as const);
  const config: Config = {
    env: nodeEnv,
    host: get('HOST') ?? '127.0.0.1',
    port: port('PORT'),
    logLevel: oneOf('LOG_LEVEL', ['debug', 'info', 'warn', 'error'] as const),
    neo4j: {
      uri,
      user: get('NEO4J_USER') ?? 'neo4j',
      password: get('NEO4J_PASSWORD'),
      database: get('NEO4J_DATABASE') ?? 'neo4j',
      unavailableTimeoutMs: positive('NEO4J_UNAVAILABLE_TIMEOUT_MS'),
    },
    localNeo4j: {
      home: get('NEO4J_LOCAL_HOME') ?? '.neo4j/instance',
      boltPort: port('NEO4J_LOCAL_BOLT_PORT'),
      httpPort: port('NEO4J_LOCAL_HTTP_PORT'),
      heap: memory('NEO4J_LOCAL_HEAP'),
      pageCache: memory('NEO4J_LOCAL_PAGECACHE'),
    },
    postgres: {
      url: databaseUrl,
      unavailableTimeoutMs: positive('DATABASE_UNAVAILABLE_TIMEOUT_MS'),
      poolSize: positive('DATABASE_POOL_SIZE'),
    },
    localPostgres: {
      dir: get('LOCAL_POSTGRES_DIR') ?? '.postgres',
      port: port('LOCAL_POSTGRES_PORT'),
      sharedBuffers: sharedBuffers('LOCAL_POSTGRES_SHARED_BUFFERS'),
    },
    graphql: {
      introspection: flag('GRAPHQL_INTROSPECTION', nodeEnv !== 'production'),
      landingPage: flag('GRAPHQL_LANDING_PAGE', nodeEnv !== 'production'),
      maxDepth: positive('GRAPHQL_MAX_DEPTH'),
      maxIntrospectionDepth: positive('GRAPHQL_MAX_INTROSPECTION_DEPTH'),
      maxCost: positive('GRAPHQL_MAX_COST'),
      maxAliases: positive('GRAPHQL_MAX_ALIASES'),
      maxTokens: positive('GRAPHQL_MAX_TOKENS'),
      maxDirectives: positive('GRAPHQL_MAX_DIRECTIVES'),
      maxResponseBytes: positive('GRAPHQL_MAX_RESPONSE_BYTES'),
    },
    tracking: {
      rateLimit: positive('TRACKING_RATE_LIMIT'),
      rateBurst: positive('TRACKING_RATE_BURST'),
      publicUrl: publicUrl?.replace(/\/+$/, ''),
    },
    ingest: {
      writersPerSpace: positive('INGEST_WRITERS'),
    },
    computed: {
      traitsPerSpace: positive('COMPUTED_TRAITS_PER_SPACE'),
      expressionsPerDefinition: positive('COMPUTED_TRAIT_EXPRESSIONS'),
      audiencesPerSpace: positive('AUDIENCES_PER_SPACE'),
    },
    destinations: {
      secretKey,
      allowPrivateUrls: flag('DESTINATIONS_ALLOW_PRIVATE_URLS', false),
      maxAttempts: positive('DESTINATION_MAX_ATTEMPTS'),
      retryBaseMs: positive('DESTINATION_RETRY_BASE_MS'),
      retryMaxMs: positive('DESTINATION_RETRY_MAX_MS'),
      timeoutMs: positive('DESTINATION_TIMEOUT_MS'),
      perSpace: positive('DESTINATIONS_PER_SPACE'),
    },
    metrics: {
      port: get('METRICS_PORT') === 'off' ? undefined : port('METRICS_PORT', ' or off'),
      host: metricsHost,
    },
    sync: {
      secretKey: syncKey,
      intervalMs: positive('SYNC_INTERVAL_MS'),
      sqlTraitTimeoutMs: positive('SQL_TRAIT_TIMEOUT_MS'),
      sqlTraitMaxRows: positive('SQL_TRAIT_MAX_ROWS'),
    },
    retention: {
      intervalMs: positive('RETENTION_INTERVAL_MS'),
      batchSize: positive('RETENTION_BATCH_SIZE'),
    },
  };
  if (config.metrics.port !== undefined && config.metrics.port !== 0 && config.metrics.port === config.port) {
    problems.push(`METRICS_PORT must differ from PORT: metrics have a port of their own, got ${config.port}`);
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return config;
}
