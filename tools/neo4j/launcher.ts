// A real Neo4j 5.26 LTS Community server for development and tests, without Docker: the jars come from the
// Maven repository (tools/neo4j/pom.xml) and the server runs as a child process of whoever starts it
// (docs/adr/0002-local-neo4j.md). Everything it writes lives under the git-ignored `.neo4j/` folder.

import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, openSync, rmSync } from 'node:fs';
import { mkdir, readFile, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import neo4j from 'neo4j-driver';
import { isAlive, readProcFile, signal } from '../process.ts';

export interface LocalNeo4j {
  /** Bolt URI, always loopback. */
  uri: string;
  user: string;
  password: string;
  /** Base URL of the HTTP connector; the Browser is at `${httpUrl}/browser/`. */
  httpUrl: string;
  pid: number;
  /** True when an already running server for the same home was reused; stop() then leaves it running. */
  reused: boolean;
  /** Stops the server this call started (SIGTERM, then SIGKILL after a timeout); a no-op when reused. */
  stop(): Promise<void>;
}

export interface StartOptions {
  /** Folder for configuration, data, logs, pid file and password of this instance. */
  home: string;
  /** 0 picks a free port. */
  boltPort: number;
  /** 0 picks a free port. */
  httpPort: number;
  /** JVM heap, e.g. `512m`; initial and maximum are the same. */
  heap: string;
  /** Page cache, e.g. `256m`. */
  pageCache: string;
  /** Start in its own process group, not tied to this process (the CLI's `start`). */
  detached?: boolean;
  /** How long to wait for Bolt to answer; default 120 s. */
  timeoutMs?: number;
  log?: (msg: string) => void;
}

export interface Neo4jStatus {
  running: boolean;
  pid?: number;
  uri?: string;
  httpUrl?: string;
}

type Log = (msg: string) => void;

const USER = 'neo4j';
const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const POM = join(REPO_ROOT, 'tools', 'neo4j', 'pom.xml');
const LIB_DIR = join(REPO_ROOT, '.neo4j', 'lib');
const FETCH_MARKER = '.fetched';
/** Pinned so that a fetch behaves the same on every machine. */
const DEPENDENCY_PLUGIN = 'org.apache.maven.plugins:maven-dependency-plugin:3.8.1';

/** The class `bin/neo4j` ends up running for Community edition (org.neo4j:neo4j, community/neo4j). */
const ENTRY_POINT = 'org.neo4j.server.CommunityEntryPoint';
/** The class behind `bin/neo4j-admin` (org.neo4j:neo4j-command-line). */
const ADMIN_TOOL = 'org.neo4j.cli.AdminTool';

/**
 * The `server.jvm.additional` defaults of the 5.26 distribution's conf/neo4j.conf, which the bootloader
 * (`bin/neo4j`) passes to the server JVM, plus the `-Dfile.encoding=UTF-8` the bootloader always adds.
 * The `--add-opens` lines are what Neo4j 5 needs on Java 17. Left out: `-XX:+AlwaysPreTouch`, which would
 * commit the whole heap at start-up; several test instances on one machine should stay small.
 */
const JVM_FLAGS: readonly string[] = [
  '-XX:+UseG1GC',
  '-XX:-OmitStackTraceInFastThrow',
  '-XX:+UnlockExperimentalVMOptions',
  '-XX:+TrustFinalNonStaticFields',
  '-XX:+DisableExplicitGC',
  '-Djdk.nio.maxCachedBufferSize=1024',
  '-Dio.netty.tryReflectionSetAccessible=true',
  '-Djdk.tls.ephemeralDHKeySize=2048',
  '-Djdk.tls.rejectClientInitiatedRenegotiation=true',
  '-XX:FlightRecorderOptions=stackdepth=256',
  '-XX:+UnlockDiagnosticVMOptions',
  '-XX:+DebugNonSafepoints',
  '--add-opens=java.base/java.nio=ALL-UNNAMED',
  '--add-opens=java.base/java.io=ALL-UNNAMED',
  '--add-opens=java.base/sun.nio.ch=ALL-UNNAMED',
  '--enable-native-access=ALL-UNNAMED',
  '-Dlog4j2.disable.jmx=true',
  '-Dlog4j.layout.jsonTemplate.maxStringLength=32768',
  '-Dfile.encoding=UTF-8',
];

const DEFAULT_TIMEOUT_MS = 120_000;
const STOP_TIMEOUT_MS = 30_000;
const DOCKER_HINT = 'Alternatively run Neo4j with `docker compose up` and set NEO4J_URI / NEO4J_PASSWORD.';

const noop: Log = () => {};

// ---------------------------------------------------------------------------------------------------------
// Fetching the jars

/**
 * Makes sure `.neo4j/lib` holds the jars of tools/neo4j/pom.xml and returns that folder. The first run needs
 * the Maven repository; later runs are served from ~/.m2, and nothing is fetched while the marker file
 * records the hash of the current pom.
 */
export async function fetchNeo4j(opts: { log?: Log } = {}): Promise<string> {
  const log = opts.log ?? noop;
  await checkJava();
  const pomHash = createHash('sha256')
    .update(await readFile(POM))
    .digest('hex');
  if (await isFetched(LIB_DIR, pomHash)) return LIB_DIR;

  await requireCommand('mvn', ['-v'], 'Maven (`mvn`) is needed once to fetch the Neo4j jars');
  // Fetch into a private folder and move it into place at the end, so that an interrupted fetch or a
  // concurrent one never leaves a half-filled lib folder behind.
  const tmp = `${LIB_DIR}.tmp-${process.pid}`;
  await rm(tmp, { recursive: true, force: true });
  log(`Fetching Neo4j jars with Maven into ${LIB_DIR} (the first run downloads about 140 MB)...`);
  const started = Date.now();
  const result = await run('mvn', [
    '-q',
    '-B',
    '-f',
    POM,
    `${DEPENDENCY_PLUGIN}:copy-dependencies`,
    `-DoutputDirectory=${tmp}`,
  ]);
  if (result.code !== 0) {
    await rm(tmp, { recursive: true, force: true });
    throw new Error(
      `Fetching the Neo4j jars with Maven failed (exit code ${result.code}). The first fetch needs access ` +
        `to the Maven repository; later ones are served from ~/.m2.\n${tail(result.output, 30)}\n${DOCKER_HINT}`,
    );
  }
  const jars = (await readdir(tmp)).filter((f) => f.endsWith('.jar'));
  for (const prefix of ['neo4j-5.', 'neo4j-server-', 'neo4j-browser-']) {
    if (!jars.some((j) => j.startsWith(prefix))) {
      await rm(tmp, { recursive: true, force: true });
      throw new Error(`Maven finished but no ${prefix}*.jar arrived in ${tmp}; check tools/neo4j/pom.xml.`);
    }
  }
  await writeFile(join(tmp, FETCH_MARKER), `${pomHash}\n`);
  if (await isFetched(LIB_DIR, pomHash)) {
    // Another process finished the same fetch first.
    await rm(tmp, { recursive: true, force: true });
  } else {
    await rm(LIB_DIR, { recursive: true, force: true });
    await rename(tmp, LIB_DIR);
  }
  log(`Fetched ${jars.length} jars in ${((Date.now() - started) / 1000).toFixed(1)} s.`);
  return LIB_DIR;
}

async function isFetched(lib: string, pomHash: string): Promise<boolean> {
  try {
    return (await readFile(join(lib, FETCH_MARKER), 'utf8')).trim() === pomHash;
  } catch {
    return false;
  }
}

let javaChecked: Promise<void> | undefined;

function checkJava(): Promise<void> {
  javaChecked ??= (async () => {
    const result = await requireCommand('java', ['-version'], 'Java 17 or 21 is needed to run Neo4j 5');
    const major = /version "(\d+)/.exec(result.output)?.[1];
    if (major === undefined || Number(major) < 17) {
      throw new Error(
        `Neo4j 5 needs Java 17 or 21, but \`java -version\` reports:\n${result.output.trim()}\n${DOCKER_HINT}`,
      );
    }
  })();
  return javaChecked;
}

async function requireCommand(
  command: string,
  args: string[],
  why: string,
): Promise<{ code: number; output: string }> {
  try {
    return await run(command, args);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new Error(`\`${command}\` was not found on PATH. ${why}. ${DOCKER_HINT}`);
    }
    throw error;
  }
}

