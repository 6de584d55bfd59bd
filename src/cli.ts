// `npm run stitchgraph -- <command>`: manage spaces and keys (issue #5), and move a previous version's
// events out of the graph (issue 12 §8). Connects like the service does:
// NEO4J_URI when set, otherwise the local Neo4j (started for the command and stopped after, unless it was
// already running). Secrets are printed once; only their hashes are stored.
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { parseArgs } from 'node:util';
import cliProgress from 'cli-progress';
import { ConfigError, loadConfig } from './config.ts';
import { createDriver, Graph, migrate, QueryRegistry } from './graph/index.ts';
import {
  DEFAULT_MOVE_BATCH,
  MAX_MOVE_BATCH,
  type EventMoveProgress,
  type EventMoveResult,
} from './events/index.ts';
import { UnknownSpaceError } from './identity/index.ts';
import type { ImportJob, ImportProgress, RowError } from './imports/index.ts';
import { createServices } from './services.ts';
import { openDatabase, REQUIRED_QUERIES } from './service.ts';
import { createLogger } from './log.ts';
import { migrateDatabase } from './postgres/migrations.ts';
import type { KeyInfo, Scope } from './spaces/index.ts';
import type { Regulation } from './privacy/index.ts';
import type { SyncRun, SyncTargetStatus } from './sync/index.ts';
import { SpaceError } from './spaces/index.ts';
import { startLocalNeo4j } from '../tools/neo4j/launcher.ts';

const USAGE = `Usage: npm run stitchgraph -- <command>

  spaces create <id>                                   create a space with the default identity rules
  spaces list                                          list spaces
  keys create --space <id> --kind write|token [--scopes write,admin] [--name <text>]
                                                       create a write key, or an access token (always
                                                       read; --scopes adds write and/or admin)
  keys list --space <id>                               list a space's keys (never their secrets)
  keys revoke <keyId>                                  revoke a key
  events migrate [--space <id>] [--batch <n>]          move the events a previous version kept in Neo4j
                                                       into PostgreSQL (safe to stop at any point and
                                                       run again; default batch ${DEFAULT_MOVE_BATCH})
  sync add --space <id> --duckdb <file> [--name <text>]
  sync add --space <id> --postgres <url> [--name <text>]
                                                       add a Profiles Sync target (needs SYNC_SECRET_KEY);
                                                       the server syncs it every SYNC_INTERVAL_MS
  sync list [--space <id>]                             list sync targets and their state
  sync status <targetId>                               a target's lag, rows and last error
  sync run <targetId>                                  sync a target now, until it has every change
  sync resync <targetId>                               empty a target and write everything again, now
  sync remove <targetId>                               stop syncing a target (its tables stay)
  profiles import <file.csv> --space <id>              import profiles from a CSV file: one identify per
                                                       row (docs/adr/0026); identifier columns named
                                                       after the space's identifier types
  regulations create <TYPE> <type:value> --space <id>  a deletion or suppression request by any identifier
                                                       (SUPPRESS_ONLY, DELETE_ONLY, SUPPRESS_WITH_DELETE,
                                                       UNSUPPRESS; docs/adr/0027), e.g. DELETE_ONLY
                                                       email:jane@example.com; waits for a deletion to end
  regulations list --space <id>                        a space's requests, newest first, with their status
`;

/** Rows a summary lists; every kept refusal is readable over GraphQL (`importJob(id) { errors }`). */
const ERRORS_IN_SUMMARY = 10;

export class UsageError extends Error {}
/** A command that ran and was refused (an import whose file was refused as a whole): exit status 1. */
export class CommandFailed extends Error {}

