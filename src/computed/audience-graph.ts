// Audience memberships in the graph (docs/adr/0022-audiences.md): Neo4j Browser shows each member's
// IN_AUDIENCE edge to an Audience node, with `since`. PostgreSQL holds the memberships; the worker hands
// the subjects whose memberships changed to `project`, which makes the graph show exactly those.
import type { Graph } from '../graph/graph.ts';
import type { TraitLevel } from './computed.repository.ts';

export const AUDIENCE_GRAPH_QUERIES = [
  'audiences/project-profile-audiences',
  'audiences/project-account-audiences',
] as const;

export class AudienceGraph {
  constructor(private readonly graph: Graph) {}

  /** Replaces what the graph shows of these subjects' memberships with `audiences`; idempotent. */
  async project(
    space: string,
    level: TraitLevel,
    subjects: { id: string; audiences: { key: string; since: Date }[] }[],
  ): Promise<void> {
    if (subjects.length === 0) return;
    await this.graph.write(async (tx) => {
      await tx.run(
        level === 'USERS' ? 'audiences/project-profile-audiences' : 'audiences/project-account-audiences',
        {
          space,
          subjects: subjects.map((s) => ({
            id: s.id,
            audiences: s.audiences.map((a) => ({ key: a.key, since: a.since.toISOString() })),
          })),
        },
      );
    });
  }
}
