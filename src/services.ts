// The services a request can reach, built once by the composition root.
import { AudienceGraph, ComputedTraitsService, DEFAULT_COMPUTED_SETTINGS } from './computed/index.ts';
import {
  DEFAULT_DESTINATION_SETTINGS,
  DestinationsService,
  type DeliveryObserver,
  type DestinationSettings,
} from './destinations/index.ts';
import { EventStore, LegacyEventMigration } from './events/index.ts';
import type { Graph } from './graph/index.ts';
import { IdentityService } from './identity/index.ts';
import { DEFAULT_IMPORT_SETTINGS, ImportService, type ImportObserver } from './imports/index.ts';
import { IngestService, TwoStoreCommit, type CommitStep, type IngestObserver } from './ingest/index.ts';
import type { Database } from './postgres/database.ts';
import {
  DEFAULT_PRIVACY_SETTINGS,
  PrivacyRepository,
  PrivacyService,
  SuppressionList,
  SUPPRESSION_REFRESH_MS,
  type PrivacyHooks,
  type PrivacySettings,
} from './privacy/index.ts';
import { ProfilesService } from './profiles/index.ts';
import {
  DEFAULT_RETENTION_SETTINGS,
  RetentionService,
  type RetentionHooks,
  type RetentionObserver,
  type RetentionSettings,
} from './retention/index.ts';
import { SpacesService } from './spaces/index.ts';
import {
  DEFAULT_SQL_TRAIT_SETTINGS,
  SqlTraitsService,
  type SqlTraitHooks,
  type SqlTraitSettings,
} from './sql-traits/index.ts';
import { DEFAULT_SYNC_SETTINGS, SyncService, type SyncHooks, type SyncSettings } from './sync/index.ts';

export interface Services {
  identity: IdentityService;
  events: EventStore;
  /** Both stores, exactly once (docs/adr/0018-event-store.md): ingestion and recovery go through it. */
  commit: TwoStoreCommit;
  ingest: IngestService;
  profiles: ProfilesService;
  spaces: SpacesService;
  /** The one-off move of a previous version's Event nodes into PostgreSQL (`events migrate`). */
  legacyEvents: LegacyEventMigration;
  /** Computed traits and their worker (docs/adr/0021-computed-traits.md); the root starts and stops it. */
  computed: ComputedTraitsService;
  /** Webhook destinations and their outbox worker (docs/adr/0023); the root starts and stops it. */
  destinations: DestinationsService;
  /** Profiles Sync to warehouses and its worker (docs/adr/0024-profiles-sync.md); the root starts it. */
  sync: SyncService;
  /** SQL traits on sync targets and their scheduler (docs/adr/0025-sql-traits.md); the root starts it. */
  sqlTraits: SqlTraitsService;
  /** Profiles CSV upload jobs (docs/adr/0026-profiles-csv-upload.md). */
  imports: ImportService;
  /** Deletion and suppression requests (docs/adr/0027-deletion-and-suppression.md); the root starts it. */
  privacy: PrivacyService;
  /** Event retention and its periodic removal (docs/adr/0028-retention.md); the root starts and stops it. */
  retention: RetentionService;
}