/** Runs one command and returns what to print. Exported for tests. */
export async function runCommand(
  argv: string[],
  services: ReturnType<typeof createServices>,
): Promise<string> {
  const { positionals, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      space: { type: 'string' },
      kind: { type: 'string' },
      scopes: { type: 'string' },
      name: { type: 'string' },
      batch: { type: 'string' },
      duckdb: { type: 'string' },
      postgres: { type: 'string' },
    },
  });
  const [noun, verb, arg] = positionals;
  const command = `${noun ?? ''} ${verb ?? ''}`;
  switch (command) {
    case 'spaces create': {
      if (!arg) throw new UsageError('spaces create needs a space id');
      const created = await services.spaces.createSpace(arg);
      return created ? `Created space ${arg}.` : `Space ${arg} already exists.`;
    }
    case 'spaces list': {
      const spaces = await services.spaces.listSpaces();
      return spaces.map((s) => `${s.id}\tcreated ${s.createdAt.toISOString()}`).join('\n') || '(no spaces)';
    }
    case 'keys create': {
      const space = required(values.space, '--space');
      const kind = required(values.kind, '--kind');
      if (kind !== 'write' && kind !== 'token') throw new UsageError('--kind must be write or token');
      const scopes = (values.scopes ?? '')
        .split(',')
        .map((s) => s.trim())
        .filter((s) => s !== '') as Scope[];
      if (kind === 'write' && scopes.length > 0) throw new UsageError('--scopes applies to tokens only');
      const created = await services.spaces.createKey(space, kind, { scopes, name: values.name ?? '' });
      return [
        `Created ${kind === 'write' ? 'write key' : 'access token'} ${created.key.id} in space ${space} ` +
          `(scopes: ${created.key.scopes.join(', ')}).`,
        `Secret (shown once, store it now): ${created.secret}`,
      ].join('\n');
    }
    case 'keys list': {
      const keys = await services.spaces.listKeys(required(values.space, '--space'));
      return keys.map(describeKey).join('\n') || '(no keys)';
    }
    case 'keys revoke': {
      if (!arg) throw new UsageError('keys revoke needs a key id');
      return (await services.spaces.revokeKey(arg)) ? `Revoked ${arg}.` : `No active key ${arg}.`;
    }
    case 'events migrate': {
      const batch = values.batch === undefined ? DEFAULT_MOVE_BATCH : Number(values.batch);
      if (!Number.isInteger(batch) || batch < 1 || batch > MAX_MOVE_BATCH)
        throw new UsageError(`--batch must be a whole number from 1 to ${MAX_MOVE_BATCH}`);
      return describeMove(await moveEvents(services, values.space, batch));
    }
    case 'sync add': {
      const space = required(values.space, '--space');
      if ((values.duckdb === undefined) === (values.postgres === undefined))
        throw new UsageError('sync add needs one of --duckdb <file> or --postgres <url>');
      const result = await services.sync.addTarget(space, {
        kind: values.duckdb === undefined ? 'postgres' : 'duckdb',
        location: values.duckdb ?? values.postgres ?? '',
        ...(values.name === undefined ? {} : { name: values.name }),
      });
      if (!result.ok) throw new UsageError(`${result.code}: ${result.message}`);
      return `Added sync target ${result.target.id} (${result.target.kind} ${result.target.location}) for space ${space}.`;
    }
    case 'sync list': {
      const targets = await services.sync.targets(values.space ?? null);
      return targets.map(describeTarget).join('\n') || '(no sync targets)';
    }
    case 'sync status': {
      if (!arg) throw new UsageError('sync status needs a target id');
      const target = await services.sync.target(arg);
      if (target === null) throw new UsageError(`no sync target ${arg}`);
      return describeStatus(target);
    }
    case 'sync run':
    case 'sync resync': {
      if (!arg) throw new UsageError(`${command} needs a target id`);
      if (verb === 'resync' && !(await services.sync.requestResync(arg)))
        throw new UsageError(`no sync target ${arg}`);
      const run = await syncNow(services, arg);
      const target = await services.sync.target(arg);
      return [
        `${verb === 'resync' ? 'Resynced' : 'Synced'} ${arg}: ${run.changes} change-log rows read, ${run.rows} rows written.`,
        ...(target === null ? [] : [describeStatus(target)]),
      ].join('\n');
    }
    case 'sync remove': {
      if (!arg) throw new UsageError('sync remove needs a target id');
      return (await services.sync.removeTarget(arg))
        ? `Removed sync target ${arg}.`
        : `No sync target ${arg}.`;
    }
    case 'profiles import': {
      if (!arg) throw new UsageError('profiles import needs a CSV file');
      const space = required(values.space, '--space');
      return importProfiles(services, space, arg);
    }
    case 'regulations create': {
      const identifier = positionals[3];
      if (!arg || !identifier)
        throw new UsageError(
          'regulations create needs a type and an identifier, e.g. DELETE_ONLY user_id:abc',
        );
      const space = required(values.space, '--space');
      const colon = identifier.indexOf(':');
      if (colon <= 0) throw new UsageError('the identifier is type:value, e.g. email:jane@example.com');
      const result = await services.privacy.request(space, arg, {
        type: identifier.slice(0, colon),
        value: identifier.slice(colon + 1),
      });
      if (!result.ok) throw new UsageError(`${result.error.code}: ${result.error.message}`);
      // A deletion runs in this process: the command ends when it has.
      await services.privacy.idle();
      const done = await services.privacy.regulation(space, result.regulation.id);
      if (done?.status === 'FAILED') throw new CommandFailed(describeRegulation(done));
      return describeRegulation(done ?? result.regulation);
    }
    case 'regulations list': {
      const page = await services.privacy.regulations(required(values.space, '--space'), 100, null);
      return page.regulations.map(describeRegulation).join('\n') || '(no requests)';
    }
    default:
      throw new UsageError(noun === undefined ? 'no command given' : `unknown command "${command.trim()}"`);
  }
}

