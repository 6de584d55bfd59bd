// The service as `npm start` runs it, in a child process that the crash tests kill (kill -9) between the
// writes of the two-store commit (docs/adr/0018-event-store.md): with CRASH_AT set to a CommitStep, the
// process sends itself SIGKILL right after that step of the first batch. Prints `READY <url>` once up.
import { loadConfig } from '../../src/config.ts';
import { createLogger } from '../../src/log.ts';
import { startService } from '../../src/service.ts';

const crashAt = process.env.CRASH_AT;
const service = await startService(
  loadConfig(),
  createLogger('warn', (line) => process.stderr.write(`${line}\n`)),
  {
    onCommitStep: (step) => {
      if (step === crashAt) process.kill(process.pid, 'SIGKILL');
    },
  },
);
process.stdout.write(`READY ${service.url}\n`);
