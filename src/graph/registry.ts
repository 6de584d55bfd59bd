// One query per .cypher file (STYLE.md §4). Files are read once at start-up; a query that the code names
// but the folder lacks fails the boot, so a typo never reaches a request.
import { readdir, readFile } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

export const CYPHER_DIR = fileURLToPath(new URL('../../cypher/', import.meta.url));

export class QueryRegistry {
  private constructor(private readonly texts: ReadonlyMap<string, string>) {}

  /** Loads every `*.cypher` below `dir`, named by its path without the extension (`identity/create-event`). */
  static async load(dir: string = CYPHER_DIR, required: readonly string[] = []): Promise<QueryRegistry> {
    const texts = new Map<string, string>();
    for (const file of await listCypherFiles(dir)) {
      const name = relative(dir, file)
        .split(sep)
        .join('/')
        .replace(/\.cypher$/, '');
      texts.set(name, await readFile(file, 'utf8'));
    }
    const missing = required.filter((name) => !texts.has(name));
    if (missing.length > 0) {
      throw new Error(`Missing Cypher files in ${dir}: ${missing.map((m) => `${m}.cypher`).join(', ')}`);
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

async function listCypherFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await listCypherFiles(path)));
    else if (entry.name.endsWith('.cypher')) out.push(path);
  }
  return out.sort();
}