/** Runs a command to completion; rejects only when it cannot be started. */
function run(
  command: string,
  args: string[],
  env: NodeJS.ProcessEnv = process.env,
): Promise<{ code: number; output: string }> {
  return new Promise((resolvePromise, reject) => {
    execFile(command, args, { env, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      const output = `${stdout}${stderr}`;
      if (error === null) return resolvePromise({ code: 0, output });
      if (typeof error.code === 'number') return resolvePromise({ code: error.code, output });
      reject(error);
    });
  });
}

// ---------------------------------------------------------------------------------------------------------
// Starting and stopping

interface Paths {
  home: string;
  conf: string;
  confFile: string;
  data: string;
  logs: string;
  run: string;
  pidFile: string;
  lockFile: string;
  passwordFile: string;
  consoleLog: string;
}

function paths(home: string): Paths {
  const abs = resolve(home);
  return {
    home: abs,
    conf: join(abs, 'conf'),
    confFile: join(abs, 'conf', 'neo4j.conf'),
    data: join(abs, 'data'),
    logs: join(abs, 'logs'),
    run: join(abs, 'run'),
    pidFile: join(abs, 'run', 'neo4j.pid'),
    lockFile: join(abs, 'run', 'start.lock'),
    passwordFile: join(abs, 'password'),
    consoleLog: join(abs, 'logs', 'console.log'),
  };
}

