// Process checks shared by the local database launchers (tools/neo4j, tools/postgres).
import { readFileSync } from 'node:fs';

/** Whether a process runs: signal 0 reaches it (EPERM: another user's, but alive) and it is no zombie. */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    // EPERM: alive, but another user's (as root, PostgreSQL runs as `postgres`; the reverse case too).
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
  // An exited process whose parent has not reaped it yet still answers signal 0.
  // (Without /proc, as on macOS, kill(0) has to do.)
  const procStat = readProcFile(`/proc/${pid}/stat`);
  return procStat === undefined || !/^\d+ \(.*\) Z/.test(procStat);
}

/** A /proc file's text, or undefined where there is none. */
export function readProcFile(file: string): string | undefined {
  try {
    // Synchronous on purpose: /proc files are tiny and isAlive is used in polling loops.
    return readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

/** Sends a signal; a process that is already gone is no error. */
export function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
  }
}
