// The fast path (docs/adr/0018-event-store.md): an event whose identifiers all belong to one profile
// already, and that writes no traits and no account membership, changes nothing in the identity graph
// but bookkeeping, which is batched: when its profile saw events, and, rarely, an identifier's earlier
// firstSeen or a first SEEN_WITH edge (docs/adr/0019-graph-takes-identity-changes.md). Pure.
import type { ValidEvent } from '../ingest/event.ts';
import { identifierKey, type Identifier } from './identifiers.ts';
import { isBlocked, type IdentifierRule } from './rules.ts';
import { evidencePairs } from './batch.ts';

export interface FastEvent {
  profileId: string;
  /** The identifiers it resolves with, by key, in extraction order (as resolution keeps them). */
  keys: string[];
  /** Keys whose firstSeen is later than this event's time (an event sent late). */
  earlier: string[];
  /** Its evidence pairs that have no SEEN_WITH edge yet, or one whose first event is later than it. */
  unseen: { from: string; to: string }[];
}

/** What the fast path's graph read found for an identifier key. */
export interface Owner {
  profileId: string;
  /** Epoch ms; null for an identifier written without one. */
  firstSeen: number | null;
}

/** The key of an evidence pair in `seen` sets. */
export const pairKey = (from: string, to: string): string => `${from}\u0000${to}`;

/**
 * Whether the event takes the fast path, given the rules and the owner of each identifier key before its
 * batch: null when it needs resolution (a new or unowned identifier, identifiers on two profiles, a blocked
 * value to report, a type without a rule, traits, a group or an alias call). Merges never split a profile,
 * so identifiers that share one before the batch share one after it, whatever the batch's other events do.
 */
export function fastPath(
  event: ValidEvent,
  identifiers: Identifier[],
  rules: IdentifierRule[],
  ownerOf: ReadonlyMap<string, Owner>,
  /** Evidence pair (pairKey) → its edge's firstAt (epoch ms), for the edges that exist. */
  seen: ReadonlyMap<string, number>,
): FastEvent | null {
  if (event.type === 'group' || event.type === 'alias') return null;
  if (event.type === 'identify' && event.traits !== undefined && Object.keys(event.traits).length > 0)
    return null;
  if (identifiers.length === 0) return null;
  const ruleOf = new Map(rules.map((r) => [r.type, r]));
  let profileId: string | undefined;
  const earlier: string[] = [];
  const t = event.timestamp.getTime();
  for (const id of identifiers) {
    const rule = ruleOf.get(id.type);
    if (rule === undefined || isBlocked(rule, id.value)) return null;
    const key = identifierKey(id);
    const owner = ownerOf.get(key);
    if (owner === undefined || (profileId !== undefined && owner.profileId !== profileId)) return null;
    profileId = owner.profileId;
    if (owner.firstSeen === null || t < owner.firstSeen) earlier.push(key);
  }
  if (profileId === undefined) return null;
  const keys = identifiers.map(identifierKey);
  const unseen = evidencePairs(keys).filter((p) => {
    const firstAt = seen.get(pairKey(p.from, p.to));
    return firstAt === undefined || Number.isNaN(firstAt) || t < firstAt;
  });
  return { profileId, keys, earlier, unseen };
}
