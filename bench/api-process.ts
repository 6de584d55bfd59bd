// The API under test, in its own Node process (forked by bench/stack.ts), so that the load generator never
// shares its event loop, heap or RSS. It is the real composition root: startService with a configuration
// from loadConfig, pointed at the benchmark's Neo4j and PostgreSQL. Spaces and keys are made through
// services.spaces.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { loadConfig } from '../src/config.ts';
import { createLogger } from '../src/log.ts';
import { startService, type Service } from '../src/service.ts';
import type { ApiReply, ApiRequest } from './stack.ts';

const MiB = 1024 * 1024;
let service: Service | undefined;
let peakRss = process.memoryUsage.rss();
let windowPeakRss = peakRss;

// process.memoryUsage.rss() alone: the full memoryUsage() also walks V8's heap spaces, 10 times a second, and
// showed in the API's CPU profile as the harness's cost.
const sampler = setInterval(() => {
  const rss = process.memoryUsage.rss();
  peakRss = Math.max(peakRss, rss);
  windowPeakRss = Math.max(windowPeakRss, rss);
}, 100);

/** The kernel's own high-water mark of this process's resident set (Linux); null elsewhere. */
function vmHwmMiB(): number | null {
  try {
    const kb = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'))?.[1];
    return kb === undefined ? null : Number(kb) / 1024;
  } catch {
    return null;
  }
}

function reply(message: ApiReply): void {
  process.send?.(message);
}

async function handle(request: ApiRequest): Promise<ApiReply> {
  switch (request.type) {
    case 'start': {
      const config = loadConfig({
        NODE_ENV: 'production',
        HOST: '127.0.0.1',
        PORT: '0',
        // A free metrics port, so that a service already on 9464 (npm start) does not stop the benchmark.
        METRICS_PORT: '0',
        LOG_LEVEL: 'error',
        NEO4J_URI: request.uri,
        NEO4J_PASSWORD: request.password,
        DATABASE_URL: request.databaseUrl,
        // The per-key rate limit would cap every workload at its default of 1,000 events/s.
        TRACKING_RATE_LIMIT: '100000000',
        TRACKING_RATE_BURST: '100000000',
        // W8 times webhook deliveries to a receiver on loopback: a key made for this run, private URLs allowed.
        DESTINATION_SECRET_KEY: randomBytes(32).toString('base64'),
        DESTINATIONS_ALLOW_PRIVATE_URLS: 'true',
        // W10 syncs to warehouse targets: a key made for this run, and a one-second interval so that lag
        // shows what the sync does rather than how long it waits.
        SYNC_SECRET_KEY: randomBytes(32).toString('base64'),
        SYNC_INTERVAL_MS: '1000',
        // W10's SQL trait reads one row per user of the main space.
        SQL_TRAIT_MAX_ROWS: '1000000',
        // Group commit's writers per space; the default unless the benchmark is asked for another.
        ...(process.env.INGEST_WRITERS === undefined ? {} : { INGEST_WRITERS: process.env.INGEST_WRITERS }),
      });
      service = await startService(config, createLogger(config.logLevel));
      return { type: 'ready', seq: request.seq, url: service.url, pid: process.pid };
    }
    case 'space': {
      const spaces = requireService().services.spaces;
      await spaces.createSpace(request.id);
      if (request.anonymousLimit !== undefined) {
        const identity = requireService().services.identity;
        const rules = await identity.rules(request.id);
        const result = await identity.setRules(
          request.id,
          rules.map((r) =>
            r.type === 'anonymous_id' ? { ...r, limit: request.anonymousLimit as number } : r,
          ),
        );
        if (!result.ok) throw new Error(`rules refused: ${JSON.stringify(result.problems)}`);
      }
      const write = await spaces.createKey(request.id, 'write', { name: 'bench write key' });
      const token = await spaces.createKey(request.id, 'token', { name: 'bench read token' });
      // W7 defines computed traits, which needs the admin scope; the workloads read with the read token.
      const admin = await spaces.createKey(request.id, 'token', {
        name: 'bench admin token',
        scopes: ['admin'],
      });
      return {
        type: 'space',
        seq: request.seq,
        writeKey: write.secret,
        token: token.secret,
        adminToken: admin.secret,
      };
    }
    case 'sync-target': {
      const added = await requireService().services.sync.addTarget(request.space, {
        kind: request.kind,
        location: request.location,
      });
      if (!added.ok) throw new Error(`sync target refused: ${added.message}`);
      return { type: 'sync-target', seq: request.seq, id: added.target.id };
    }
    case 'sample': {
      const window = windowPeakRss;
      windowPeakRss = process.memoryUsage.rss();
      const cpu = process.cpuUsage();
      return {
        type: 'sample',
        seq: request.seq,
        windowPeakRssMiB: window / MiB,
        peakRssMiB: peakRss / MiB,
        cpuMs: (cpu.user + cpu.system) / 1000,
        deadlocks: service?.deadlocks() ?? 0,
        commit: service?.services.commit.stats() ?? { events: 0, fastPath: 0 },
        queries: service?.queryTimes() ?? { neo4j: {}, postgres: {} },
      };
    }
    case 'stop': {
      clearInterval(sampler);
      await service?.stop();
      service = undefined;
      return { type: 'stopped', seq: request.seq, peakRssMiB: peakRss / MiB, vmHwmMiB: vmHwmMiB() };
    }
  }
}

function requireService(): Service {
  if (service === undefined) throw new Error('the API is not started');
  return service;
}

process.on('message', (request: ApiRequest) => {
  handle(request).then(
    (answer) => {
      reply(answer);
      if (answer.type === 'stopped') process.disconnect?.();
    },
    (error: unknown) =>
      reply({
        type: 'error',
        seq: request.seq,
        message: error instanceof Error ? (error.stack ?? error.message) : String(error),
      }),
  );
});
// The parent going away (a crash, Ctrl-C) takes the API with it.
process.on('disconnect', () => {
  clearInterval(sampler);
  void (service?.stop() ?? Promise.resolve()).finally(() => process.exit(0));
});
