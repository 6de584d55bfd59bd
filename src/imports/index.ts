export {
  ImportService,
  DEFAULT_IMPORT_SETTINGS,
  type ImportSettings,
  type ImportSource,
  type ImportProgress,
  type ImportObserver,
} from './imports.service.ts';
export {
  IMPORT_QUERIES,
  type ImportJob,
  type ImportStatus,
  type ImportVia,
  type RowError,
} from './imports.repository.ts';
export { IMPORT_LIMITS, type ImportError } from './csv.ts';
export { importApi } from './import-api.ts';