/**
 * Runs the move with a progress bar on stderr (STYLE.md §16; drawn only on a terminal): events moved,
 * their rate, time left. Ctrl-C needs no care: stopping at any point is safe, and the next run resumes.
 */
async function moveEvents(
  services: ReturnType<typeof createServices>,
  space: string | undefined,
  batch: number,
): Promise<EventMoveResult> {
  const bar = new cliProgress.SingleBar({
    format: '{phase} |{bar}| {value}/{total} events | {rate} events/s | {eta_formatted} left',
    hideCursor: true,
    etaBuffer: 50,
  });
  const started = Date.now();
  let shown = false;
  let rate = 0;
  const show = (p: EventMoveProgress) => {
    // The rate of moving events; the identity map pass after a space's events keeps the last one.
    if (p.phase === 'events') rate = Math.round(p.moved / Math.max(0.001, (Date.now() - started) / 1000));
    const payload = { phase: p.phase === 'events' ? 'moving events' : `identity map of ${p.space}`, rate };
    if (shown) bar.update(p.moved, payload);
    else bar.start(p.total, p.moved, payload);
    shown = true;
  };
  try {
    return await services.legacyEvents.run({
      ...(space === undefined ? {} : { space }),
      batch,
      progress: show,
    });
  } finally {
    if (shown) bar.stop();
  }
}

/**
 * Imports a CSV file with a progress bar on stderr (STYLE.md §16): bytes read of the file, rows, rows/s,
 * refused so far, time left. Off a terminal it prints a line a second, so logs show progress too.
 */