const boltUri = (port: number): string => `bolt://127.0.0.1:${port}`;
const httpUrlOf = (port: number): string => `http://localhost:${port}`;

/**
 * Starts a Neo4j server for `home`, or reuses the one this launcher already started there, and resolves
 * once Bolt answers a query.
 */
export async function startLocalNeo4j(opts: StartOptions): Promise<LocalNeo4j> {
  const log = opts.log ?? noop;
  const p = paths(opts.home);
  const lib = await fetchNeo4j({ log });
  await Promise.all([p.conf, p.data, p.logs, p.run].map((dir) => mkdir(dir, { recursive: true })));
  return withStartLock(p, async () => {
    const reused = await reuseRunning(p, opts, log);
    if (reused !== undefined) return reused;
    return startNew(p, lib, opts, log);
  });
}

async function reuseRunning(p: Paths, opts: StartOptions, log: Log): Promise<LocalNeo4j | undefined> {
  const pid = await readPid(p.pidFile);
  if (pid === undefined) return undefined;
  if (!(await isOurNeo4j(pid, p.home))) {
    log(`Removing stale pid file ${p.pidFile} (process ${pid} is not a Neo4j started for this home).`);
    await rm(p.pidFile, { force: true });
    return undefined;
  }
  const ports = await readPorts(p.confFile);
  if (ports === undefined) {
    throw new Error(`Neo4j (pid ${pid}) runs for ${p.home} but ${p.confFile} is unreadable; stop it first.`);
  }
  // The caller gets the real addresses in the result, so a server on other ports than asked for is still
  // usable (the test suite picks fresh free ports on every run); say so rather than fail.
  if (
    (opts.boltPort !== 0 && opts.boltPort !== ports.bolt) ||
    (opts.httpPort !== 0 && opts.httpPort !== ports.http)
  ) {
    log(
      `Neo4j (pid ${pid}) already runs for ${p.home} on Bolt ${ports.bolt} / HTTP ${ports.http}, not the ` +
        `requested ${opts.boltPort} / ${opts.httpPort}; reusing it as it is (stop it to change ports).`,
    );
  }
  const password = await readPassword(p.passwordFile);
  if (password === undefined) throw new Error(`Neo4j (pid ${pid}) runs but ${p.passwordFile} is missing.`);
  log(`Reusing Neo4j (pid ${pid}) already running for ${p.home}.`);
  const uri = boltUri(ports.bolt);
  await waitForBolt({
    uri,
    password,
    timeoutMs: opts.timeoutMs ?? DEFAULT_TIMEOUT_MS,
    exited: () => (isAlive(pid) ? undefined : 'it exited'),
    consoleLog: p.consoleLog,
  });
  return {
    uri,
    user: USER,
    password,
    httpUrl: httpUrlOf(ports.http),
    pid,
    reused: true,
    stop: async () => {},
  };
}

