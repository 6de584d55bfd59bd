// The bookkeeping of fast-path events (docs/adr/0018-event-store.md), gathered in memory and written to
// the graph in one statement per space and flush: when profiles saw events, when identifiers were seen,
// and evidence of identifiers seen together. Every figure is a min, a max or a count, so flushes may run
// in any order and a failed one is merged back for the next.
import type { ValidEvent } from '../ingest/event.ts';
import type { EvidencePair } from './identity.repository.ts';
import { recordEvidence } from './batch.ts';

export interface ProfileActivity {
  firstEventAt: number;
  lastEventAt: number;
  firstSeenAt: number;
  lastSeenAt: number;
}

export interface SpaceActivity {
  profiles: Map<string, ProfileActivity>;
  identifiers: Map<string, { first: Date; last: Date }>;
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

  /** Notes an event of `profileId` that resolved with `keys` (most trusted first). */
  add(space: string, event: ValidEvent, profileId: string, keys: string[]): void {
    let a = this.spaces.get(space);
    if (a === undefined) {
      a = empty();
      this.spaces.set(space, a);
    }
    const t = event.timestamp.getTime();
    const r = event.receivedAt.getTime();
    mergeProfile(a.profiles, profileId, { firstEventAt: t, lastEventAt: t, firstSeenAt: r, lastSeenAt: r });
    for (const key of keys) mergeSeen(a.identifiers, key, event.timestamp, event.timestamp);
    recordEvidence(a.pairs, keys, event);
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
    for (const [key, s] of back.identifiers) mergeSeen(a.identifiers, key, s.first, s.last);
    for (const [id, pair] of back.pairs) {
      const mine = a.pairs.get(id);
      if (mine === undefined) a.pairs.set(id, pair);
      else {
        mine.count += pair.count;
        if (pair.firstAt < mine.firstAt) {
          mine.firstAt = pair.firstAt;
          mine.messageId = pair.messageId;
        }
        if (pair.lastAt > mine.lastAt) mine.lastAt = pair.lastAt;
      }
    }
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

function mergeSeen(
  into: Map<string, { first: Date; last: Date }>,
  key: string,
  first: Date,
  last: Date,
): void {
  const s = into.get(key);
  if (s === undefined) into.set(key, { first, last });
  else {
    if (first < s.first) s.first = first;
    if (last > s.last) s.last = last;
  }
}
