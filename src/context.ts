// The per-request GraphQL context: services, the caller's space and request-scoped loaders.
import type { ProfileLoaders } from './profiles/index.ts';
import type { Services } from './services.ts';

export interface Context {
  space: string;
  services: Services;
  /** Request-scoped DataLoaders; never shared between requests. */
  loaders: ProfileLoaders;
}
