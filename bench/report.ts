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
  process: { apiPeakRssMiB: number; neo4jHeapUsedMiB?: number; pageCacheMiB?: number; [k: string]: unknown };
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
  target?: { op: '>=' | '<='; value: number };
}

/** The figures of each workload that the table shows, in order, with the issue's targets. */
function rows(w: Workloads): Row[] {
  const out: Row[] = [];
  const add = (workload: string, figure: string, unit: string, target?: Row['target']) => {
    const data = w[workload];
    if (data !== undefined)
      out.push({ workload, figure, value: data[figure], unit, ...(target ? { target } : {}) });
  };
  add('W1', 'eventsPerSec', 'events/s', { op: '>=', value: 2000 });
  add('W1', 'p50Ms', 'ms');
  add('W1', 'p99Ms', 'ms');
  add('W1', 'baselineEventsPerSec', 'events/s');
  add('W1', 'ratio', 'x raw', { op: '>=', value: 0.5 });
  add('W2', 'eventsPerSec', 'events/s', { op: '>=', value: 5000 });
  add('W2', 'baselineEventsPerSec', 'events/s');
  add('W2', 'ratio', 'x raw');
  add('W3', 'p50Ms', 'ms');
  add('W3', 'p95Ms', 'ms', { op: '<=', value: 1000 });
  add('W3', 'p99Ms', 'ms');
  add('W4', 'mergesPerSec', 'merges/s', { op: '>=', value: 200 });
  add('W4', 'lateToEarlyRatio', 'x', { op: '<=', value: 2 });
  add('W4', 'historyRatio', 'x', { op: '<=', value: 2 });
  add('W5', 'requestsPerSec', 'req/s', { op: '>=', value: 1000 });
  add('W5', 'p50Ms', 'ms');
  add('W5', 'p99Ms', 'ms', { op: '<=', value: 50 });
  add('W5', 'baselineRequestsPerSec', 'req/s');
  add('W5', 'ratio', 'x raw', { op: '>=', value: 0.5 });
  add('W6', 'p99Ms', 'ms');
  add('W6', 'eventsPerSec', 'events/s');
  return out;
}

/** Labels that say what a bare figure name means. */
const LABELS: Record<string, string> = {
  'W1 p50Ms': 'ack p50',
  'W1 p99Ms': 'ack p99',
  'W3 p50Ms': 'ack→visible p50',
  'W3 p95Ms': 'ack→visible p95',
  'W3 p99Ms': 'ack→visible p99',
  'W5 p50Ms': 'p50 at 200 req/s',
  'W5 p99Ms': 'p99 at 200 req/s',
  'W5 requestsPerSec': 'requestsPerSec (closed loop)',
  'W6 p99Ms': 'lookup p99 at 200 req/s',
  'W6 eventsPerSec': 'ingest eventsPerSec',
};

export function table(results: Results): string {
  const lines: string[][] = [['workload', 'figure', 'value', 'target', '']];
  for (const r of rows(results.workloads)) {
    const value = typeof r.value === 'number' ? r.value : Number.NaN;
    const meets =
      r.target === undefined || Number.isNaN(value)
        ? ''
        : (r.target.op === '>=' ? value >= r.target.value : value <= r.target.value)
          ? 'meets'
          : 'misses';
    lines.push([
      r.workload,
      LABELS[`${r.workload} ${r.figure}`] ?? r.figure,
      `${format(value)} ${r.unit}`,
      r.target === undefined ? '' : `${r.target.op} ${format(r.target.value)}`,
      meets,
    ]);
  }
  const p = results.process;
  lines.push(['process', 'API peak RSS', `${format(p.apiPeakRssMiB)} MiB`, '', '']);
  if (p.neo4jHeapUsedMiB !== undefined)
    lines.push(['process', 'Neo4j heap used (peak sample)', `${format(p.neo4jHeapUsedMiB)} MiB`, '', '']);
  if (p.pageCacheMiB !== undefined)
    lines.push(['process', 'Neo4j page cache', `${format(p.pageCacheMiB)} MiB`, '', '']);
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
  for (const r of rows(results.workloads)) {
    const value = typeof r.value === 'number' ? r.value : Number.NaN;
    out.push(
      `| ${r.workload} | ${LABELS[`${r.workload} ${r.figure}`] ?? r.figure} | ${format(value)} ${r.unit} | ${
        r.target === undefined ? '' : `${r.target.op === '>=' ? '≥' : '≤'} ${format(r.target.value)}`
      } |`,
    );
  }
  return out.join('\n');
}

function format(n: number): string {
  if (!Number.isFinite(n)) return 'n/a';
  return Math.abs(n) >= 1000 ? Math.round(n).toLocaleString('en-US') : String(n);
}
