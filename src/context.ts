// The per-request GraphQL context: services, the caller's space and request-scoped loaders.
import type { ProfileLoaders } from './profiles/index.ts';
import type { Services } from './services.ts';

import type { Scope } from './spaces/index.ts';

export interface Context {
  /** The space of the caller's access token: every operation acts in it. */
  space: string;
  /** What the token may do: `read`, and perhaps `write` and `admin`. */
  scopes: Scope[];
  services: Services;
  /** Request-scoped DataLoaders; never shared between requests. */
  loaders: ProfileLoaders;
}
