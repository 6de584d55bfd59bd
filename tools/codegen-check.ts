// Fails when src/generated/ differs from what `npm run codegen` would write (STYLE.md §2).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, cpSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const target = 'src/generated/graphql.ts';
const backup = mkdtempSync(join(tmpdir(), 'codegen-check-'));
const before = readFileSync(target, 'utf8');
cpSync(target, join(backup, 'graphql.ts'));
try {
  execFileSync('npx', ['graphql-codegen', '--config', 'codegen.ts', '--silent'], { stdio: 'inherit' });
  const after = readFileSync(target, 'utf8');
  if (after !== before) {
    cpSync(join(backup, 'graphql.ts'), target);
    console.error(`${target} is stale: run \`npm run codegen\` and commit the result.`);
    process.exit(1);
  }
  console.log(`${target} is up to date.`);
} finally {
  rmSync(backup, { recursive: true, force: true });
}