async function startNew(p: Paths, lib: string, opts: StartOptions, log: Log): Promise<LocalNeo4j> {
  const boltPort = opts.boltPort === 0 ? await freePort() : opts.boltPort;
  let httpPort = opts.httpPort === 0 ? await freePort() : opts.httpPort;
  while (httpPort === boltPort) httpPort = await freePort();
  await assertPortFree(boltPort, 'Bolt', 'NEO4J_LOCAL_BOLT_PORT');
  await assertPortFree(httpPort, 'HTTP', 'NEO4J_LOCAL_HTTP_PORT');

  await writeFile(
    p.confFile,
    neo4jConf(p, { boltPort, httpPort, heap: opts.heap, pageCache: opts.pageCache }),
  );
  const password = await ensurePassword(p, lib, log);

  const args = [
    '-cp',
    `${lib}/*`,
    ...JVM_FLAGS,
    `-Xms${opts.heap}`,
    `-Xmx${opts.heap}`,
    ENTRY_POINT,
    `--home-dir=${p.home}`,
    `--config-dir=${p.conf}`,
    // Also write the user log (neo4j.log) to stdout, i.e. console.log, so failures show up in one place.
    '--console-mode',
  ];
  const out = openSync(p.consoleLog, 'a');
  let child: ChildProcess;
  try {
    child = spawn('java', args, {
      cwd: p.home,
      detached: opts.detached === true,
      stdio: ['ignore', out, out],
      env: { ...process.env, NEO4J_HOME: p.home, NEO4J_CONF: p.conf },
    });
  } finally {
    closeSync(out);
  }
  const pid = await new Promise<number>((resolvePid, reject) => {
    child.once('error', reject);
    child.once('spawn', () => resolvePid(child.pid ?? -1));
  });
  let exit: string | undefined;
  child.once('exit', (code, signal) => {
    exit = signal === null ? `it exited with code ${code}` : `it was killed by ${signal}`;
  });
  await writeFile(p.pidFile, `${pid}\n`);
  const started = Date.now();
  log(`Started Neo4j (pid ${pid}) for ${p.home}; waiting for Bolt on port ${boltPort}...`);

  // A server tied to this process should not outlive it: on exit, ask it to shut down (Neo4j does so
  // cleanly on SIGTERM) and drop the pid file. A detached one is left for `stop`.
  const onExit = (): void => {
    if (exit !== undefined) return;
    try {
      process.kill(pid, 'SIGTERM');
    } catch {
      // already gone
    }
    rmSync(p.pidFile, { force: true });
  };
  if (opts.detached === true) child.unref();
  else process.once('exit', onExit);

  const uri = boltUri(boltPort);
  try {
    await waitForBolt({
      uri,
      password,
      timeoutMs: opts.timeoutMs ?? DEFAULT_TIMEOUT_MS,
      exited: () => exit,
      consoleLog: p.consoleLog,
    });
  } catch (error) {
    if (exit === undefined) await terminate(pid, child, () => exit !== undefined);
    process.removeListener('exit', onExit);
    await removePidFile(p.pidFile, pid);
    throw error;
  }
  log(`Neo4j is ready after ${((Date.now() - started) / 1000).toFixed(1)} s.`);

  let stopping: Promise<void> | undefined;
  return {
    uri,
    user: USER,
    password,
    httpUrl: httpUrlOf(httpPort),
    pid,
    reused: false,
    stop: () => {
      stopping ??= (async () => {
        process.removeListener('exit', onExit);
        if (exit === undefined) await terminate(pid, child, () => exit !== undefined);
        await removePidFile(p.pidFile, pid);
        log(`Stopped Neo4j (pid ${pid}).`);
      })();
      return stopping;
    },
  };
}

