// One query per file (STYLE.md §4): `.cypher` below cypher/ for Neo4j, `.sql` below sql/ for PostgreSQL.
// Files are read once at start-up; a query that the code names but the folder lacks fails the boot, so a
// typo never reaches a request.
import { readdir, readFile } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

export const CYPHER_DIR = fileURLToPath(new URL('../../cypher/', import.meta.url));

export interface RegistryOptions {
  /** The files' extension, with its dot; `.cypher` unless set. */
  extension?: string;
  /** Folders directly below `dir` that hold no queries (sql/migrations/). */
  skip?: readonly string[];
}

export class QueryRegistry {
  private constructor(private readonly texts: ReadonlyMap<string, string>) {}

  /** Loads every query file below `dir`, named by its path without the extension (`identity/write-batch`). */
  static async load(
    dir: string = CYPHER_DIR,
    required: readonly string[] = [],
    options: RegistryOptions = {},
  ): Promise<QueryRegistry> {
    const extension = options.extension ?? '.cypher';
    const skip = new Set((options.skip ?? []).map((folder) => join(dir, folder)));
    const texts = new Map<string, string>();
    for (const file of await listQueryFiles(dir, extension, skip)) {
      const name = relative(dir, file).split(sep).join('/').slice(0, -extension.length);
      texts.set(name, await readFile(file, 'utf8'));
    }
    const missing = required.filter((name) => !texts.has(name));
    if (missing.length > 0) {
      throw new Error(`Missing query files in ${dir}: ${missing.map((m) => `${m}${extension}`).join(', ')}`);
    }
    return new QueryRegistry(texts);
  }

  get(name: string): string {
    const text = this.texts.get(name);
    if (text === undefined) throw new Error(`Unknown query "${name}"`);
    return text;
  }

  names(): string[] {
    return [...this.texts.keys()].sort();
  }
}

async function listQueryFiles(dir: string, extension: string, skip: ReadonlySet<string>): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (!skip.has(path)) out.push(...(await listQueryFiles(path, extension, skip)));
    } else if (entry.name.endsWith(extension)) out.push(path);
  }
  return out.sort();
}
