// The identity graph's invariants, checked by queries against any database (`npm run graph:check`):
// every identifier on exactly one live profile, tombstones one hop from a live profile, caps kept.
import type { Graph } from '../graph/index.ts';
import { CAPS } from './decide.ts';
import { JUNK_VALUES } from './rules.ts';

export const INVARIANT_CHECKS = [
  'checks/check-identifiers-without-profile',
  'checks/check-identifiers-on-several-profiles',
  'checks/check-identifiers-on-merged-profiles',
  'checks/check-long-tombstone-chains',
  'checks/check-profiles-over-caps',
  'checks/check-empty-profiles',
] as const;

export interface InvariantResult {
  check: string;
  count: number;
  examples: string[];
}

/** Every check's result; the graph is sound when every count is 0. `space` undefined checks all spaces. */
export async function checkInvariants(graph: Graph, space?: string): Promise<InvariantResult[]> {
  return graph.read(async (tx) => {
    const results: InvariantResult[] = [];
    for (const check of INVARIANT_CHECKS) {
      const [row] = await tx.run(check, {
        space: space ?? null,
        maxMerges: CAPS.mergesPerProfile,
        maxIdentifiers: CAPS.identifiersPerProfile,
      });
      results.push({
        check: check.replace('checks/check-', ''),
        count: Number(row?.count ?? 0),
        examples: Array.isArray(row?.examples) ? row.examples.map(String) : [],
      });
    }
    return results;
  });
}

export const REVIEW_LISTS = ['checks/list-profiles-with-blocked-values'] as const;

/**
 * Profiles worth a person's review (not invariants): those holding an identifier that the default blocked
 * values of SEMANTICS.md §8 now block, beside other identifiers. `space` undefined lists every space.
 */
export async function reviewLists(graph: Graph, space?: string): Promise<InvariantResult[]> {
  return graph.read(async (tx) => {
    const [row] = await tx.run('checks/list-profiles-with-blocked-values', {
      space: space ?? null,
      junk: [...JUNK_VALUES],
      pattern: '^[0-]*$',
    });
    return [
      {
        check: 'profiles-with-blocked-values',
        count: Number(row?.count ?? 0),
        examples: Array.isArray(row?.examples) ? row.examples.map(String) : [],
      },
    ];
  });
}