/** Whether a server this launcher started is running for `home`. */
export async function neo4jStatus(home: string): Promise<Neo4jStatus> {
  const p = paths(home);
  const pid = await readPid(p.pidFile);
  if (pid === undefined || !(await isOurNeo4j(pid, p.home))) return { running: false };
  const ports = await readPorts(p.confFile);
  return {
    running: true,
    pid,
    ...(ports === undefined ? {} : { uri: boltUri(ports.bolt), httpUrl: httpUrlOf(ports.http) }),
  };
}

/**
 * Stops the server whose pid file is in `home`, but only when that process is a Neo4j this launcher started
 * for that home. Resolves to whether a server was stopped.
 */
export async function stopLocalNeo4j(home: string, opts: { log?: Log } = {}): Promise<boolean> {
  const log = opts.log ?? noop;
  const p = paths(home);
  const pid = await readPid(p.pidFile);
  if (pid === undefined) return false;
  if (!(await isOurNeo4j(pid, p.home))) {
    log(`Removing stale pid file ${p.pidFile} (process ${pid} is not a Neo4j started for this home).`);
    await rm(p.pidFile, { force: true });
    return false;
  }
  await terminate(pid, undefined, () => !isAlive(pid));
  await removePidFile(p.pidFile, pid);
  return true;
}

/** SIGTERM, then SIGKILL when the process is still there after STOP_TIMEOUT_MS. */
async function terminate(pid: number, child: ChildProcess | undefined, gone: () => boolean): Promise<void> {
  // For our own child, its 'exit' event is the reliable signal (it is reaped by Node); otherwise poll.
  const isGone = (): boolean => gone() || (child === undefined && !isAlive(pid));
  const waitGone = async (ms: number): Promise<boolean> => {
    const deadline = Date.now() + ms;
    while (!isGone()) {
      if (Date.now() > deadline) return false;
      await sleep(100);
    }
    return true;
  };
  if (isGone()) return;
  signal(pid, 'SIGTERM');
  if (await waitGone(STOP_TIMEOUT_MS)) return;
  signal(pid, 'SIGKILL');
  await waitGone(10_000);
}

async function waitForBolt(args: {
  uri: string;
  password: string;
  timeoutMs: number;
  exited: () => string | undefined;
  consoleLog: string;
}): Promise<void> {
  const driver = neo4j.driver(args.uri, neo4j.auth.basic(USER, args.password), {
    connectionTimeout: 5_000,
    connectionAcquisitionTimeout: 5_000,
    maxTransactionRetryTime: 0,
    logging: { level: 'error', logger: () => {} },
  });
  const deadline = Date.now() + args.timeoutMs;
  let lastError = '';
  try {
    for (;;) {
      const exited = args.exited();
      if (exited !== undefined) {
        throw new Error(
          `Neo4j failed to start: ${exited}. Last lines of ${args.consoleLog}:\n` +
            (await tailOfFile(args.consoleLog, 40)),
        );
      }
      try {
        // Not just a handshake: the default database must answer too.
        await driver.executeQuery('RETURN 1');
        return;
      } catch (error) {
        const code = (error as { code?: string }).code ?? '';
        if (code.startsWith('Neo.ClientError.Security.')) {
          throw new Error(
            `Neo4j at ${args.uri} rejected the stored password (${code}). The database under this home was ` +
              'created with another password; stop it and delete the home folder to start afresh.',
          );
        }
        lastError = error instanceof Error ? error.message : String(error);
      }
      if (Date.now() > deadline) {
        throw new Error(
          `Neo4j did not answer on ${args.uri} within ${Math.round(args.timeoutMs / 1000)} s ` +
            `(last error: ${lastError}). Last lines of ${args.consoleLog}:\n` +
            (await tailOfFile(args.consoleLog, 40)),
        );
      }
      await sleep(500);
    }
  } finally {
    await driver.close();
  }
}

// ---------------------------------------------------------------------------------------------------------
// Configuration and password

