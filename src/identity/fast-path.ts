// The fast path (docs/adr/0018-event-store.md): an event whose identifiers all belong to one profile
// already, and that writes no traits and no account membership, changes nothing in the identity graph
// but bookkeeping (when profiles and identifiers were seen, evidence counts), which is batched. Pure.
import type { ValidEvent } from '../ingest/event.ts';
import { identifierKey, type Identifier } from './identifiers.ts';
import { isBlocked, type IdentifierRule } from './rules.ts';

export interface FastEvent {
  profileId: string;
  /** The identifiers it resolves with, by key, in extraction order (as resolution keeps them). */
  keys: string[];
}

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
  ownerOf: ReadonlyMap<string, string>,
): FastEvent | null {
  if (event.type === 'group' || event.type === 'alias') return null;
  if (event.type === 'identify' && event.traits !== undefined && Object.keys(event.traits).length > 0)
    return null;
  if (identifiers.length === 0) return null;
  const ruleOf = new Map(rules.map((r) => [r.type, r]));
  let profileId: string | undefined;
  for (const id of identifiers) {
    const rule = ruleOf.get(id.type);
    if (rule === undefined || isBlocked(rule, id.value)) return null;
    const owner = ownerOf.get(identifierKey(id));
    if (owner === undefined || (profileId !== undefined && owner !== profileId)) return null;
    profileId = owner;
  }
  return profileId === undefined ? null : { profileId, keys: identifiers.map(identifierKey) };
}
