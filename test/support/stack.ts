// Services wired to the run's Neo4j and PostgreSQL, in a fresh space per call (test isolation by space).
import { IdentityService, type IdentifierRule } from '../../src/identity/index.ts';
import { EventStore } from '../../src/events/index.ts';
import { IngestService, TwoStoreCommit, type EventOutcome } from '../../src/ingest/index.ts';
import { ProfilesService } from '../../src/profiles/index.ts';
import type { EventType } from '../../src/ingest/event.ts';
import type { TestGraph } from './graph.ts';
import { uniqueSpace } from './graph.ts';

export interface Stack {
  space: string;
  identity: IdentityService;
  events: EventStore;
  commit: TwoStoreCommit;
  ingest: IngestService;
  profiles: ProfilesService;
  send(type: EventType, input: Record<string, unknown>): Promise<EventOutcome>;
  setRules(change: (rules: IdentifierRule[]) => IdentifierRule[]): Promise<void>;
}

export interface StackOptions {
  /** Server clock for receivedAt; defaults to the real clock. */
  clock?: () => Date;
}

export async function newStack(t: TestGraph, options: StackOptions = {}): Promise<Stack> {
  const space = uniqueSpace();
  const identity = new IdentityService(t.graph, options.clock ? { clock: options.clock } : {});
  const events = new EventStore(t.db);
  const commit = new TwoStoreCommit(events, identity);
  const ingest = new IngestService(
    (s, batch) => commit.apply(s, batch),
    options.clock ? { clock: options.clock } : {},
  );
  await identity.ensureSpace(space);
  return {
    space,
    identity,
    events,
    commit,
    ingest,
    profiles: new ProfilesService(t.graph, events),
    send: (type, input) => ingest.send(space, type, input),
    setRules: async (change) => {
      const result = await identity.setRules(space, change(await identity.rules(space)));
      if (!result.ok) throw new Error(`rules refused: ${JSON.stringify(result.problems)}`);
    },
  };
}

/** Applies `patch` to the rule of `type`. */
export const patchRule =
  (type: string, patch: Partial<IdentifierRule>) =>
  (rules: IdentifierRule[]): IdentifierRule[] =>
    rules.map((r) => (r.type === type ? { ...r, ...patch } : r));