function neo4jConf(
  p: Paths,
  s: { boltPort: number; httpPort: number; heap: string; pageCache: string },
): string {
  return `${[
    '# Written by tools/neo4j/launcher.ts on every start; change the launcher, not this file.',
    `server.directories.data=${p.data}`,
    `server.directories.logs=${p.logs}`,
    `server.directories.run=${p.run}`,
    `server.directories.import=${join(p.home, 'import')}`,
    `server.directories.plugins=${join(p.home, 'plugins')}`,
    '',
    '# Loopback only; the Browser learns the Bolt address from the advertised one.',
    'server.default_listen_address=127.0.0.1',
    'server.default_advertised_address=127.0.0.1',
    'server.bolt.enabled=true',
    `server.bolt.listen_address=127.0.0.1:${s.boltPort}`,
    `server.bolt.advertised_address=127.0.0.1:${s.boltPort}`,
    'server.bolt.tls_level=DISABLED',
    'server.http.enabled=true',
    `server.http.listen_address=127.0.0.1:${s.httpPort}`,
    `server.http.advertised_address=127.0.0.1:${s.httpPort}`,
    'server.https.enabled=false',
    '',
    '# Memory: modest, so that the service and a test instance fit side by side.',
    `server.memory.heap.initial_size=${s.heap}`,
    `server.memory.heap.max_size=${s.heap}`,
    `server.memory.pagecache.size=${s.pageCache}`,
    '',
    'dbms.security.auth_enabled=true',
    'dbms.usage_report.enabled=false',
    'client.allow_telemetry=false',
    '',
    '# Small transaction logs: this is a development database, not one to recover to a point in time.',
    'db.tx_log.rotation.retention_policy=2 files',
    'db.tx_log.rotation.size=64M',
    'db.tx_log.preallocate=false',
    '# Log only slow queries.',
    'db.logs.query.enabled=INFO',
    'db.logs.query.threshold=1s',
    '',
    '# Bolt waits 2 x 5 s for idle threads and connections on shutdown; 1 s each is plenty locally.',
    '# (Internal settings of 5.26; strict validation fails the start if a later version drops them.)',
    'internal.server.bolt.thread_pool_shutdown_wait_time=1s',
    'internal.server.bolt.connection_shutdown_wait_time=1s',
  ].join('\n')}\n`;
}

async function readPorts(confFile: string): Promise<{ bolt: number; http: number } | undefined> {
  let text: string;
  try {
    text = await readFile(confFile, 'utf8');
  } catch {
    return undefined;
  }
  const port = (key: string): number | undefined => {
    const m = new RegExp(`^${key.replace(/\./g, '\\.')}=.*:(\\d+)\\s*$`, 'm').exec(text);
    return m?.[1] === undefined ? undefined : Number(m[1]);
  };
  const bolt = port('server.bolt.listen_address');
  const http = port('server.http.listen_address');
  return bolt === undefined || http === undefined ? undefined : { bolt, http };
}

/**
 * Returns the password of this home's `neo4j` user. A fresh home gets a random one, stored in
 * `<home>/password` (mode 0600) and set with `neo4j-admin dbms set-initial-password` before the first
 * start, which is the only moment that command has an effect.
 */
async function ensurePassword(p: Paths, lib: string, log: Log): Promise<string> {
  const stored = await readPassword(p.passwordFile);
  const initialised = await exists(join(p.data, 'databases', 'system'));
  if (initialised) {
    if (stored !== undefined) return stored;
    throw new Error(
      `${p.home} holds a database but no password file (${p.passwordFile}). Restore the file, or delete ` +
        `${p.data} to start with an empty database and a new password.`,
    );
  }
  // base64url may start with '-', which the admin tool would read as an option: start with a letter.
  const password = stored ?? `p${randomBytes(18).toString('base64url')}`;
  if (stored === undefined) {
    const tmp = `${p.passwordFile}.tmp-${process.pid}`;
    await writeFile(tmp, `${password}\n`, { mode: 0o600 });
    await rename(tmp, p.passwordFile);
  }
  // The password goes in a picocli @-file rather than on the command line, where `ps` would show it.
  const argFile = join(p.run, `admin-args-${process.pid}`);
  await writeFile(argFile, `dbms set-initial-password ${password}\n`, { mode: 0o600 });
  try {
    const result = await run('java', ['-cp', `${lib}/*`, ADMIN_TOOL, `@${argFile}`], {
      ...process.env,
      NEO4J_HOME: p.home,
      NEO4J_CONF: p.conf,
    });
    if (result.code !== 0) {
      throw new Error(
        `neo4j-admin dbms set-initial-password failed (exit code ${result.code}):\n${tail(result.output, 30)}`,
      );
    }
  } finally {
    await rm(argFile, { force: true });
  }
  log(`Set the initial password of user '${USER}'; it is stored in ${p.passwordFile}.`);
  return password;
}