async function importProfiles(
  services: ReturnType<typeof createServices>,
  space: string,
  file: string,
): Promise<string> {
  let size: number;
  try {
    const info = await stat(file);
    if (!info.isFile()) throw new UsageError(`${file} is not a file`);
    size = info.size;
  } catch (error) {
    if (error instanceof UsageError) throw error;
    throw new UsageError(`cannot read ${file}: ${(error as Error).message}`);
  }
  try {
    await services.imports.identifierTypes(space);
  } catch (error) {
    if (error instanceof UnknownSpaceError) throw new UsageError(error.message);
    throw error;
  }
  const source = { via: 'cli' as const, fileName: basename(file), bytesTotal: size };
  const jobId = await services.imports.create(space, source);
  const bar = new cliProgress.SingleBar({
    format:
      'importing |{bar}| {percentage}% | {rows} rows | {rate} rows/s | {refused} refused | {eta_formatted} left',
    hideCursor: true,
    noTTYOutput: true,
    notTTYSchedule: 1000,
    etaBuffer: 50,
  });
  const started = Date.now();
  bar.start(Math.max(size, 1), 0, { rows: 0, rate: 0, refused: 0 });
  const show = (p: ImportProgress) =>
    bar.update(Math.min(p.bytesRead, Math.max(size, 1)), {
      rows: p.rows,
      rate: Math.round(p.rows / Math.max(0.001, (Date.now() - started) / 1000)),
      refused: p.refused,
    });
  let job: ImportJob;
  const input = createReadStream(file);
  try {
    job = await services.imports.run(space, jobId, input, source, show);
  } finally {
    input.destroy();
    bar.stop();
  }
  const seconds = (Date.now() - started) / 1000;
  if (job.status === 'FAILED') {
    const column =
      job.error?.field === null || job.error?.field === undefined ? '' : ` (column "${job.error.field}")`;
    throw new CommandFailed(
      `Refused ${file} (job ${job.id}): ${job.error?.code ?? 'FAILED'}${column}: ${job.error?.message ?? ''}`,
    );
  }
  const { errors } = await services.imports.errors(job.id, ERRORS_IN_SUMMARY, null);
  return [
    `Imported ${file} into space ${space} (job ${job.id}) in ${seconds.toFixed(1)} s: ${job.rows} rows, ` +
      `${job.applied} applied, ${job.duplicates} duplicates, ${job.refused} refused ` +
      `(${Math.round(job.rows / Math.max(seconds, 0.001))} rows/s).`,
    ...(errors.length === 0
      ? []
      : [
          `Refused rows (the first ${errors.length} of ${job.refused}; GraphQL importJob(id: "${job.id}") { errors } lists the first 1,000):`,
          ...errors.map(describeRowError),
        ]),
  ].join('\n');
}

function describeRowError(e: RowError): string {
  return `  line ${e.line}: ${e.code}${e.field === null ? '' : ` (${e.field})`}: ${e.message}`;
}

/** Syncs a target now with a progress bar on stderr (STYLE.md §16): change-log rows read of those due. */
async function syncNow(services: ReturnType<typeof createServices>, id: string): Promise<SyncRun> {
  const total = await services.sync.pending(id);
  const bar = new cliProgress.SingleBar({
    format: 'syncing |{bar}| {value}/{total} changes | {rows} rows | {eta_formatted} left',
    hideCursor: true,
  });
  bar.start(Math.max(total, 1), 0, { rows: 0 });
  try {
    return await services.sync.catchUp(id, (run) =>
      bar.update(Math.min(run.changes, Math.max(total, 1)), { rows: run.rows }),
    );
  } finally {
    bar.stop();
  }
}

function describeTarget(t: SyncTargetStatus): string {
  const state = t.lastError === null ? 'ok' : `failing (${t.failures}): ${t.lastError}`;
  return `${t.id}\t${t.space}\t${t.kind}\t${t.location}\t${t.rowsWritten} rows\tlag ${t.lag.changes}\t${state}`;
}

function describeStatus(t: SyncTargetStatus): string {
  return [
    `target:      ${t.id} (${t.name})`,
    `space:       ${t.space}`,
    `location:    ${t.kind} ${t.location}`,
    `rows:        ${t.rowsWritten}`,
    `lag:         ${t.lag.changes} change-log rows, oldest ${Math.round(t.lag.ms / 1000)} s old${t.resyncPending ? ' (resync pending)' : ''}`,
    `last synced: ${t.lastSyncedAt?.toISOString() ?? 'never'}`,
    `last error:  ${t.lastError === null ? 'none' : `${t.lastError} (${t.lastErrorAt?.toISOString() ?? ''}, ${t.failures} in a row)`}`,
  ].join('\n');
}

