// The results file and the table printed at the end of a run, each figure beside its target (issue #6).
// Targets are printed, not enforced: the figures decide what to work on next.
import { execFileSync } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus, platform, release, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { format as prettier, resolveConfig } from 'prettier';
import type { Mode } from './settings.ts';

export const RESULTS_DIR = fileURLToPath(new URL('./results/', import.meta.url));

export type Workloads = Record<string, Record<string, unknown>>;

export interface Results {
  date: string;
  machine: { cpus: number; cpuModel: string; memGiB: number; os: string };
  neo4j: string;
  /** PostgreSQL's server version (the event store's). */
  postgres?: string;
  node: string;
  mode: Mode;
  /** Ingestion transactions in flight per space in the API (INGEST_WRITERS). */
  ingestWriters?: number;
  /** The code measured: HEAD, and whether the work tree had changes to tracked files. */
  git: { commit: string; dirty: boolean } | null;
  /** Workloads run, when `--only` narrowed them. */
  only?: string[];
  seed: Record<string, unknown>;
  workloads: Workloads;
  /** The stores' size: `history` after seeding, `end` after the workloads (run.ts). */
  storage?: Record<string, Record<string, unknown> | undefined>;
  process: {
    apiPeakRssMiB: number;
    neo4jHeapUsedMiB?: number;
    pageCacheMiB?: number;
    postgresSharedBuffers?: string;
    [k: string]: unknown;
  };
  wallSeconds: number;
  notes: string[];
}

export function machine(): Results['machine'] {
  const list = cpus();
  return {
    cpus: list.length,
    cpuModel: list[0]?.model.trim() ?? 'unknown',
    memGiB: Math.round((totalmem() / 1024 ** 3) * 10) / 10,
    os: `${platform()} ${release()}`,
  };
}

