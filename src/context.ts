// The per-request GraphQL context: services, the caller's space and request-scoped loaders.
import type { Services } from './services.ts';

export interface Context {
  space: string;
  services: Services;
}
