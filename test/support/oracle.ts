// The computed-traits oracle's input (SEMANTICS.md §9): a profile's events as the read API returns them,
// in the query language's shape, and every definition computed from scratch over them; for an account,
// the events of every member the graph holds, each once.
import {
  computeTrait,
  parseComputedTrait,
  type ComputedTraitDefinition,
  type LanguageEvent,
} from '../../src/language/index.ts';
import type { SubjectInput } from '../../src/computed/evaluate-subject.ts';
import type { Stack } from './stack.ts';

/** What the oracle reads through: a space and the profiles service (a Stack, or a service's own). */
export type OracleSource = Pick<Stack, 'space' | 'profiles'>;

/** A profile's events (all of them, a page at a time) through ProfilesService.events. */
export async function profileEvents(stack: OracleSource, profileId: string): Promise<LanguageEvent[]> {
  const loaders = stack.profiles.loaders(stack.space);
  const out: LanguageEvent[] = [];
  let after: string | null = null;
  for (;;) {
    const page = await stack.profiles.events(loaders, profileId, { first: 100, after });
    for (const e of page.nodes)
      out.push({
        type: e.type as LanguageEvent['type'],
        ...(e.event === null ? {} : { event: e.event }),
        properties: e.properties ?? {},
        timestamp: e.timestamp,
        messageId: e.messageId,
      });
    if (!page.pageInfo.hasNextPage) return out;
    after = page.pageInfo.endCursor;
  }
}

/** Parses definitions by key; throws on one that does not parse (tests define only valid ones). */
export function parseAll(
  definitions: Record<string, string>,
): { key: string; definition: ComputedTraitDefinition }[] {
  return Object.entries(definitions).map(([key, text]) => {
    const parsed = parseComputedTrait(text);
    if (!parsed.ok) throw new Error(`${key}: ${parsed.error.message}`);
    return { key, definition: parsed.definition };
  });
}

/** Each definition computed from scratch over the profile's events as of `now`. */
export async function oracleValues(
  stack: OracleSource,
  profileId: string,
  definitions: { key: string; definition: ComputedTraitDefinition }[],
  now: Date,
): Promise<Record<string, unknown>> {
  const events = await profileEvents(stack, profileId);
  return Object.fromEntries(definitions.map((d) => [d.key, computeTrait(d.definition, events, now)]));
}

/** The account's member profiles as the graph holds them (ProfilesService.members, every page). */
export async function accountMembers(stack: OracleSource, groupId: string): Promise<string[]> {
  const loaders = stack.profiles.loaders(stack.space);
  const out: string[] = [];
  let after: string | null = null;
  for (;;) {
    const page = await stack.profiles.members(loaders, groupId, { first: 100, after });
    out.push(...page.nodes.map((p) => p.id));
    if (!page.pageInfo.hasNextPage) return out;
    after = page.pageInfo.endCursor;
  }
}

/** Each account-level definition computed from scratch over the events of the account's members. */
export async function accountOracleValues(
  stack: Stack,
  groupId: string,
  definitions: { key: string; definition: ComputedTraitDefinition }[],
  now: Date,
): Promise<Record<string, unknown>> {
  const events = new Map<string, LanguageEvent>();
  for (const member of await accountMembers(stack, groupId))
    for (const e of await profileEvents(stack, member)) events.set(e.messageId, e);
  return Object.fromEntries(
    definitions.map((d) => [d.key, computeTrait(d.definition, [...events.values()], now)]),
  );
}

/**
 * A profile as the audiences' oracle reads it (docs/adr/0022-audiences.md): its events through the read
 * API, its custom traits and identifiers from the graph; never the worker's SQL.
 */
export async function profileInput(stack: OracleSource, profileId: string): Promise<SubjectInput> {
  const loaders = stack.profiles.loaders(stack.space);
  const profile = await loaders.profileById.load(profileId);
  const identifiers = await loaders.identifiers.load(profileId);
  return {
    events: await profileEvents(stack, profileId),
    traits: profile?.traits ?? {},
    identifiers: identifiers.map((i) => `${i.type}:${i.value}`),
    members: [],
  };
}

/** An account as the oracle reads it: its members' events (each once), its traits, its members. */
export async function accountInput(stack: OracleSource, groupId: string): Promise<SubjectInput> {
  const state = await stack.profiles.accountState(stack.space, groupId);
  const members: SubjectInput[] = [];
  const events = new Map<string, LanguageEvent>();
  for (const id of await accountMembers(stack, groupId)) {
    const input = await profileInput(stack, id);
    members.push(input);
    for (const e of input.events) events.set(e.messageId, e);
  }
  return { events: [...events.values()], traits: state?.traits ?? {}, identifiers: [], members };
}
