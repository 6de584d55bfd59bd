import { QueryRegistry } from '../src/graph/registry.ts';
import { Database } from '../src/postgres/database.ts';
import { SQL_DIR } from '../src/postgres/migrations.ts';
import { REQUIRED_SQL, NOT_EVENT_STORE_SQL } from '../src/service.ts';
import { ComputedTraitsService, DEFAULT_COMPUTED_SETTINGS } from '../src/computed/index.ts';

const queries = await QueryRegistry.load(SQL_DIR, REQUIRED_SQL, { extension: '.sql', skip: NOT_EVENT_STORE_SQL });
const db = new Database(queries, { url: 'postgres://postgres@127.0.0.1:5432/previewbench', unavailableTimeoutMs: 5000 });
const svc = new ComputedTraitsService(db, DEFAULT_COMPUTED_SETTINGS, () => new Date('2026-01-01T00:00:00Z'));
for (const definition of [
  "event('Order Completed').count() >= 2",
  "event('Product Added').count() >= 2 AND event('Order Completed').count() = 0",
  "event('Page Viewed').where(property('path') = '/pricing').within(30 days).count() >= 1",
  "event('Order Completed').where(property('total') >= 100).count() >= 1",
]) {
  for (const includeAnonymous of [false, true]) {
    const t0 = performance.now();
    const r = await svc.previewAudience('bench', { definition, level: null, includeAnonymous, sample: 10 });
    console.log(((performance.now() - t0) / 1000).toFixed(2), 's', includeAnonymous, 'size' in r ? r.size : r, definition);
  }
}
await db.close();
