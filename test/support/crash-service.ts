// The service as `npm start` runs it, in a child process that the crash tests kill (kill -9). Prints
// `READY <url>` once up. Ways to die, for the tests that call for them:
// - CRASH_AT=<CommitStep>: sends itself SIGKILL right after that step of the first batch's two-store commit
//   (docs/adr/0018-event-store.md); unset, never at a commit step.
// - KILL_AFTER_SQL=<query name> (e.g. computed/write-values): once the process has received SIGUSR2, sends
//   itself SIGKILL as soon as a statement of that name has answered in a transaction, so before its
//   commit; with KILL_AFTER_COMMIT=1, as soon as such a transaction has committed, so before the work that
//   follows it. The test chooses the moment (the signal), this the place within the work. With
//   KILL_WITH_ROWS=1, only a statement that answered with rows counts (computed/take-projection runs on
//   every pass, and answers rows only when some subject's memberships are due).
// - SYNC_KILL_AT=<step>:<n>:<kind> (step `written` or `committed`, src/sync/sync.service.ts; kind `duckdb`
//   or `postgres`): sends itself SIGKILL the n-th time a sync transaction to a target of that kind reaches
//   the step: `written` is after its rows and cursor
//   are written and before the target commits them, `committed` after the target's commit and before the
//   event store records it (test/integration/sync-crash.test.ts). SYNC_BATCH sets the change-log rows per
//   sync transaction.
// COMPUTED_TICK_MS and COMPUTED_CHUNK, when set, make the computed-traits worker pass more often and take
// fewer profiles per transaction, so that it commits often under load (test/integration/computed-crash.test.ts).
import { DEFAULT_COMPUTED_SETTINGS } from '../../src/computed/index.ts';
import { loadConfig } from '../../src/config.ts';
import { createLogger } from '../../src/log.ts';
import { Database, type SqlTx } from '../../src/postgres/database.ts';
import { startService } from '../../src/service.ts';
import { DEFAULT_SYNC_SETTINGS, type SyncStep, type TargetKind } from '../../src/sync/index.ts';

const crashAt = process.env.CRASH_AT;
const killAfter = process.env.KILL_AFTER_SQL;
if (killAfter !== undefined) {
  const afterCommit = process.env.KILL_AFTER_COMMIT === '1';
  const withRows = process.env.KILL_WITH_ROWS === '1';
  let armed = false;
  process.on('SIGUSR2', () => (armed = true));
  const die = () => process.kill(process.pid, 'SIGKILL');
  // Every transaction of the process goes through Database.transaction (src/postgres/database.ts); this
  // process only, and the statements themselves untouched.
  const transaction = Database.prototype.transaction;
  Database.prototype.transaction = async function <T>(
    this: Database,
    work: (tx: SqlTx) => Promise<T>,
  ): Promise<T> {
    let ran = false;
    const result = await transaction.call(this, (tx) => {
      // A transaction run again after a conflict starts over.
      ran = false;
      return work({
        run: async (name, params) => {
          const rows = await tx.run(name, params);
          if (name === killAfter && (!withRows || rows.length > 0)) {
            ran = true;
            if (armed && !afterCommit) die();
          }
          return rows;
        },
      });
    });
    if (armed && afterCommit && ran) die();
    return result as T;
  };
}
// The worker's settings are not configuration (src/config.ts has none for them): this process only, before
// createServices copies them.
const tickMs = Number(process.env.COMPUTED_TICK_MS ?? DEFAULT_COMPUTED_SETTINGS.tickMs);
const chunk = Number(process.env.COMPUTED_CHUNK ?? DEFAULT_COMPUTED_SETTINGS.chunk);
Object.assign(DEFAULT_COMPUTED_SETTINGS, { tickMs, chunk });
Object.assign(DEFAULT_SYNC_SETTINGS, {
  batch: Number(process.env.SYNC_BATCH ?? DEFAULT_SYNC_SETTINGS.batch),
});
const [syncKillStep, syncKillAt, syncKillKind] = (process.env.SYNC_KILL_AT ?? '').split(':');
let syncSteps = 0;
const onSyncStep = (step: SyncStep, kind: TargetKind) => {
  if (step === syncKillStep && kind === syncKillKind && ++syncSteps === Number(syncKillAt))
    process.kill(process.pid, 'SIGKILL');
};
const service = await startService(
  loadConfig(),
  createLogger('warn', (line) => process.stderr.write(line)),
  {
    onCommitStep: (step) => {
      if (step === crashAt) process.kill(process.pid, 'SIGKILL');
    },
    onSyncStep,
  },
);
process.stdout.write(`READY ${service.url}\n`);