/**
 * User and password of the local server of `home`, for tools that connect to an already running one
 * (tools/graph-check.ts).
 */
export async function readLocalCredentials(home: string): Promise<{ user: string; password: string }> {
  const p = paths(home);
  const password = await readPassword(p.passwordFile);
  if (password === undefined) {
    throw new Error(
      `No password file at ${p.passwordFile}; start the local Neo4j first (npm run neo4j:start).`,
    );
  }
  return { user: USER, password };
}

async function readPassword(file: string): Promise<string | undefined> {
  try {
    const value = (await readFile(file, 'utf8')).trim();
    return value === '' ? undefined : value;
  } catch {
    return undefined;
  }
}

// ---------------------------------------------------------------------------------------------------------
// Processes, ports, files

async function readPid(pidFile: string): Promise<number | undefined> {
  try {
    const pid = Number((await readFile(pidFile, 'utf8')).trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

async function removePidFile(pidFile: string, pid: number): Promise<void> {
  if ((await readPid(pidFile)) === pid) await rm(pidFile, { force: true });
}

/** Whether `pid` is a live JVM running our entry point with `--home-dir=<home>`. */
async function isOurNeo4j(pid: number, home: string): Promise<boolean> {
  if (!isAlive(pid)) return false;
  let args: string[];
  const cmdline = readProcFile(`/proc/${pid}/cmdline`);
  if (cmdline !== undefined) {
    args = cmdline.split('\0');
  } else {
    const result = await run('ps', ['-o', 'command=', '-p', String(pid)]).catch(() => undefined);
    if (result === undefined || result.code !== 0) return false;
    args = result.output.trim().split(/\s+/);
  }
  return args.includes(ENTRY_POINT) && args.includes(`--home-dir=${home}`);
}

/** Serialises starts for one home across processes (the service and a CLI call, say). */
async function withStartLock<T>(p: Paths, fn: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + DEFAULT_TIMEOUT_MS + 30_000;
  for (;;) {
    try {
      await writeFile(p.lockFile, `${process.pid}\n`, { flag: 'wx' });
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const holder = await readPid(p.lockFile);
      if (holder === undefined || holder === process.pid || !isAlive(holder)) {
        await rm(p.lockFile, { force: true });
        continue;
      }
      if (Date.now() > deadline) {
        throw new Error(
          `Another process (pid ${holder}) has been starting Neo4j for ${p.home} for too long.`,
        );
      }
      await sleep(250);
    }
  }
  try {
    return await fn();
  } finally {
    await rm(p.lockFile, { force: true });
  }
}

function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port: 0 }, () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolvePort(port));
    });
  });
}

function assertPortFree(port: number, what: string, variable: string): Promise<void> {
  return new Promise((resolveFree, reject) => {
    const server = createServer();
    server.once('error', (error: NodeJS.ErrnoException) => {
      reject(
        error.code === 'EADDRINUSE'
          ? new Error(
              `${what} port ${port} on 127.0.0.1 is already in use (another Neo4j?). Stop that process or ` +
                `choose another port with ${variable}.`,
            )
          : error,
      );
    });
    server.listen({ host: '127.0.0.1', port }, () => server.close(() => resolveFree()));
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

async function tailOfFile(file: string, lines: number): Promise<string> {
  try {
    return tail(await readFile(file, 'utf8'), lines);
  } catch {
    return '(no console log)';
  }
}

function tail(text: string, lines: number): string {
  return text.trimEnd().split('\n').slice(-lines).join('\n');
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
