export {
  SqlTraitsService,
  DEFAULT_SQL_TRAIT_SETTINGS,
  type CreateResult as SqlTraitCreateResult,
  type RunResult as SqlTraitRunResult,
  type SqlTraitHooks,
  type SqlTraitSettings,
} from './sql-traits.service.ts';
export {
  SQL_TRAIT_QUERIES,
  type SqlTrait,
  type SqlTraitRun,
  type RunStatus as SqlTraitRunStatus,
} from './sql-traits.repository.ts';
export { DEFAULT_SCHEDULE, parseSchedule } from './schedule.ts';
export type { SqlTraitLevel } from './contract.ts';
