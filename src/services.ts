// The services a request can reach, built once by the composition root.
import type { Graph } from './graph/index.ts';
import { IdentityService } from './identity/index.ts';
import { IngestService, type IngestObserver } from './ingest/index.ts';
import { ProfilesService } from './profiles/index.ts';
import { SpacesService } from './spaces/index.ts';

export interface Services {
  identity: IdentityService;
  ingest: IngestService;
  profiles: ProfilesService;
  spaces: SpacesService;
}

export function createServices(
  graph: Graph,
  options: { ingestWriters?: number; ingestObserver?: IngestObserver } = {},
): Services {
  const identity = new IdentityService(graph);
  return {
    identity,
    ingest: new IngestService(identity, {
      ...(options.ingestWriters === undefined ? {} : { writers: options.ingestWriters }),
      ...(options.ingestObserver === undefined ? {} : { observer: options.ingestObserver }),
    }),
    profiles: new ProfilesService(graph),
    spaces: new SpacesService(graph, identity),
  };
}