export function createServices(
  graph: Graph,
  database: Database,
  options: {
    ingestWriters?: number;
    ingestObserver?: IngestObserver;
    /** Counts import rows and jobs (metrics; docs/adr/0026-profiles-csv-upload.md). */
    importObserver?: ImportObserver;
    onCommitStep?: (step: CommitStep) => void;
    computedTraitsPerSpace?: number;
    computedExpressionsPerDefinition?: number;
    audiencesPerSpace?: number;
    /** Reports a failed pass of the computed-traits worker (it tries again at the next tick). */
    onComputedError?: (error: unknown) => void;
    /** Destinations' settings (DESTINATION_* variables); without a secret key they are off. */
    destinations?: Partial<DestinationSettings>;
    /** Reports a failed pass of the destinations worker (it tries again at the next tick). */
    onDestinationsError?: (error: unknown) => void;
    deliveryObserver?: DeliveryObserver;
    /** Encrypts sync targets' locations (SYNC_SECRET_KEY); without it targets cannot be added or opened. */
    syncSecretKey?: string;
    syncSettings?: Partial<SyncSettings>;
    syncHooks?: SyncHooks;
    sqlTraitSettings?: Partial<SqlTraitSettings>;
    sqlTraitHooks?: SqlTraitHooks;
    privacySettings?: Partial<PrivacySettings>;
    privacyHooks?: PrivacyHooks;
    /** How old the in-memory suppressed keys may get before they are read again (ms; ADR 0027). */
    suppressionRefreshMs?: number;
    retentionSettings?: Partial<RetentionSettings>;
    retentionObserver?: RetentionObserver;
    retentionHooks?: RetentionHooks;
  } = {},
): Services {
  const identity = new IdentityService(graph);
  const events = new EventStore(database);
  const commit = new TwoStoreCommit(
    events,
    identity,
    options.onCommitStep === undefined ? {} : { onStep: options.onCommitStep },
  );
  const profiles = new ProfilesService(graph, events);
  /**
   * Account traits written without a group call (a deleted account-level computed trait's last values,
   * an account-level SQL trait's rows), then their change-log `accounts` entry, so account audiences and
   * Profiles Sync follow as they do a group call (docs/adr/0025-sql-traits.md). Returns accounts written.
   */
  const writeAccountTraits = async (
    space: string,
    writes: { groupId: string; traits: Record<string, unknown> }[],
    stamp: { at: Date; messageId: string },
  ): Promise<number> => {
    const accounts = await identity.setAccountTraits(space, writes, stamp);
    if (accounts.length > 0) await events.logChanges(space, [{ kind: 'accounts', payload: accounts }]);
    return accounts.length;
  };
  const audienceGraph = new AudienceGraph(graph);
  const privacyRepository = new PrivacyRepository(database, graph);
  const suppression = new SuppressionList(
    (space) => privacyRepository.suppressedKeys(space),
    options.suppressionRefreshMs ?? SUPPRESSION_REFRESH_MS,
  );
  const ingest = new IngestService((space, batch) => commit.apply(space, batch), {
    suppressed: (space) => suppression.keys(space),
    ...(options.ingestWriters === undefined ? {} : { writers: options.ingestWriters }),
    ...(options.ingestObserver === undefined ? {} : { observer: options.ingestObserver }),
  });
  const sync = new SyncService(
    database,
    events,
    { ...DEFAULT_SYNC_SETTINGS, ...options.syncSettings },
    options.syncSecretKey,
    options.syncHooks,
  );
  const computed = new ComputedTraitsService(
    database,
    {
      ...DEFAULT_COMPUTED_SETTINGS,
      maxTraitsPerSpace: options.computedTraitsPerSpace ?? DEFAULT_COMPUTED_SETTINGS.maxTraitsPerSpace,
      maxExpressions: options.computedExpressionsPerDefinition ?? DEFAULT_COMPUTED_SETTINGS.maxExpressions,
      maxAudiencesPerSpace: options.audiencesPerSpace ?? DEFAULT_COMPUTED_SETTINGS.maxAudiencesPerSpace,
    },
    () => new Date(),
    options.onComputedError,
    // A deleted trait's last values stay on the profiles or accounts as ordinary traits (SEMANTICS.md §9).
    (space, level, writes, stamp) =>
      level === 'USERS'
        ? identity.setTraits(
            space,
            writes.map((w) => ({ profileId: w.subjectId, traits: w.traits })),
            stamp,
          )
        : writeAccountTraits(
            space,
            writes.map((w) => ({ groupId: w.subjectId, traits: w.traits })),
            stamp,
          ),
    // Audiences read custom traits from the graph (SEMANTICS.md §10).
    (space, level, ids) => profiles.customTraits(space, level, ids),
    // ... and show their members there, for Neo4j Browser (docs/adr/0022).
    (space, level, subjects) => audienceGraph.project(space, level, subjects),
  );
  return {
    destinations: new DestinationsService(
      database,
      { ...DEFAULT_DESTINATION_SETTINGS, ...options.destinations },
      options.onDestinationsError,
      options.deliveryObserver ?? null,
    ),
    identity,
    events,
    commit,
    ingest,
    imports: new ImportService(
      database,
      identity,
      ingest,
      DEFAULT_IMPORT_SETTINGS,
      options.importObserver ?? null,
    ),
    profiles,
    privacy: new PrivacyService(
      database,
      graph,
      suppression,
      { ...DEFAULT_PRIVACY_SETTINGS, ...options.privacySettings },
      options.privacyHooks,
    ),
    spaces: new SpacesService(graph, identity),
    legacyEvents: new LegacyEventMigration(graph, database),
    computed,
    retention: new RetentionService(
      database,
      // Removed events' profiles are recomputed in the removal's commit (docs/adr/0028).
      (tx, space, profileIds) => computed.markRemoved(tx, space, profileIds, 'retention'),
      { ...DEFAULT_RETENTION_SETTINGS, ...options.retentionSettings },
      () => new Date(),
      options.retentionObserver ?? null,
      options.retentionHooks,
    ),
    sync,
    // A SQL trait's rows are the engine's own identify calls, through ingestion; an account-level one's
    // are written on the accounts (ADR 0025).
    sqlTraits: new SqlTraitsService(
      database,
      sync,
      (space, calls) => ingest.internal(space, calls),
      writeAccountTraits,
      { ...DEFAULT_SQL_TRAIT_SETTINGS, ...options.sqlTraitSettings },
      options.sqlTraitHooks,
    ),
  };
}