function describeMove(r: EventMoveResult): string {
  const lines = [
    `Moved ${r.moved} of ${r.total} events from Neo4j to PostgreSQL ` +
      `(${r.stored} stored now, ${r.moved - r.stored} found stored already).`,
    `Added ${r.identifiers} rows to identity_map and ${r.merges} to profile_merges.`,
  ];
  if (!r.finished) lines.push('Stopped before the end: run the command again to resume.');
  else if (r.schemaDropped)
    lines.push(
      'No Event node is left: dropped the event_message_id constraint and the event_timestamp index.',
    );
  else
    lines.push(
      'Other spaces still hold Event nodes: the Event constraint and index stay until none is left.',
    );
  return lines.join('\n');
}

function required(value: string | undefined, flag: string): string {
  if (!value) throw new UsageError(`${flag} is required`);
  return value;
}

function describeRegulation(r: Regulation): string {
  // A request by group_id deletes an account; `profiles` then counts accounts (docs/adr/0027).
  const subjects = r.subjectKey.startsWith('group_id:') ? 'accounts' : 'profiles';
  const counts = `${r.profiles} ${subjects}, ${r.identifiers} identifiers, ${r.events} events`;
  const end = r.finishedAt === null ? '' : ` at ${r.finishedAt.toISOString()}`;
  const error = r.error === null ? '' : ` (${r.error.code}: ${r.error.message})`;
  return `${r.id}\t${r.type}\t${r.subjectKey}\t${r.status}${end}\t${counts}${error}`;
}

function describeKey(k: KeyInfo): string {
  const state = k.revokedAt === null ? 'active' : `revoked ${k.revokedAt.toISOString()}`;
  return `${k.id}\t${k.kind}\t${k.scopes.join(',')}\t${k.prefix}…\t${k.name || '-'}\t${state}`;
}

function syncOptions(config: ReturnType<typeof loadConfig>): Parameters<typeof createServices>[2] {
  return {
    ...(config.sync.secretKey === undefined ? {} : { syncSecretKey: config.sync.secretKey }),
    syncSettings: { intervalMs: config.sync.intervalMs },
  };
}

async function main(): Promise<void> {
  const config = loadConfig();
  let settings = { uri: config.neo4j.uri ?? '', user: config.neo4j.user, password: config.neo4j.password };
  let stopLocal: (() => Promise<void>) | undefined;
  if (config.neo4j.uri === undefined) {
    const local = await startLocalNeo4j({ ...config.localNeo4j });
    settings = { uri: local.uri, user: local.user, password: local.password };
    stopLocal = () => local.stop();
  }
  const driver = createDriver(settings);
  try {
    const graph = new Graph(driver, await QueryRegistry.load(undefined, REQUIRED_QUERIES), {
      database: config.neo4j.database,
    });
    await migrate(graph);
    const cleanups: { name: string; run: () => Promise<void> }[] = [];
    try {
      const database = await openDatabase(config, createLogger('warn'), cleanups);
      await migrateDatabase(database);
      process.stdout.write(
        `${await runCommand(process.argv.slice(2), createServices(graph, database, syncOptions(config)))}\n`,
      );
    } finally {
      for (const cleanup of cleanups.reverse()) await cleanup.run();
    }
  } finally {
    await driver.close();
    await stopLocal?.();
  }
}

if (process.argv[1]?.endsWith('cli.ts')) {
  main().catch((error: unknown) => {
    if (error instanceof UsageError || error instanceof SpaceError || error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n\n${error instanceof UsageError ? USAGE : ''}`);
      process.exit(2);
    }
    if (error instanceof CommandFailed) {
      process.stderr.write(`${error.message}\n`);
      process.exit(1);
    }
    if (error instanceof TypeError && 'code' in error && String(error.code).startsWith('ERR_PARSE_ARGS')) {
      process.stderr.write(`${error.message}\n\n${USAGE}`);
      process.exit(2);
    }
    process.stderr.write(`stitchgraph: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  });
}
