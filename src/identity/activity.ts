// The bookkeeping of fast-path events (docs/adr/0018-event-store.md), gathered in memory and written to
// the graph in one statement per space and flush: when profiles saw events, and the rare identifier
// whose firstSeen an event sent late moves back or pair seen together for the first time (ADR 0019).
// Every figure is a min or a max, so flushes may run in any order and a failed one is merged back for
// the next.
import type { ValidEvent } from '../ingest/event.ts';
import type { EvidencePair } from './identity.repository.ts';
import type { FastEvent } from './fast-path.ts';

export interface ProfileActivity {
  firstEventAt: number;
  lastEventAt: number;
  firstSeenAt: number;
  lastSeenAt: number;
}

export interface SpaceActivity {
  profiles: Map<string, ProfileActivity>;
  /** Identifier key → the earliest event time seen, for keys whose firstSeen it moves back. */
  identifiers: Map<string, Date>;
  pairs: Map<string, EvidencePair>;
}

function empty(): SpaceActivity {
  return { profiles: new Map(), identifiers: new Map(), pairs: new Map() };
}

export class Activity {
  private spaces = new Map<string, SpaceActivity>();

  get size(): number {
    return this.spaces.size;
  }

  /** Notes a fast-path event and what the graph read found it changes (FastEvent). */
  add(space: string, event: ValidEvent, fast: FastEvent): void {
    let a = this.spaces.get(space);
    if (a === undefined) {
      a = empty();
      this.spaces.set(space, a);
    }
    const t = event.timestamp.getTime();
    const r = event.receivedAt.getTime();
    mergeProfile(a.profiles, fast.profileId, {
      firstEventAt: t,
      lastEventAt: t,
      firstSeenAt: r,
      lastSeenAt: r,
    });
    for (const key of fast.earlier) mergeFirst(a.identifiers, key, event.timestamp);
    for (const { from, to } of fast.unseen)
      mergePair(a.pairs, { from, to, messageId: event.messageId, firstAt: event.timestamp });
  }

  /** Everything noted so far, by space; the accumulator starts empty again. */
  take(): Map<string, SpaceActivity> {
    const taken = this.spaces;
    this.spaces = new Map();
    return taken;
  }

  /** Puts back what a failed flush took. */
  restore(space: string, back: SpaceActivity): void {
    const a = this.spaces.get(space);
    if (a === undefined) {
      this.spaces.set(space, back);
      return;
    }
    for (const [id, p] of back.profiles) mergeProfile(a.profiles, id, p);
    for (const [key, first] of back.identifiers) mergeFirst(a.identifiers, key, first);
    for (const pair of back.pairs.values()) mergePair(a.pairs, pair);
  }
}

function mergeProfile(into: Map<string, ProfileActivity>, id: string, p: ProfileActivity): void {
  const q = into.get(id);
  if (q === undefined) into.set(id, { ...p });
  else {
    q.firstEventAt = Math.min(q.firstEventAt, p.firstEventAt);
    q.lastEventAt = Math.max(q.lastEventAt, p.lastEventAt);
    q.firstSeenAt = Math.min(q.firstSeenAt, p.firstSeenAt);
    q.lastSeenAt = Math.max(q.lastSeenAt, p.lastSeenAt);
  }
}

function mergeFirst(into: Map<string, Date>, key: string, first: Date): void {
  const s = into.get(key);
  if (s === undefined || first < s) into.set(key, first);
}

/** Keeps, per pair, the earliest event that carried it. */
function mergePair(into: Map<string, EvidencePair>, pair: EvidencePair): void {
  const id = `${pair.from}\u0000${pair.to}`;
  const mine = into.get(id);
  if (mine === undefined) into.set(id, { ...pair });
  else if (pair.firstAt < mine.firstAt) {
    mine.firstAt = pair.firstAt;
    mine.messageId = pair.messageId;
  }
}