export function gitState(): Results['git'] {
  try {
    const run = (args: string[]) =>
      execFileSync('git', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    const commit = run(['rev-parse', 'HEAD']).trim();
    const dirty = run(['status', '--porcelain', '--untracked-files=no']).trim() !== '';
    return { commit, dirty };
  } catch {
    return null;
  }
}

/** latest.json and a dated copy for complete runs; runs narrowed by --only go to the git-ignored tmp/. */
export async function writeResults(results: Results): Promise<string[]> {
  // Formatted as the repository's `prettier --check .` expects, so that a run never breaks `npm run lint`.
  const latest = join(RESULTS_DIR, 'latest.json');
  const text = await prettier(JSON.stringify(results), {
    ...((await resolveConfig(latest)) ?? {}),
    filepath: latest,
  });
  const day = results.date.slice(0, 10);
  if (results.only !== undefined) {
    const dir = join(RESULTS_DIR, 'tmp');
    await mkdir(dir, { recursive: true });
    const file = join(dir, `${day}-${results.mode}-${results.only.join('-')}.json`);
    await writeFile(file, text);
    return [file];
  }
  await mkdir(RESULTS_DIR, { recursive: true });
  const files = [latest, join(RESULTS_DIR, `${day}.json`)];
  for (const file of files) await writeFile(file, text);
  return files;
}

interface Row {
  workload: string;
  figure: string;
  value: unknown;
  unit: string;
  /** The issue's target; `floor`, where it sets one, is the least it accepts short of the target. */
  target?: { op: '>=' | '<='; value: number; floor?: number };
}

/** The figures of each workload that the table shows, in order, with the issues' targets. */
function rows(w: Workloads, storage: Results['storage'] = {}): Row[] {
  const out: Row[] = [];
  const add = (workload: string, figure: string, unit: string, target?: Row['target'], optional = false) => {
    const data = w[workload];
    // An optional figure is left out when the run has none (W8's comparison with W7, when W7 did not run).
    if (data !== undefined && (!optional || data[figure] !== undefined))
      out.push({ workload, figure, value: data[figure], unit, ...(target ? { target } : {}) });
  };
  add('W1', 'eventsPerSec', 'events/s', { op: '>=', value: 2000 });
  add('W1', 'p50Ms', 'ms');
  add('W1', 'p99Ms', 'ms');
  add('W1', 'graphBaselineEventsPerSec', 'events/s');
  add('W1', 'ratioToGraphBaseline', 'x', { op: '>=', value: 1.5, floor: 1.2 });
  add('W1', 'twoStoreBaselineEventsPerSec', 'events/s');
  add('W1', 'ratioToTwoStoreBaseline', 'x');
  add('W1', 'apiCpuUsPerEvent', 'µs');
  add('W1', 'fastPathShare', 'of events');
  add('W2', 'eventsPerSec', 'events/s', { op: '>=', value: 5000 });
  add('W2', 'graphBaselineEventsPerSec', 'events/s');
  add('W2', 'ratioToGraphBaseline', 'x', { op: '>=', value: 1.5 });
  add('W2', 'twoStoreBaselineEventsPerSec', 'events/s');
  add('W2', 'ratioToTwoStoreBaseline', 'x');
  add('W2', 'apiCpuUsPerEvent', 'µs');
  add('W3', 'p50Ms', 'ms');
  add('W3', 'p95Ms', 'ms', { op: '<=', value: 1000 });
  add('W3', 'p99Ms', 'ms');
  add('W4', 'mergesPerSec', 'merges/s', { op: '>=', value: 200 });
  add('W4', 'lateToEarlyRatio', 'x', { op: '<=', value: 2 });
  add('W4', 'historyRatio', 'x', { op: '<=', value: 2 });
  add('W5', 'requestsPerSec', 'req/s', { op: '>=', value: 1000 });
  add('W5', 'openRate', 'req/s');
  add('W5', 'p50Ms', 'ms');
  add('W5', 'p99Ms', 'ms', { op: '<=', value: 50 });
  add('W5', 'baselineRequestsPerSec', 'req/s');
  add('W5', 'ratio', 'x raw', { op: '>=', value: 0.6 });
  add('W6', 'p99Ms', 'ms');
  add('W6', 'eventsPerSec', 'events/s');
  add('W7', 'backfillMatchingEventsPerSec', 'events/s');
  add('W7', 'backfillSecondsPer1MMatching', 's');
  add('W7', 'backfillSecondsPer1MHistory', 's');
  add('W7', 'eventsPerSecWithout', 'events/s');
  add('W7', 'eventsPerSecWith', 'events/s');
  add('W7', 'ratio', 'x', { op: '>=', value: 0.8 });
  add('W7', 'drainSecondsAfterLoad', 's');
  add('W7', 'freshnessP50Ms', 'ms');
  add('W7', 'freshnessP95Ms', 'ms', { op: '<=', value: 1000 });
  add('W7', 'freshnessMaxMs', 'ms');
  add('W7', 'oracleMismatches', 'values', { op: '<=', value: 0 });
  add('W8', 'backfillSeconds', 's');
  add('W8', 'backfillProfilesPerSec', 'profiles/s');
  add('W8', 'audiencesLiveSeconds', 's');
  add('W8', 'eventsPerSecWithout', 'events/s');
  add('W8', 'eventsPerSecWith', 'events/s');
  add('W8', 'ratio', 'x', { op: '>=', value: 0.7 });
  add('W8', 'ratioToTraitsOnly', 'x', undefined, true);
  add('W8', 'drainSecondsAfterLoad', 's');
  add('W8', 'freshnessP50Ms', 'ms');
  add('W8', 'freshnessP95Ms', 'ms', { op: '<=', value: 1000 });
  add('W8', 'freshnessMaxMs', 'ms');
  add('W8', 'previewP50Seconds', 's');
  add('W8', 'previewP95Seconds', 's', { op: '<=', value: 2 });
  add('W8', 'oracleMismatches', 'memberships', { op: '<=', value: 0 });
  add('W8', 'webhookDeliveriesPerSec', 'deliveries/s');
  add('W8', 'webhookRawSignedPostsPerSec', 'requests/s');
  add('W10', 'changeLogRows', 'rows');
  add('W10', 'initialPostgresRowsPerSec', 'rows/s');
  add('W10', 'initialDuckDbRowsPerSec', 'rows/s');
  add('W10', 'rawInsertRowsPerSec', 'rows/s');
  add('W10', 'lagUnderLoadP95SecondsPostgres', 's', { op: '<=', value: 60 });
  add('W10', 'lagUnderLoadP95SecondsDuckDb', 's', { op: '<=', value: 60 });
  add('W10', 'sqlTraitFirstRunSeconds', 's');
  add('W10', 'sqlTraitRows', 'rows');
  add('W9', 'rows', 'rows');
  add('W9', 'rowsPerSec', 'rows/s');
  add('W9', 'w2EventsPerSec', 'events/s', undefined, true);
  add('W9', 'ratioToW2', 'x', undefined, true);
  const store = (part: 'history' | 'end', figure: string, label: string, unit: string) => {
    const data = storage?.[part];
    if (data !== undefined) out.push({ workload: 'storage', figure: label, value: data[figure], unit });
  };
  store('history', 'postgresBytesPerEvent', 'PostgreSQL bytes per event (history)', 'B');
  store('end', 'postgresBytesPerEvent', 'PostgreSQL bytes per event (end of run)', 'B');
  store('history', 'graphBytesPerProfile', 'graph store bytes per profile (history)', 'B');
  return out;
}

/** Labels that say what a bare figure name means. */
const LABELS: Record<string, string> = {
  'W1 p50Ms': 'ack p50',
  'W1 p99Ms': 'ack p99',
  'W3 p50Ms': 'ack→visible p50',
  'W3 p95Ms': 'ack→visible p95',
  'W3 p99Ms': 'ack→visible p99',
  'W1 graphBaselineEventsPerSec': 'raw baseline, events as Neo4j nodes (old design)',
  'W1 ratioToGraphBaseline': 'ratio to the old design’s raw baseline',
  'W1 twoStoreBaselineEventsPerSec': 'raw baseline, PostgreSQL rows + graph writes (new design)',
  'W1 ratioToTwoStoreBaseline': 'ratio to the new design’s raw baseline',
  'W1 apiCpuUsPerEvent': 'API CPU per event',
  'W1 fastPathShare': 'fast path share',
  'W2 graphBaselineEventsPerSec': 'raw baseline, events as Neo4j nodes (old design)',
  'W2 ratioToGraphBaseline': 'ratio to the old design’s raw baseline',
  'W2 twoStoreBaselineEventsPerSec': 'raw baseline, PostgreSQL rows + graph writes (new design)',
  'W2 ratioToTwoStoreBaseline': 'ratio to the new design’s raw baseline',
  'W2 apiCpuUsPerEvent': 'API CPU per event',
  'W5 openRate': 'open-loop rate (half the closed loop’s)',
  'W5 p50Ms': 'p50 at half capacity',
  'W5 p99Ms': 'p99 at half capacity',
  'W5 requestsPerSec': 'requestsPerSec (closed loop)',
  'W6 p99Ms': 'lookup p99 at 200 req/s',
  'W6 eventsPerSec': 'ingest eventsPerSec',
  'W7 backfillMatchingEventsPerSec': 'backfill of one sum trait: matching events/s',
  'W7 backfillSecondsPer1MMatching': 'backfill: projected time for 1M matching events',
  'W7 backfillSecondsPer1MHistory': 'backfill: projected time for a 1M-event history (all calls)',
  'W7 eventsPerSecWithout': 'W1 without computed traits (same run)',
  'W7 eventsPerSecWith': 'W1 with 20 computed traits',
  'W7 ratio': 'ratio with / without traits',
  'W7 drainSecondsAfterLoad': 'worker backlog drained after the loaded phase in',
  'W7 freshnessP50Ms': 'ack→computed value visible p50',
  'W7 freshnessP95Ms': 'ack→computed value visible p95',
  'W7 freshnessMaxMs': 'ack→computed value visible max',
  'W7 oracleMismatches': 'oracle mismatches (1,000 profiles x 20 traits)',
  'W9 rows': 'CSV rows uploaded in one streamed request (each a new profile)',
  'W9 rowsPerSec': 'CSV upload, rows applied/s end to end',
  'W9 w2EventsPerSec': "W2's large-batch events/s (same run)",
  'W9 ratioToW2': 'ratio of rows/s to W2 events/s',
  'W8 backfillSeconds': 'an audience created over the history: COMPUTING → LIVE',
  'W8 backfillProfilesPerSec': 'that creation: profiles evaluated/s',
  'W8 audiencesLiveSeconds': '19 more audiences: defined → all LIVE',
  'W8 eventsPerSecWithout': 'W1 without computed traits or audiences (same run)',
  'W8 eventsPerSecWith': 'W1 with 20 audiences and 20 computed traits',
  'W8 ratio': 'ratio with / without',
  'W8 ratioToTraitsOnly': "ratio to W7's W1 with the 20 traits alone",
  'W8 drainSecondsAfterLoad': 'worker backlog drained after the loaded phase in',
  'W8 freshnessP50Ms': 'ack→membership visible p50',
  'W8 freshnessP95Ms': 'ack→membership visible p95',
  'W8 freshnessMaxMs': 'ack→membership visible max',
  'W8 previewP50Seconds': 'previewAudience over the whole space p50',
  'W8 previewP95Seconds': 'previewAudience over the whole space p95',
  'W8 oracleMismatches': 'oracle mismatches (1,000 profiles x 20 audiences)',
  'W10 changeLogRows': 'change-log rows of the space (warm-up and earlier workloads)',
  'W10 initialPostgresRowsPerSec': 'initial sync to a PostgreSQL target',
  'W10 initialDuckDbRowsPerSec': 'initial sync to a DuckDB file',
  'W10 rawInsertRowsPerSec': 'raw baseline, multi-row INSERTs into the same database',
  'W10 lagUnderLoadP95SecondsPostgres': 'PostgreSQL target lag p95 under W1 load',
  'W10 lagUnderLoadP95SecondsDuckDb': 'DuckDB target lag p95 under W1 load',
  'W10 sqlTraitFirstRunSeconds': 'a SQL trait over the PostgreSQL target, first run',
  'W10 sqlTraitRows': 'that SQL trait: rows',
  'W8 webhookDeliveriesPerSec': 'webhook deliveries/s to a local receiver (initial sync)',
  'W8 webhookRawSignedPostsPerSec': 'raw baseline, signed POSTs to the same receiver',
};

/** meets, meets only the floor, or misses the row's target; '' without one or without a figure. */
function verdict(r: Row): string {
  const value = typeof r.value === 'number' ? r.value : Number.NaN;
  if (r.target === undefined || Number.isNaN(value)) return '';
  const reaches = (bound: number) => (r.target?.op === '>=' ? value >= bound : value <= bound);
  if (reaches(r.target.value)) return 'meets';
  return r.target.floor !== undefined && reaches(r.target.floor) ? 'meets floor only' : 'misses';
}

function targetText(t: Row['target'], symbols: { '>=': string; '<=': string }): string {
  if (t === undefined) return '';
  const floor = t.floor === undefined ? '' : ` (floor ${format(t.floor)})`;
  return `${symbols[t.op]} ${format(t.value)}${floor}`;
}

export function table(results: Results): string {
  const lines: string[][] = [['workload', 'figure', 'value', 'target', '']];
  for (const r of rows(results.workloads, results.storage)) {
    const value = typeof r.value === 'number' ? r.value : Number.NaN;
    lines.push([
      r.workload,
      LABELS[`${r.workload} ${r.figure}`] ?? r.figure,
      `${format(value)} ${r.unit}`,
      targetText(r.target, { '>=': '>=', '<=': '<=' }),
      verdict(r),
    ]);
  }
  const p = results.process;
  lines.push(['process', 'API peak RSS', `${format(p.apiPeakRssMiB)} MiB`, '', '']);
  if (p.neo4jHeapUsedMiB !== undefined)
    lines.push(['process', 'Neo4j heap used (peak sample)', `${format(p.neo4jHeapUsedMiB)} MiB`, '', '']);
  if (p.pageCacheMiB !== undefined)
    lines.push(['process', 'Neo4j page cache', `${format(p.pageCacheMiB)} MiB`, '', '']);
  if (p.postgresSharedBuffers !== undefined)
    lines.push(['process', 'PostgreSQL shared_buffers', p.postgresSharedBuffers, '', '']);
  const widths = lines[0]?.map((_, i) => Math.max(...lines.map((l) => (l[i] ?? '').length))) ?? [];
  return lines
    .map((l) =>
      l
        .map((cell, i) => cell.padEnd(widths[i] ?? 0))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

/** Markdown for the README's Performance section. */
export function markdown(results: Results): string {
  const out = ['| workload | figure | value | target |', '|---|---|---|---|'];
  for (const r of rows(results.workloads, results.storage)) {
    const value = typeof r.value === 'number' ? r.value : Number.NaN;
    out.push(
      `| ${r.workload} | ${LABELS[`${r.workload} ${r.figure}`] ?? r.figure} | ${format(value)} ${r.unit} | ${targetText(
        r.target,
        { '>=': '≥', '<=': '≤' },
      )} |`,
    );
  }
  return out.join('\n');
}

function format(n: number): string {
  if (!Number.isFinite(n)) return 'n/a';
  return Math.abs(n) >= 1000 ? Math.round(n).toLocaleString('en-US') : String(n);
}
