// `npx tsx tools/duckdb-query.ts <file.duckdb> "<sql>"`: runs one query on a DuckDB file opened read-only
// and prints the rows as a table, for a look at a Profiles Sync target without installing DuckDB's own
// CLI (`duckdb -readonly <file> -c "<sql>"` does the same). Close it before the next sync: DuckDB lets no
// process write a file that another holds, even read-only (docs/adr/0024-profiles-sync.md).
import { DuckDBInstance } from '@duckdb/node-api';

const [file, sql] = process.argv.slice(2);
if (file === undefined || sql === undefined) {
  process.stderr.write('usage: npx tsx tools/duckdb-query.ts <file.duckdb> "<sql>"\n');
  process.exit(2);
}
const instance = await DuckDBInstance.create(file, { access_mode: 'READ_ONLY' });
try {
  const connection = await instance.connect();
  const reader = await connection.runAndReadAll(sql);
  const names = reader.columnNames();
  const rows = reader
    .getRowsJson()
    .map((row) => row.map((v) => (v === null ? 'NULL' : typeof v === 'string' ? v : JSON.stringify(v))));
  const widths = names.map((n, i) => Math.max(n.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i] ?? 0))
      .join(' | ')
      .trimEnd();
  process.stdout.write(
    `${[line(names), widths.map((w) => '-'.repeat(w)).join('-+-'), ...rows.map(line)].join('\n')}\n`,
  );
  process.stdout.write(`(${rows.length} ${rows.length === 1 ? 'row' : 'rows'})\n`);
  connection.closeSync();
} finally {
  instance.closeSync();
}
