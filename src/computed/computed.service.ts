// Computed traits (SEMANTICS.md §9; docs/adr/0021-computed-traits.md): definitions, and values kept up to
// date by recomputing, from its events, every profile that the change log says was touched: an event
// stored, an identifier added, a merge; and every value whose window has moved past its oldest event.
// Recomputation runs the query language's reducers (src/language) over the profile's matching events, so
// a value is exact by construction for every kind, under merges and windows; the work is bounded by the
// profiles touched and their matching history, never a rescan of the space.
import { MIN_TIME } from '../ingest/event.ts';
import {
  durationMs,
  parseAudience,
  parseComputedTrait,
  toText,
  type AudienceDefinition,
  type DefinitionError,
  type EventFilter,
  type EventStream,
  type LanguageEvent,
  type Reducer,
} from '../language/index.ts';
import {
  emptyOf,
  emptyReducerValue,
  evaluateSubject,
  evaluationOrder,
  KNOWN_IDENTIFIER_TYPES,
  memberStreams,
  memberTraits,
  ownStreams,
  ownTraits,
  readsMembers,
  readsProperties,
  type Computation,
  type SubjectInput,
} from './evaluate-subject.ts';
import { InputError } from '../errors.ts';
import type { Database, SqlTx } from '../postgres/database.ts';
import { stringifyJson } from '../json.ts';
import {
  ComputedRepository,
  groupBySpaceAndLevel,
  type AudienceChange,
  type Cause,
  type DirtySubject,
  type StoredTrait,
  type StoredValue,
  type TraitLevel,
  type ValueChange,
  type ValueWrite,
} from './computed.repository.ts';

/** Subjects a preview evaluates per page (their traits, identifiers and stored values read together). */
const PREVIEW_PAGE = 5_000;
/** Most value changes one read returns (as every page of the read API, docs/adr/0010). */
export const MAX_CHANGES_PAGE = 100;
/** The change-log consumer that marks profiles for recomputation (consumer_cursors). */
export const CONSUMER = 'computed_traits';
/** Keys as Segment writes them: snake_case, starting with a letter, at most 100 characters. */
const KEY = /^[a-z][a-z0-9_]{0,99}$/;

export interface ComputedSettings {
  /** Most live computed traits per space (COMPUTED_TRAITS_PER_SPACE). */
  maxTraitsPerSpace: number;
  /** Most property conditions in one definition's `.where` filters (COMPUTED_TRAIT_EXPRESSIONS). */
  maxExpressions: number;
  /** Most live audiences per space (AUDIENCES_PER_SPACE). */
  maxAudiencesPerSpace: number;
  /** How often the worker reads the change log and recomputes what it marked (ms). */
  tickMs: number;
  /** How often values whose window moved are marked (ms); the promise is within a minute (§9). */
  expirySweepMs: number;
  /** Profiles recomputed per transaction. */
  chunk: number;
}

export const DEFAULT_COMPUTED_SETTINGS: ComputedSettings = {
  maxTraitsPerSpace: 100,
  maxExpressions: 50,
  maxAudiencesPerSpace: 100,
  tickMs: 200,
  expirySweepMs: 10_000,
  chunk: 200,
};

/**
 * Writes values as ordinary traits on profiles (USERS: IdentityService.setTraits) or accounts (ACCOUNTS:
 * setAccountTraits); returns the subjects written.
 */
export type KeepAsTraits = (
  space: string,
  level: TraitLevel,
  writes: { subjectId: string; traits: Record<string, unknown> }[],
  stamp: { at: Date; messageId: string },
) => Promise<number>;

/** A trait as clients see it. */
export type ComputedTrait = StoredTrait;

/** A value on a profile: every live trait of the level, its empty value when nothing was stored. */
export interface ProfileComputedValue {
  key: string;
  value: unknown;
  /** When the stored value last changed; null for an empty value never stored. */
  updatedAt: Date | null;
}

export type CreateResult =
  | { ok: true; trait: ComputedTrait }
  | {
      ok: false;
      code: 'INVALID_DEFINITION' | 'KEY_TAKEN' | 'INVALID_KEY' | 'TOO_MANY_TRAITS' | 'TOO_MANY_EXPRESSIONS';
      message: string;
      position?: DefinitionError;
    };

/** The outcome of defining or redefining an audience (§10); refusals are data, as for computed traits. */
export type AudienceResult =
  | { ok: true; audience: ComputedTrait }
  | {
      ok: false;
      code: 'INVALID_DEFINITION' | 'KEY_TAKEN' | 'INVALID_KEY' | 'TOO_MANY_AUDIENCES' | 'CYCLE' | 'NOT_FOUND';
      message: string;
      position?: DefinitionError;
      /** CYCLE: the audiences that refer to each other in a circle, the first repeated at the end. */
      cycle?: string[];
    };

/** A member of an audience as the API shows it: a profile id (USERS) or group id (ACCOUNTS). */
export interface AudienceMemberView {
  level: TraitLevel;
  subjectId: string;
  since: Date;
}

/** An entry or exit as the API shows it. */
export type AudienceChangeView = AudienceChange & { level: TraitLevel };

/** An audience a subject belongs to, and since when (the value's last change). */
export interface Membership {
  key: string;
  since: Date;
}

/** A live computation of a space (a computed trait or an audience), parsed, with its status. */
type ParsedTrait = Computation & { status: 'COMPUTING' | 'LIVE' };

/** What a recomputation reads for its subjects (and, for accounts, their members). */
interface InputNeeds {
  streams: EventStream[];
  traits: boolean;
  identifiers: boolean;
  members: InputNeeds | null;
}

const NO_INPUT: SubjectInput = { events: [], traits: {}, identifiers: [], members: [] };

/** What evaluating `ordered` (of `level`) reads; `users`: the users' computations, for members. */
function needsOf(level: TraitLevel, ordered: Computation[], users: Computation[]): InputNeeds {
  const audiences = ordered.some((c) => c.kind === 'audience');
  return {
    streams: ordered.flatMap(ownStreams),
    traits: audiences,
    // Only include anonymous reads them: an audience without it needs a known identifier (§10).
    identifiers: level === 'USERS' && ordered.some((c) => c.kind === 'audience' && !c.includeAnonymous),
    // An account's ANY / ALL read each member's events (for the members' own computations and the
    // conditions inside), custom traits and identifiers (the members' audiences' include anonymous).
    members:
      level === 'ACCOUNTS' && ordered.some(readsMembers)
        ? {
            streams: [...users.flatMap(ownStreams), ...ordered.flatMap(memberStreams)],
            traits: true,
            identifiers: users.some((c) => c.kind === 'audience'),
            members: null,
          }
        : null,
  };
}

/**
 * Makes the graph show some subjects' audience memberships (Neo4j's IN_AUDIENCE edges, docs/adr/0022):
 * exactly `audiences` for each, replacing what it showed.
 */
export type MembershipProjection = (
  space: string,
  level: TraitLevel,
  subjects: { id: string; audiences: { key: string; since: Date }[] }[],
) => Promise<void>;

/**
 * Custom traits of profiles (USERS) or accounts (ACCOUNTS) by id, from the graph; `{having}` (USERS only):
 * every live profile holding one of those keys.
 */
export type CustomTraitsSource = (
  space: string,
  level: TraitLevel,
  ids: string[] | { having: string[] },
) => Promise<Map<string, Record<string, unknown>>>;

/** The value a profile without matching events has: 0 for counts, [] for unique lists, else null. */
export function emptyValue(reducer: Reducer): unknown {
  return emptyReducerValue(reducer);
}

function sameValue(a: unknown, b: unknown): boolean {
  return stringifyJson(a ?? null) === stringifyJson(b ?? null);
}

export class ComputedTraitsService {
  private readonly repo = new ComputedRepository();
  private readonly parsed = new Map<string, Computation['definition']>();
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private lastExpirySweep = 0;
  private stopped = false;
  /** Backfills in flight, by space and key. */
  private readonly backfills = new Map<string, Promise<void>>();
  /** Backfills in flight whose definition changed: they start again from the first subject. */
  private readonly restarts = new Set<string>();

  constructor(
    private readonly db: Database,
    private readonly settings: ComputedSettings = DEFAULT_COMPUTED_SETTINGS,
    private readonly clock: () => Date = () => new Date(),
    private readonly onError: (error: unknown) => void = () => undefined,
    private readonly keepAsTraits: KeepAsTraits | null = null,
    private readonly customTraits: CustomTraitsSource | null = null,
    private readonly projectMemberships: MembershipProjection | null = null,
  ) {}

  /**
   * Defines a computed trait from Segment's query language and starts computing it over the space's
   * history (status COMPUTING with progress, then LIVE). Refusals are data: a definition that does not
   * parse or check (with its position), a key that is not snake_case or was ever used in the space.
   */
  async create(
    space: string,
    input: { key: string; definition: string; level: TraitLevel; description: string | null },
  ): Promise<CreateResult> {
    if (!KEY.test(input.key))
      return {
        ok: false,
        code: 'INVALID_KEY',
        message: `key ${JSON.stringify(input.key)} is not snake_case (a-z, 0-9, _; at most 100 characters, starting with a letter)`,
      };
    const parsed = parseComputedTrait(input.definition);
    if (!parsed.ok)
      return { ok: false, code: 'INVALID_DEFINITION', message: parsed.error.message, position: parsed.error };
    const expressions = countConditions(parsed.definition.stream.where);
    if (expressions > this.settings.maxExpressions)
      return {
        ok: false,
        code: 'TOO_MANY_EXPRESSIONS',
        message: `the definition has ${expressions} property conditions; at most ${this.settings.maxExpressions} are allowed (COMPUTED_TRAIT_EXPRESSIONS)`,
      };
    const live = (await this.repo.list(this.db, space, null)).length;
    if (live >= this.settings.maxTraitsPerSpace)
      return {
        ok: false,
        code: 'TOO_MANY_TRAITS',
        message: `a space has at most ${this.settings.maxTraitsPerSpace} computed traits (COMPUTED_TRAITS_PER_SPACE)`,
      };
    const text = toText(parsed.definition);
    const created = await this.changeDefinition(space, input.key, input.level, 'moved', (tx) =>
      this.repo.create(tx, space, {
        key: input.key,
        kind: 'computed_trait',
        level: input.level,
        definition: text,
        description: input.description,
        includeAnonymous: false,
      }),
    );
    if (!created)
      return {
        ok: false,
        code: 'KEY_TAKEN',
        message: `key ${JSON.stringify(input.key)} is taken or was used before in this space (by a computed trait, an audience or a SQL trait); keys are never reused`,
      };
    this.startBackfill(space, input.key);
    const [trait] = await this.repo.list(this.db, space, input.key);
    if (trait === undefined) throw new Error(`computed trait ${input.key} vanished after its creation`);
    return { ok: true, trait };
  }

  /**
   * Defines an audience in Segment's query language (§10) and starts computing it over the space's
   * history (COMPUTING with progress, then LIVE). The level follows the definition (ANY / ALL make an
   * account audience) unless given; a definition whose audiences refer to each other in a circle is
   * refused with the circle (CYCLE). Keys share one namespace with computed traits and are never reused.
   */
  async createAudience(
    space: string,
    input: {
      key: string;
      definition: string;
      level: TraitLevel | null;
      includeAnonymous: boolean;
      description: string | null;
    },
  ): Promise<AudienceResult> {
    const checked = await this.checkAudience(space, input.key, input.definition, input.level);
    if (!checked.ok) return checked;
    const live = (await this.repo.list(this.db, space, null, 'audience')).length;
    if (live >= this.settings.maxAudiencesPerSpace)
      return {
        ok: false,
        code: 'TOO_MANY_AUDIENCES',
        message: `a space has at most ${this.settings.maxAudiencesPerSpace} audiences (AUDIENCES_PER_SPACE)`,
      };
    const created = await this.changeDefinition(space, input.key, checked.level, 'moved', (tx) =>
      this.repo.create(tx, space, {
        key: input.key,
        kind: 'audience',
        level: checked.level,
        definition: checked.text,
        description: input.description,
        includeAnonymous: input.includeAnonymous,
      }),
    );
    if (!created)
      return {
        ok: false,
        code: 'KEY_TAKEN',
        message: `key ${JSON.stringify(input.key)} is taken or was used before in this space (by a computed trait, an audience or a SQL trait); keys are never reused`,
      };
    this.startBackfill(space, input.key);
    const audience = await this.audience(space, input.key);
    if (audience === null) throw new Error(`audience ${input.key} vanished after its creation`);
    return { ok: true, audience };
  }

  /**
   * Changes an audience's definition (and include anonymous; a description given replaces the old one):
   * status COMPUTING again until every subject is evaluated anew; members stay as they were until then.
   * Its level cannot change.
   */
  async updateAudience(
    space: string,
    input: { key: string; definition: string; includeAnonymous: boolean | null; description: string | null },
  ): Promise<AudienceResult> {
    const existing = await this.audience(space, input.key);
    if (existing === null)
      return {
        ok: false,
        code: 'NOT_FOUND',
        message: `this space has no audience ${JSON.stringify(input.key)}`,
      };
    const checked = await this.checkAudience(space, input.key, input.definition, existing.level);
    if (!checked.ok) return checked;
    const updated = await this.changeDefinition(space, input.key, existing.level, 'moved', (tx) =>
      this.repo.updateDefinition(tx, space, input.key, {
        definition: checked.text,
        // Null keeps the current setting.
        includeAnonymous: input.includeAnonymous ?? existing.includeAnonymous,
        description: input.description,
      }),
    );
    if (!updated)
      return {
        ok: false,
        code: 'NOT_FOUND',
        message: `this space has no audience ${JSON.stringify(input.key)}`,
      };
    this.startBackfill(space, input.key);
    const audience = await this.audience(space, input.key);
    if (audience === null) throw new Error(`audience ${input.key} vanished after its update`);
    return { ok: true, audience };
  }

  /**
   * Deletes an audience: its memberships go, its key stays taken. False when there is no such audience.
   * The audiences that refer to it (`trait('<key>')`, or an account audience's ANY / ALL) read its key as
   * a custom trait from then on, so they are computed again over every subject (COMPUTING, then LIVE).
   */
  async deleteAudience(space: string, key: string): Promise<boolean> {
    const deleted = await this.audience(space, key);
    if (deleted === null) return false;
    await this.changeDefinition(space, key, deleted.level, 'gone', async (tx) => {
      await this.repo.delete(tx, space, key, 'audience');
      return true;
    });
    return true;
  }

  audiences(space: string): Promise<ComputedTrait[]> {
    return this.repo.list(this.db, space, null, 'audience');
  }

  async audience(space: string, key: string): Promise<ComputedTrait | null> {
    return (await this.repo.list(this.db, space, key, 'audience'))[0] ?? null;
  }

  audienceSizes(space: string, keys: string[]): Promise<Map<string, number>> {
    return this.repo.audienceSizes(this.db, space, keys);
  }

  /** A page of an audience's members by subject id (profile ids, or group ids for an account audience). */
  async audienceMembers(
    space: string,
    key: string,
    page: { first: number; after: string | null },
  ): Promise<{ members: { subjectId: string; since: Date }[]; hasNextPage: boolean }> {
    checkPageSize(page.first);
    const { members } = await this.repo.audienceMembers(
      this.db,
      space,
      key,
      page.after ?? '',
      page.first + 1,
    );
    return { members: members.slice(0, page.first), hasNextPage: members.length > page.first };
  }

  /** A page of an audience's entries and exits, newest first; `before` is a change's id. */
  async audienceChanges(
    space: string,
    key: string,
    page: { first: number; before: string | null },
  ): Promise<{ changes: AudienceChange[]; hasNextPage: boolean }> {
    checkPageSize(page.first);
    if (page.before !== null && !/^[0-9]{1,19}$/.test(page.before))
      throw new InputError('after is not a cursor of this list', ['after']);
    const changes = await this.repo.audienceChanges(this.db, space, key, page.before, page.first + 1);
    return { changes: changes.slice(0, page.first), hasNextPage: changes.length > page.first };
  }

  /**
   * An audience's entries and exits from now on, as they commit, oldest first (the graphql-ws
   * subscription): polls every `pollMs` in commit-safe order, so none is skipped or repeated. Ends when
   * the consumer stops iterating (or `signal` aborts), or when the audience is deleted. Null when there
   * is no such audience.
   */
  async follow(
    space: string,
    key: string,
    pollMs = 200,
    signal?: AbortSignal,
  ): Promise<AsyncGenerator<AudienceChangeView> | null> {
    const audience = await this.audience(space, key);
    if (audience === null) return null;
    let position = await this.repo.audienceChangesHead(this.db, space, key);
    const { db, repo } = this;
    const stillThere = () => this.audience(space, key).then((a) => a !== null);
    return (async function* changes(): AsyncGenerator<AudienceChangeView> {
      let idle = 0;
      while (signal?.aborted !== true) {
        const page = await repo.audienceChangesAfter(db, space, key, position, MAX_CHANGES_PAGE);
        for (const change of page) {
          position = change.position;
          const { position: _position, ...view } = change;
          yield { ...view, level: audience.level };
        }
        if (page.length < MAX_CHANGES_PAGE) {
          // Every 5 s without news: a deleted audience ends the subscription (complete).
          idle = page.length === 0 ? idle + pollMs : 0;
          if (idle >= 5_000) {
            idle = 0;
            if (!(await stillThere())) return;
          }
          await new Promise((resolve) => setTimeout(resolve, pollMs));
        }
      }
    })();
  }

  /** The audiences each subject belongs to, by key, with since when. */
  async memberships(
    space: string,
    subjectIds: string[],
    level: TraitLevel = 'USERS',
  ): Promise<Map<string, Membership[]>> {
    const keys = new Set(
      ((await this.traitsBySpace()).get(space) ?? [])
        .filter((t) => t.kind === 'audience' && t.level === level)
        .map((t) => t.key),
    );
    const out = new Map<string, Membership[]>(subjectIds.map((id) => [id, []]));
    if (keys.size === 0) return out;
    for (const v of await this.repo.loadValues(this.db, space, level, subjectIds, [...keys]))
      if (keys.has(v.traitKey) && v.value === true)
        out.get(v.subjectId)?.push({ key: v.traitKey, since: v.updatedAt });
    return out;
  }

  /**
   * Evaluates a draft audience now over every profile (or account with a member) of the space, a page at a
   * time; writes nothing. The size, and the first `sample` members by id. The live computed traits and
   * audiences the draft refers to are read as stored, not evaluated again (one still COMPUTING is
   * evaluated with the draft). For profiles, each input (events, custom traits, identifiers, stored values)
   * is read for the whole space in one statement, and only what the draft needs
   * (docs/adr/0022-audiences.md, "Preview").
   */
  async previewAudience(
    space: string,
    input: { definition: string; level: TraitLevel | null; includeAnonymous: boolean; sample: number },
  ): Promise<
    { ok: true; size: number; sample: AudienceMemberView[] } | Extract<AudienceResult, { ok: false }>
  > {
    if (!Number.isInteger(input.sample) || input.sample < 0 || input.sample > MAX_CHANGES_PAGE)
      throw new InputError(`sample must be between 0 and ${MAX_CHANGES_PAGE}, got ${input.sample}`, [
        'input',
        'sample',
      ]);
    // A key no stored computation can have (not snake_case), so that the draft never shadows one.
    const key = 'draft audience';
    const checked = await this.checkAudience(space, key, input.definition, input.level, true);
    if (!checked.ok) return checked;
    const level = checked.level;
    const draft: ParsedTrait = {
      kind: 'audience',
      key,
      level,
      definition: checked.definition,
      includeAnonymous: input.includeAnonymous,
      status: 'LIVE',
    };
    const plan = previewPlan(draft, (await this.traitsBySpace()).get(space) ?? []);
    const now = this.clock();
    let size = 0;
    const sample: AudienceMemberView[] = [];
    const count = (id: string, subject: SubjectInput) => {
      if (evaluateSubject(plan.evaluated, subject, now, plan.members).values.get(key) !== true) return;
      size += 1;
      if (sample.length < input.sample) sample.push({ level, subjectId: id, since: now });
    };
    const storedEmpty = Object.fromEntries(plan.stored.map((c) => [c.key, emptyOf(c)]));
    const storedKeys = plan.stored.map((c) => c.key);
    const byId = (values: StoredValue[]) => {
      const out = new Map<string, Record<string, unknown>>();
      for (const v of values) {
        const own = out.get(v.subjectId) ?? {};
        own[v.traitKey] = v.value;
        out.set(v.subjectId, own);
      }
      return out;
    };

    if (level === 'USERS') {
      // Profiles: each input but events for the whole space in one read, the reads at once (PostgreSQL's
      // and Neo4j's run side by side); the events stream in a profile at a time beside them, and each
      // profile is evaluated as its events end, so only one profile's are held.
      const streams = plan.evaluated.flatMap(ownStreams);
      const held = Promise.all([
        this.repo.spaceProfiles(this.db, space),
        // Custom traits only when the draft (or what it evaluates with it) names a trait no computation has.
        plan.custom.length > 0 && this.customTraits !== null
          ? this.customTraits(space, level, { having: plan.custom })
          : Promise.resolve(new Map<string, Record<string, unknown>>()),
        plan.evaluated.some((c) => c.kind === 'audience' && !c.includeAnonymous)
          ? this.repo.spaceIdentified(this.db, space, KNOWN_IDENTIFIER_TYPES)
          : Promise.resolve(new Map<string, string>()),
        storedKeys.length > 0
          ? this.repo.spaceTraitValues(this.db, space, level, storedKeys).then(byId)
          : Promise.resolve(new Map<string, Record<string, unknown>>()),
      ]).then(([ids, customOf, identified, stored]) => {
        // Each profile's place in id order: the sample is the first members by id.
        const rank = new Map<string, number>();
        for (let i = 0; i < ids.length; i++) rank.set(ids[i] as string, i);
        return { rank, ids, customOf, identified, stored };
      });
      type Held = Awaited<typeof held>;
      let inputs: Held | null = null;
      void held.then(
        (h) => (inputs = h),
        () => undefined,
      );
      // Members by their place in id order; which profiles are evaluated (by place), and those whose
      // events came before the other inputs did (rarely: the events' read is the longest).
      let members: number[] = [];
      let done: Uint8Array | null = null;
      let early: [string, LanguageEvent[]][] = [];
      const evaluate = (h: Held, at: number, events: LanguageEvent[]) => {
        done ??= new Uint8Array(h.ids.length);
        if (done[at] === 1) return;
        done[at] = 1;
        const id = h.ids[at] as string;
        const known = h.identified.get(id);
        const custom = h.customOf.get(id);
        const stored = h.stored.get(id);
        const subject: SubjectInput = {
          events,
          traits:
            custom === undefined && stored === undefined
              ? storedEmpty
              : { ...custom, ...storedEmpty, ...stored },
          identifiers: known === undefined ? [] : [known],
          members: [],
        };
        if (evaluateSubject(plan.evaluated, subject, now, plan.members).values.get(key) === true)
          members.push(at);
      };
      // A profile that holds its first identifier since the ids were read is left out, as it always was.
      const evaluateById = (h: Held, id: string, events: LanguageEvent[]) => {
        const at = h.rank.get(id);
        if (at !== undefined) evaluate(h, at, events);
      };
      if (streams.length > 0)
        await this.repo.eachProfileEvents(
          this.db,
          space,
          matchOf(streams, now),
          plan.evaluated.some(readsProperties),
          () => {
            // A read that starts over (a dropped connection) evaluates every profile again.
            members = [];
            done = null;
            early = [];
            return (id, events) => {
              if (inputs === null) early.push([id, events]);
              else evaluateById(inputs, id, events);
            };
          },
        );
      const h = await held;
      for (const [id, events] of early) evaluateById(h, id, events);
      for (let at = 0; at < h.ids.length; at++) evaluate(h, at, []);
      members.sort((a, b) => a - b);
      const sample = members
        .slice(0, input.sample)
        .map((at) => ({ level, subjectId: h.ids[at] as string, since: now }));
      return { ok: true, size: members.length, sample };
    }

    // Accounts: a page at a time, each page's events, traits and members read together.
    const need = needsOf(level, plan.evaluated, plan.members);
    const pageNeed = { ...need, traits: plan.custom.length > 0 };
    let after = '';
    for (;;) {
      const { ids } = await this.repo.subjectsPage(this.db, space, level, after, PREVIEW_PAGE);
      if (ids.length === 0) break;
      const inputs = await this.db.transaction((tx) =>
        this.subjectInputs(tx, space, level, ids, pageNeed, now),
      );
      const stored =
        storedKeys.length > 0
          ? byId(await this.repo.loadTraitValues(this.db, space, level, ids, storedKeys))
          : new Map<string, Record<string, unknown>>();
      for (const id of ids) {
        const base = inputs.get(id) ?? NO_INPUT;
        count(id, { ...base, traits: { ...base.traits, ...storedEmpty, ...stored.get(id) } });
      }
      after = ids[ids.length - 1] ?? after;
    }
    return { ok: true, size, sample };
  }

  /** Parses and checks an audience for `key`: its level, canonical text, and no circle of references. */
  private async checkAudience(
    space: string,
    key: string,
    text: string,
    level: TraitLevel | null,
    preview = false,
  ): Promise<
    | { ok: true; level: TraitLevel; text: string; definition: AudienceDefinition }
    | Extract<AudienceResult, { ok: false }>
  > {
    if (!preview && !KEY.test(key))
      return {
        ok: false,
        code: 'INVALID_KEY',
        message: `key ${JSON.stringify(key)} is not snake_case (a-z, 0-9, _; at most 100 characters, starting with a letter)`,
      };
    const parsed = parseAudience(text);
    if (!parsed.ok)
      return { ok: false, code: 'INVALID_DEFINITION', message: parsed.error.message, position: parsed.error };
    const derived: TraitLevel = parsed.definition.level === 'accounts' ? 'ACCOUNTS' : 'USERS';
    if (level === 'USERS' && derived === 'ACCOUNTS')
      return {
        ok: false,
        code: 'INVALID_DEFINITION',
        message: 'ANY and ALL qualify an account by its users: they need level ACCOUNTS',
      };
    const finalLevel = level ?? derived;
    const others = ((await this.traitsBySpace()).get(space) ?? []).filter(
      (t) => t.key !== key && t.level === finalLevel,
    );
    const order = evaluationOrder([
      ...others,
      { kind: 'audience', key, level: finalLevel, definition: parsed.definition, includeAnonymous: false },
    ]);
    if ('cycle' in order)
      return {
        ok: false,
        code: 'CYCLE',
        message: `audiences refer to each other in a circle: ${order.cycle.join(' → ')}`,
        cycle: order.cycle,
      };
    return { ok: true, level: finalLevel, text: toText(parsed.definition), definition: parsed.definition };
  }

  list(space: string): Promise<ComputedTrait[]> {
    return this.repo.list(this.db, space, null);
  }

  async get(space: string, key: string): Promise<ComputedTrait | null> {
    return (await this.repo.list(this.db, space, key))[0] ?? null;
  }

  /**
   * Deletes a trait (its key stays taken); returns its level and the values it held, which the caller
   * keeps on the profiles or accounts as ordinary traits (Segment's behaviour, §9), or null when no such
   * trait exists.
   */
  async delete(
    space: string,
    key: string,
  ): Promise<{ level: TraitLevel; values: { subjectId: string; value: unknown }[] } | null> {
    const exists = await this.get(space, key);
    if (exists === null) return null;
    return { level: exists.level, values: await this.repo.delete(this.db, space, key) };
  }

  /**
   * Deletes a trait and keeps its last values on the profiles (or accounts) as ordinary traits (§9,
   * Segment's behaviour), through the `keepAsTraits` the composition root gave, stamped with the time of
   * deletion and the messageId `computed-trait-deleted:<key>`. Null when no such trait exists. In three
   * steps, so that no value is lost (docs/adr/0021-computed-traits.md, "The API"): the trait is marked
   * deleted, its values are written to the graph, and only then leave PostgreSQL. When the graph write
   * fails, the request fails and a second one finishes the deletion (a value the first attempt wrote
   * is written again, unchanged but for its stamp).
   */
  async deleteKeepingValues(space: string, key: string): Promise<{ keptOnProfiles: number } | null> {
    if (this.keepAsTraits === null) throw new Error('ComputedTraitsService was built without keepAsTraits');
    const level = await this.repo.markDeleted(this.db, space, key);
    if (level === null) return null;
    const values = await this.repo.traitValues(this.db, space, key);
    const keptOnProfiles = await this.keepAsTraits(
      space,
      level,
      values.map((v) => ({ subjectId: v.subjectId, traits: { [key]: v.value } })),
      { at: this.clock(), messageId: `computed-trait-deleted:${key}` },
    );
    // The audiences that refer to it read the kept custom trait from then on, which is absent where the
    // value was empty: set COMPUTING as the values leave, once the kept traits are written (a worker that
    // resumed them earlier would read neither), and computed again. A second request that finishes a
    // deletion sets them again.
    const referrers = await this.referrers(space, key, level, 'gone');
    await this.db.transaction(async (tx) => {
      await this.repo.purgeValues(tx, space, key);
      for (const r of referrers) await this.repo.setStatus(tx, space, r, 'COMPUTING', 0, null);
    });
    for (const r of referrers) this.startBackfill(space, r);
    return { keptOnProfiles };
  }

  /**
   * Every live (COMPUTING or LIVE) trait of the level, with each subject's value or the empty one:
   * subjects are profile ids (USERS) or group ids (ACCOUNTS).
   */
  async values(
    space: string,
    subjectIds: string[],
    level: TraitLevel = 'USERS',
  ): Promise<Map<string, ProfileComputedValue[]>> {
    const traits = ((await this.traitsBySpace()).get(space) ?? []).filter(
      (t) => t.level === level && t.kind === 'computed_trait',
    );
    const stored = await this.repo.loadValues(
      this.db,
      space,
      level,
      subjectIds,
      traits.map((t) => t.key),
    );
    const bySubject = new Map<string, Map<string, StoredValue>>();
    for (const v of stored) {
      let m = bySubject.get(v.subjectId);
      if (m === undefined) bySubject.set(v.subjectId, (m = new Map()));
      m.set(v.traitKey, v);
    }
    return new Map(
      subjectIds.map((id) => [
        id,
        traits.map((t) => {
          const v = bySubject.get(id)?.get(t.key);
          return v === undefined
            ? { key: t.key, value: emptyOf(t), updatedAt: null }
            : { key: t.key, value: v.value, updatedAt: v.updatedAt };
        }),
      ]),
    );
  }

  /** A profile's (or an account's) latest value changes, newest first; at most MAX_CHANGES_PAGE at a time. */
  async changes(
    space: string,
    subjectId: string,
    limit: number,
    level: TraitLevel = 'USERS',
  ): Promise<ValueChange[]> {
    if (!Number.isInteger(limit) || limit < 0 || limit > MAX_CHANGES_PAGE) {
      throw new InputError(`first must be between 0 and ${MAX_CHANGES_PAGE}, got ${limit}`, ['first']);
    }
    return this.repo.changes(this.db, space, level, subjectId, limit);
  }

  /** Starts the worker: every tickMs, read the change log, then recompute what is marked. */
  start(): void {
    this.stopped = false;
    const tick = () => {
      this.timer = undefined;
      this.running = this.drain()
        .then(
          () => undefined,
          (error: unknown) => this.onError(error),
        )
        .finally(() => {
          this.running = undefined;
          if (!this.stopped) this.timer = setTimeout(tick, this.settings.tickMs).unref();
        });
    };
    this.timer = setTimeout(tick, this.settings.tickMs).unref();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    await this.running;
    await Promise.allSettled([...this.backfills.values()]);
  }

  /**
   * One full pass: marks the profiles that the change log touched since the cursor and the values whose
   * window moved, then recomputes until nothing is marked. Tests and the benchmark call it to wait for
   * pending updates to drain.
   */
  async drain(): Promise<{ marked: number; recomputed: number }> {
    // Marking and recomputing each read the live computations after the rows they work on (a trait
    // created since this pass began is known to them); this read only finds unfinished backfills.
    const traits = await this.traitsBySpace();
    // A backfill that a stopped or crashed process left unfinished starts again here (from the start:
    // recomputing a profile twice changes nothing). Every process resumes it; they share the work.
    for (const [space, list] of traits)
      for (const t of list)
        if (t.status === 'COMPUTING' && !this.stopped && !this.backfills.has(`${space}\u0000${t.key}`))
          this.startBackfill(space, t.key);
    let marked = 0;
    for (;;) {
      const n = await this.markFromChanges(1000);
      marked += n.read;
      if (n.read < 1000) break;
    }
    const now = this.clock();
    if (now.getTime() - this.lastExpirySweep >= this.settings.expirySweepMs) {
      this.lastExpirySweep = now.getTime();
      marked += await this.repo.markExpired(this.db, now);
    }
    let recomputed = 0;
    for (;;) {
      const n = await this.recomputeMarked(this.settings.chunk);
      recomputed += n;
      if (n < this.settings.chunk) break;
    }
    if (this.projectMemberships !== null)
      for (;;) {
        const n = await this.projectDue(this.projectMemberships, this.settings.chunk);
        if (n < this.settings.chunk) break;
      }
    return { marked, recomputed };
  }

  /**
   * Drains once every change committed before the call can be read: the change log is read in commit-safe
   * order, so a transaction still running anywhere on the server holds back what was committed after it
   * began. Waits at most `timeoutMs` for such transactions to end. Tests and the benchmark's checks use
   * it to wait for pending updates.
   */
  async catchUp(timeoutMs = 10_000): Promise<{ marked: number; recomputed: number }> {
    const { xmax } = await this.repo.logHorizon(this.db);
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const { xmin } = await this.repo.logHorizon(this.db);
      if (xmin >= xmax || Date.now() > deadline) break;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    return this.drain();
  }

  /**
   * Marks profiles whose events were removed, and the accounts they belong to, for recomputation of every
   * computation of the level, in the caller's transaction: retention removes the events and marks their
   * profiles in one commit, so no value outlives the events it counted (docs/adr/0028-retention.md).
   */
  async markRemoved(tx: SqlTx, space: string, profileIds: string[], cause: Cause): Promise<number> {
    if (profileIds.length === 0) return 0;
    const why = { space, cause, messageId: null };
    const accounts = await this.repo.markAccounts(
      tx,
      profileIds.map((profileId) => ({ ...why, profileId })),
    );
    const users = await this.repo.markDirty(
      tx,
      profileIds.map((subjectId) => ({ ...why, level: 'USERS' as const, subjectId, streams: null })),
    );
    return users + accounts;
  }

  /** Marks every value whose window has moved past its oldest event now, whatever the sweep interval. */
  markExpired(): Promise<number> {
    return this.repo.markExpired(this.db, this.clock());
  }

  /**
   * Reads `limit` change-log rows after the cursor, and the rest of the last one's commit, and marks the
   * profiles they touched, by the live computations read after the rows: a computation committed before an
   * event it must see is then known, even one created since the drain began (its backfill may have passed
   * the profile before the event). A commit's entries are read together, so a group call's account is
   * marked for its `memberships` entry in the pass that reads its `events` entry (read-changes.sql).
   */
  private async markFromChanges(limit: number): Promise<{ read: number }> {
    return this.db.transaction(async (tx) => {
      const cursor = await this.repo.lockCursor(tx, CONSUMER);
      const rows = await this.repo.readChanges(tx, cursor, limit);
      if (rows.length === 0) return { read: 0 };
      const traits = await this.traitsBySpace();
      // Spaces without a live trait of a level are passed over for it: a trait created later computes its
      // history itself.
      const users = new Set<string>();
      const accounts = new Set<string>();
      // Spaces where a custom trait change moves something: audiences read traits (§10); an account
      // audience's ANY / ALL reads its members' traits, and any account audience the account's own.
      const userTraits = new Set<string>();
      const memberTraits = new Set<string>();
      const accountTraits = new Set<string>();
      // The streams the user-level computations of each space read: an event marks its profile for its
      // stream only, and not at all when nothing reads it (ADR 0021, "Only what moved").
      const readStreams = new Map<string, Set<string>>();
      for (const [space, list] of traits) {
        const own = list.filter((t) => t.level === 'USERS');
        if (own.length > 0) readStreams.set(space, new Set(own.flatMap(ownStreams).map((s) => s.event)));
      }
      for (const [space, list] of traits) {
        if (list.some((t) => t.level === 'USERS')) users.add(space);
        if (list.some((t) => t.level === 'ACCOUNTS')) accounts.add(space);
        if (list.some((t) => t.level === 'USERS' && t.kind === 'audience')) userTraits.add(space);
        if (list.some((t) => t.level === 'ACCOUNTS' && readsMembers(t))) memberTraits.add(space);
        if (list.some((t) => t.level === 'ACCOUNTS' && t.kind === 'audience')) accountTraits.add(space);
      }
      const dirty: DirtySubject[] = [];
      // Profiles whose accounts are due: an account's events are its members' (§9).
      const members: { space: string; profileId: string; cause: Cause; messageId: string | null }[] = [];
      for (const row of rows) {
        const forUsers = users.has(row.space);
        const forAccounts = accounts.has(row.space);
        if (!forUsers && !forAccounts) continue;
        const items = Array.isArray(row.payload) ? (row.payload as Record<string, unknown>[]) : [];
        for (const item of items) {
          const mark = (id: unknown, cause: Cause, messageId: unknown = null, stream?: string | null) => {
            if (typeof id !== 'string') return;
            const why = { cause, messageId: typeof messageId === 'string' ? messageId : null };
            const read = readStreams.get(row.space);
            // `stream` undefined: not an event (every computation); null: an entry written before the
            // change log named tracks (every computation); a name: the traits reading it, if any.
            const streams = read === undefined || stream === undefined || stream === null ? null : [stream];
            if (forUsers && (streams === null || read?.has(stream as string) === true))
              dirty.push({ space: row.space, level: 'USERS', subjectId: id, ...why, streams });
            if (forAccounts) members.push({ space: row.space, profileId: id, ...why });
          };
          if (row.kind === 'events') mark(item.profileId, 'event', item.messageId, streamOf(item));
          else if (row.kind === 'identifiers') mark(item.profileId, 'identifier');
          else if (row.kind === 'merges') {
            mark(item.survivorId, 'merge', item.messageId);
            mark(item.mergedId, 'merge', item.messageId);
          } else if (row.kind === 'traits' && typeof item.profileId === 'string') {
            const why = { cause: 'trait' as const, messageId: null, streams: null };
            if (userTraits.has(row.space))
              dirty.push({ space: row.space, level: 'USERS', subjectId: item.profileId, ...why });
            if (memberTraits.has(row.space))
              members.push({ space: row.space, profileId: item.profileId, ...why });
          } else if (
            row.kind === 'accounts' &&
            accountTraits.has(row.space) &&
            typeof item.groupId === 'string'
          ) {
            dirty.push({
              space: row.space,
              level: 'ACCOUNTS',
              subjectId: item.groupId,
              cause: 'trait',
              messageId: null,
              streams: null,
            });
          } else if (row.kind === 'memberships' && forAccounts && typeof item.groupId === 'string') {
            dirty.push({
              space: row.space,
              level: 'ACCOUNTS',
              subjectId: item.groupId,
              cause: 'membership',
              messageId: null,
              streams: null,
            });
          }
        }
      }
      // One row per subject: the last cause wins and the streams unite, as in mark-dirty; but identifiers
      // joining a profile never displace an event read with them, since an event brought them (a new
      // profile's first event records both in its commit) and the event names its messageId.
      const unique = new Map<string, DirtySubject>();
      for (const d of dirty) {
        const key = `${d.space}\u0000${d.level}\u0000${d.subjectId}`;
        const before = unique.get(key);
        const streams = before === undefined ? d.streams : unite(before.streams, d.streams);
        unique.set(key, { ...(eventKept(before, d) ? before : d), streams });
      }
      // Accounts marked through their members first, so that a `membership` mark (a profile joined the
      // account, usually by the same group call) names the cause rather than the member's event.
      const uniqueMembers = new Map<string, (typeof members)[number]>();
      for (const m of members) {
        const key = `${m.space}\u0000${m.profileId}`;
        const before = uniqueMembers.get(key);
        uniqueMembers.set(key, eventKept(before, m) ? before : m);
      }
      await this.repo.markAccounts(tx, [...uniqueMembers.values()]);
      await this.repo.markDirty(tx, [...unique.values()]);
      const last = rows[rows.length - 1];
      if (last !== undefined) await this.repo.advanceCursor(tx, CONSUMER, last);
      return { read: rows.length };
    });
  }

  /**
   * Writes up to `limit` subjects' memberships to the graph (audience_projection); their rows go in the
   * same PostgreSQL transaction, after the graph write, so a failure leaves them for the next pass.
   */
  private async projectDue(project: MembershipProjection, limit: number): Promise<number> {
    return this.db.transaction(async (tx) => {
      const due = await this.repo.takeProjection(tx, limit);
      for (const list of groupBySpaceAndLevel(due)) {
        const { space, level } = list[0] as (typeof due)[number];
        await project(
          space,
          level,
          list.map((d) => ({ id: d.subjectId, audiences: d.audiences })),
        );
      }
      await this.repo.finishProjection(tx, due);
      return due.length;
    });
  }

  /**
   * Recomputes up to `limit` marked profiles in one transaction; returns how many it took. The live
   * computations are read after the marks are taken, so that every computation the marker knew is known.
   */
  private async recomputeMarked(limit: number): Promise<number> {
    return this.db.transaction(async (tx) => {
      const taken = await this.repo.takeDirty(tx, limit);
      if (taken.length === 0) return 0;
      const groups = groupBySpaceAndLevel(taken);
      // The subjects are locked before the definitions are read: a backfill that a definition's change or
      // deletion started after this read waits for this transaction, then writes the subjects anew.
      for (const subjects of groups) {
        const { space, level } = subjects[0] as (typeof taken)[number];
        const ids = [...new Set(subjects.flatMap((d) => [d.subjectId, d.liveId]))];
        await this.repo.lockSubjects(tx, space, level, ids);
      }
      const traitsBySpace = await this.traitsBySpace();
      for (const subjects of groups) {
        const { space, level } = subjects[0] as (typeof taken)[number];
        // Every level's computations: an account's ANY / ALL evaluate its members with the users' ones.
        const write = await this.recompute(tx, space, level, traitsBySpace.get(space) ?? [], subjects);
        await this.repo.writeValues(tx, space, level, write, this.clock());
      }
      return taken.length;
    });
  }

  /**
   * Recomputes the subjects' computed traits and audiences of `level` (evaluate-subject.ts) from their
   * events, custom traits and, for an account, its members, as of now. A merged-away profile's values go
   * and its survivor is recomputed. Pure but for the reads through `run`.
   */
  private async recompute(
    run: SqlTx,
    space: string,
    level: TraitLevel,
    all: ParsedTrait[],
    subjects: (DirtySubject & { liveId: string })[],
    only: ParsedTrait | null = null,
  ): Promise<ValueWrite> {
    const now = this.clock();
    const write: ValueWrite = { set: [], cleared: [], changes: [], done: [], gone: [], empty: {} };
    for (const t of all) if (t.level === level) write.empty[t.key] = emptyOf(t);
    const cause = new Map<string, { cause: Cause; messageId: string | null }>();
    for (const s of subjects) {
      write.done.push(s.subjectId);
      if (s.liveId !== s.subjectId) write.gone.push(s.subjectId);
      cause.set(s.liveId, { cause: s.cause, messageId: s.messageId });
    }
    let live = [...cause.keys()];
    // A backfill writes its own computation and the audiences that refer to it (however deep): a new or
    // changed definition moves them too, on every subject. A computed trait nothing refers to needs
    // nothing else; otherwise every computation of the level is evaluated, as they may refer to others.
    const levelAll = orderOf(all.filter((t) => t.level === level));
    const writes = only === null ? null : withDependents(only.key, levelAll);
    const ordered = only?.kind === 'computed_trait' && writes?.size === 1 ? [only] : levelAll;
    if (ordered.length === 0 || live.length === 0) return write;
    // Merged-away ids are locked too, so that removing their values waits for any recomputation of them
    // (a backfill's page, or a live id a merge retired since it was taken).
    await this.repo.lockSubjects(run, space, level, [...live, ...write.gone]);
    if (level === 'USERS') {
      // Merged away since they were read: their values go; the merge marked the survivor.
      const merged = await this.repo.mergedAway(run, space, live);
      if (merged.size > 0) {
        live = live.filter((id) => !merged.has(id));
        for (const id of merged) if (!write.gone.includes(id)) write.gone.push(id);
      }
    }
    const users = orderOf(all.filter((t) => t.level === 'USERS'));
    const groups = movedGroups(ordered, live, subjects, only);
    // The stored values of what is evaluated only: the others are neither compared nor written.
    const keys = [...new Set(groups.flatMap((g) => g.computations.map((c) => c.key)))];
    const stored = await this.repo.loadValues(run, space, level, live, keys);
    const storedOf = new Map(stored.map((v) => [`${v.subjectId}\u0000${v.traitKey}`, v]));
    // Each profile reads its group's streams, back to the longest window among them only; custom traits
    // (from the graph) are read for the profiles whose audiences refer to a key no computation has.
    const namesOf = new Map<string, StreamsRead>();
    const traitsFor = new Set<string>();
    const computed = new Set(ordered.map((c) => c.key));
    for (const g of groups) {
      const read = matchOf(g.computations.flatMap(ownStreams), now);
      const custom = readsCustomTraits(g.computations, computed);
      for (const id of g.ids) {
        namesOf.set(id, read);
        if (custom) traitsFor.add(id);
      }
    }
    const computations = [...new Set(groups.flatMap((g) => g.computations))];
    const need = { ...needsOf(level, computations, users), traits: traitsFor.size > 0 };
    const ids = groups.flatMap((g) => g.ids);
    const inputs = await this.subjectInputs(run, space, level, ids, need, now, namesOf, traitsFor);
    for (const g of groups)
      this.compare(write, g.computations, g.ids, inputs, storedOf, cause, now, users, writes);
    return write;
  }

  /**
   * Evaluates `computations` for `ids` and adds to `write` every value to store and every change; of
   * `writes` only when given (a backfill's computation and what refers to it).
   */
  private compare(
    write: ValueWrite,
    computations: ParsedTrait[],
    ids: string[],
    inputs: Map<string, SubjectInput>,
    storedOf: Map<string, StoredValue>,
    cause: Map<string, { cause: Cause; messageId: string | null }>,
    now: Date,
    users: ParsedTrait[],
    writes: Set<string> | null,
  ): void {
    for (const id of ids) {
      const why = cause.get(id) ?? { cause: 'event' as const, messageId: null };
      const input = inputs.get(id) ?? NO_INPUT;
      const evaluated = evaluateSubject(computations, input, now, users);
      for (const t of computations) {
        if (writes !== null && !writes.has(t.key)) continue;
        const value = evaluated.values.get(t.key) ?? emptyOf(t);
        const empty = emptyOf(t);
        const old = storedOf.get(`${id}\u0000${t.key}`);
        const isEmpty = sameValue(value, empty);
        // When the value may change with the clock alone: an event leaving a window, a date passing a
        // relative condition (language/timers.ts). An empty value is stored only when it has such an
        // instant (a date that will come into range), so that the sweep finds it.
        const expiresAt = evaluated.nextChange.get(t.key) ?? null;
        const wasEmpty = old === undefined || sameValue(old.value, empty);
        if (isEmpty && expiresAt === null) {
          if (old !== undefined) write.cleared.push({ subjectId: id, traitKey: t.key });
        } else if (
          old === undefined ||
          !sameValue(old.value, value) ||
          (old.expiresAt?.getTime() ?? null) !== (expiresAt?.getTime() ?? null)
        ) {
          // A value and instant already stored are not written again: rewriting them changed nothing.
          write.set.push({ subjectId: id, traitKey: t.key, value, expiresAt });
        }
        if (wasEmpty ? !isEmpty : !sameValue(old.value, value))
          write.changes.push({
            subjectId: id,
            traitKey: t.key,
            oldValue: wasEmpty ? null : old.value,
            newValue: isEmpty ? null : value,
            ...why,
          });
      }
    }
  }

  /**
   * What the subjects are evaluated from: their events that any computation may match, their custom
   * traits (when an audience reads traits), their identifiers (profiles, for include anonymous), and an
   * account's members, each with its own events and traits (when an account audience uses ANY / ALL).
   */
  private async subjectInputs(
    run: SqlTx,
    space: string,
    level: TraitLevel,
    ids: string[],
    need: InputNeeds,
    now: Date,
    namesOf: Map<string, StreamsRead> | null = null,
    traitsFor: Set<string> | null = null,
  ): Promise<Map<string, SubjectInput>> {
    const events = await this.eventsOf(run, space, level, ids, need.streams, now, namesOf);
    const traitIds = traitsFor === null ? ids : ids.filter((id) => traitsFor.has(id));
    const traits =
      need.traits && this.customTraits !== null && traitIds.length > 0
        ? await this.customTraits(space, level, traitIds)
        : null;
    const identifiers = need.identifiers
      ? await this.repo.identifierKeys(run, space, ids)
      : new Map<string, string[]>();
    const membersOf =
      need.members !== null ? await this.repo.accountMembers(run, space, ids) : new Map<string, string[]>();
    const memberIds = [...new Set([...membersOf.values()].flat())];
    const memberInputs =
      need.members === null || memberIds.length === 0
        ? new Map<string, SubjectInput>()
        : await this.subjectInputs(run, space, 'USERS', memberIds, need.members, now);
    return new Map(
      ids.map((id) => [
        id,
        {
          events: events.get(id) ?? [],
          traits: traits?.get(id) ?? {},
          identifiers: identifiers.get(id) ?? [],
          members: (membersOf.get(id) ?? []).map((m) => memberInputs.get(m) ?? NO_INPUT),
        },
      ]),
    );
  }

  private async eventsOf(
    run: SqlTx,
    space: string,
    level: TraitLevel,
    ids: string[],
    streams: EventStream[],
    now: Date,
    namesOf: Map<string, StreamsRead> | null,
  ): Promise<Map<string, LanguageEvent[]>> {
    if (streams.length === 0) return new Map();
    return this.repo.loadEvents(run, space, level, ids, matchOf(streams, now), namesOf);
  }

  /**
   * Live computed traits and audiences by space, parsed (definitions are stored canonical, so they always
   * parse).
   */
  private async traitsBySpace(): Promise<Map<string, ParsedTrait[]>> {
    const out = new Map<string, ParsedTrait[]>();
    for (const row of await this.repo.live(this.db)) {
      const cacheKey = `${row.kind}\u0000${row.definition}`;
      let definition = this.parsed.get(cacheKey);
      if (definition === undefined) {
        const parsed =
          row.kind === 'audience' ? parseAudience(row.definition) : parseComputedTrait(row.definition);
        if (!parsed.ok) continue;
        definition = parsed.definition;
        this.parsed.set(cacheKey, definition);
      }
      const list = out.get(row.space) ?? [];
      const base = { key: row.key, level: row.level, status: row.status };
      list.push(
        definition.kind === 'audience'
          ? { ...base, kind: 'audience', definition, includeAnonymous: row.include_anonymous }
          : { ...base, kind: 'computed_trait', definition },
      );
      out.set(row.space, list);
    }
    return out;
  }

  /**
   * The audiences to compute again when the definition of `key` (of `level`) changes: the account
   * audiences whose ANY / ALL read it or a user-level audience that refers to it, however deep; and when
   * it is `gone` (deleted), also the audiences of its level that refer to it (a changed one's own backfill
   * writes those, with what refers to them). Read from the live definitions.
   */
  private async referrers(
    space: string,
    key: string,
    level: TraitLevel,
    change: 'moved' | 'gone',
  ): Promise<string[]> {
    const all = (await this.traitsBySpace()).get(space) ?? [];
    const out = new Set<string>();
    if (change === 'gone')
      for (const t of all)
        if (t.key !== key && t.level === level && ownTraits(t).includes(key)) out.add(t.key);
    if (level === 'USERS') {
      const moved = withDependents(key, orderOf(all.filter((t) => t.level === 'USERS' && t.key !== key)));
      for (const t of all)
        if (t.level === 'ACCOUNTS' && memberTraits(t).some((k) => moved.has(k))) out.add(t.key);
    }
    out.delete(key);
    return [...out].sort();
  }

  /**
   * Writes a definition's creation, change or deletion (`write`, true when it took effect) and, in the same
   * transaction, sets the audiences that must be computed again because of it COMPUTING (`referrers`);
   * their backfills start once it has committed, and a crash after it leaves them to be resumed.
   */
  private async changeDefinition(
    space: string,
    key: string,
    level: TraitLevel,
    change: 'moved' | 'gone',
    write: (tx: SqlTx) => Promise<boolean>,
  ): Promise<boolean> {
    const referrers = await this.referrers(space, key, level, change);
    const written = await this.db.transaction(async (tx) => {
      if (!(await write(tx))) return false;
      for (const r of referrers) await this.repo.setStatus(tx, space, r, 'COMPUTING', 0, null);
      return true;
    });
    if (written) for (const r of referrers) this.startBackfill(space, r);
    return written;
  }

  private startBackfill(space: string, key: string): void {
    const id = `${space}\u0000${key}`;
    if (this.backfills.has(id)) {
      this.restarts.add(id);
      return;
    }
    const job = this.backfill(space, key)
      .catch(async (error: unknown) => {
        this.onError(error);
        await this.repo
          .setStatus(this.db, space, key, 'FAILED', 0, error instanceof Error ? error.message : String(error))
          .catch(() => undefined);
      })
      .finally(() => {
        this.backfills.delete(id);
        // A restart asked for as the job ended: a new pass, from the start.
        if (this.restarts.delete(id) && !this.stopped) this.startBackfill(space, key);
      });
    this.backfills.set(id, job);
  }

  /**
   * Computes a new trait over every profile (or account with a member) of the space, a page at a time,
   * recording progress; LIVE when done. Meanwhile the worker keeps touched subjects up to date as for any
   * trait.
   */
  private async backfill(space: string, key: string): Promise<void> {
    const id = `${space}\u0000${key}`;
    const page = this.settings.chunk;
    let after = '';
    let done = 0;
    let total = 0;
    for (;;) {
      if (this.stopped) return;
      if (this.restarts.delete(id)) {
        // The definition changed (updateAudience): compute it again from the start.
        after = '';
        done = 0;
      }
      const all = (await this.traitsBySpace()).get(space) ?? [];
      const target = all.find((t) => t.key === key);
      if (target === undefined) return; // deleted meanwhile
      const level = target.level;
      // The space's count comes with the first page only; `total` keeps it for the progress.
      const found = await this.repo.subjectsPage(this.db, space, level, after, page);
      const ids = found.ids;
      if (found.total !== null) total = found.total;
      if (ids.length === 0) {
        // Done, unless a restart was asked for meanwhile: its COMPUTING is not to be overwritten by a LIVE
        // over values of the old definition. Asked for while LIVE was written, COMPUTING is set again.
        if (this.restarts.has(id)) continue;
        await this.repo.setStatus(this.db, space, key, 'LIVE', 1, null);
        if (!this.restarts.has(id)) return;
        await this.repo.setStatus(this.db, space, key, 'COMPUTING', 0, null);
        continue;
      }
      await this.db.transaction(async (tx) => {
        const subjects = ids.map((subjectId) => ({
          space,
          level,
          subjectId,
          liveId: subjectId,
          cause: 'backfill' as const,
          messageId: null,
          streams: null,
        }));
        const write = await this.recompute(tx, space, level, all, subjects, target);
        write.done = [];
        await this.repo.writeValues(tx, space, level, write, this.clock());
      });
      done += ids.length;
      after = ids[ids.length - 1] ?? after;
      await this.repo.setStatus(
        this.db,
        space,
        key,
        'COMPUTING',
        Math.min(1, done / Math.max(1, total)),
        null,
      );
    }
  }
}

function checkPageSize(first: number): void {
  if (!Number.isInteger(first) || first < 0 || first > MAX_CHANGES_PAGE)
    throw new InputError(`first must be between 0 and ${MAX_CHANGES_PAGE}, got ${first}`, ['first']);
}

/** The property conditions of a `.where` filter (the leaves under AND, OR and NOT). */
function countConditions(filter: EventFilter | null): number {
  if (filter === null) return 0;
  if (filter.kind === 'property') return 1;
  if (filter.kind === 'not') return countConditions(filter.operand);
  return filter.items.reduce((n, item) => n + countConditions(item), 0);
}

/** Whether an earlier mark by an event stays, rather than a later one by identifiers joining. */
function eventKept<T extends { cause: Cause }>(before: T | undefined, next: T): before is T {
  return before !== undefined && before.cause === 'event' && next.cause === 'identifier';
}

/**
 * The stream a change log's event entry belongs to, by the names the language gives (§9): a track's name,
 * `Page Viewed`, `Screen Viewed`; '' for calls no computed trait reads (identify, group, alias); null
 * when the entry does not say (a track logged before entries carried the name).
 */
function streamOf(item: Record<string, unknown>): string | null {
  if (item.type === 'track') return typeof item.event === 'string' ? item.event : null;
  if (item.type === 'page') return 'Page Viewed';
  if (item.type === 'screen') return 'Screen Viewed';
  return typeof item.type === 'string' ? '' : null;
}

/**
 * The subjects to recompute grouped by the computations to evaluate for them (ADR 0021, "Only what
 * moved"). A subject marked by events of some streams gets the computations reading those streams, the
 * audiences that refer to any of them (by key, as a trait, however deep), and what those refer to, which
 * their evaluation reads; every other subject (merge, identifier, window, trait, membership, backfill)
 * gets all `ordered`. Each group keeps `ordered`'s evaluation order.
 */
function movedGroups(
  ordered: ParsedTrait[],
  live: string[],
  subjects: (DirtySubject & { liveId: string })[],
  only: ParsedTrait | null,
): { ids: string[]; computations: ParsedTrait[] }[] {
  if (only !== null) return [{ ids: live, computations: ordered }];
  const streamsOf = new Map<string, string[] | null>();
  for (const s of subjects)
    streamsOf.set(
      s.liveId,
      streamsOf.has(s.liveId) ? unite(streamsOf.get(s.liveId) ?? null, s.streams) : s.streams,
    );
  const groups = new Map<string, { ids: string[]; computations: ParsedTrait[] }>();
  for (const id of live) {
    const streams = streamsOf.get(id) ?? null;
    const key = streams === null ? '' : streams.map((name) => `\u0000${name}`).join('');
    let group = groups.get(key);
    if (group === undefined) {
      group = { ids: [], computations: streams === null ? ordered : movedBy(ordered, streams) };
      groups.set(key, group);
    }
    group.ids.push(id);
  }
  return [...groups.values()].filter((g) => g.computations.length > 0);
}

/** The computations of `ordered` that events of `streams` may move, with what they refer to. */
function movedBy(ordered: ParsedTrait[], streams: string[]): ParsedTrait[] {
  const moved = new Set(
    ordered.filter((c) => ownStreams(c).some((stream) => streams.includes(stream.event))).map((c) => c.key),
  );
  // An audience referring to a moved computation may move too; in evaluation order, each comes after
  // what it refers to, so one pass finds them all.
  for (const c of ordered) if (ownTraits(c).some((key) => moved.has(key))) moved.add(c.key);
  // What the moved ones refer to is evaluated with them (from the same events, so it is unchanged).
  const needed = new Set(moved);
  for (const c of [...ordered].reverse())
    if (needed.has(c.key)) for (const key of ownTraits(c)) needed.add(key);
  return ordered.filter((c) => needed.has(c.key));
}

/**
 * What a preview of `draft` evaluates and what it reads as stored: the computations of its level it refers
 * to (however deep) are read from computed_values when LIVE, else evaluated with it; an account draft's
 * ANY / ALL evaluate, for each member, the users' computations they refer to. `custom`: the keys it refers
 * to that are no computation's, so custom traits to read.
 */
function previewPlan(
  draft: ParsedTrait,
  all: ParsedTrait[],
): { evaluated: ParsedTrait[]; stored: ParsedTrait[]; members: ParsedTrait[]; custom: string[] } {
  const byKey = new Map(all.filter((t) => t.level === draft.level).map((t) => [t.key, t]));
  const evaluated = new Map<string, ParsedTrait>([[draft.key, draft]]);
  const stored = new Map<string, ParsedTrait>();
  const custom = new Set<string>();
  const pending = ownTraits(draft);
  for (let key = pending.pop(); key !== undefined; key = pending.pop()) {
    const c = byKey.get(key);
    if (c === undefined) custom.add(key);
    else if (c.status === 'LIVE') stored.set(key, c);
    else if (!evaluated.has(key)) {
      evaluated.set(key, c);
      pending.push(...ownTraits(c));
    }
  }
  // The members' side: what ANY / ALL refer to, with what that refers to, evaluated from events.
  const users = new Map(all.filter((t) => t.level === 'USERS').map((t) => [t.key, t]));
  const members = new Map<string, ParsedTrait>();
  const memberPending = [...evaluated.values()].flatMap(memberTraits);
  for (let key = memberPending.pop(); key !== undefined; key = memberPending.pop()) {
    const c = users.get(key);
    if (c === undefined || members.has(key)) continue;
    members.set(key, c);
    memberPending.push(...ownTraits(c));
  }
  return {
    evaluated: orderOf([...evaluated.values()]),
    stored: [...stored.values()],
    members: orderOf([...members.values()]),
    custom: [...custom].sort(),
  };
}

/**
 * Whether evaluating `computations` reads a custom trait: an audience refers to a key no computation of
 * the level has (a computation's value wins over a custom trait of its key, and is evaluated with it).
 */
function readsCustomTraits(computations: ParsedTrait[], computed: Set<string>): boolean {
  return computations.some((c) => ownTraits(c).some((key) => !computed.has(key)));
}

/** `key` and the computations of `ordered` (in evaluation order) that refer to it, however deep. */
function withDependents(key: string, ordered: ParsedTrait[]): Set<string> {
  const out = new Set([key]);
  for (const c of ordered) if (ownTraits(c).some((k) => out.has(k))) out.add(c.key);
  return out;
}

/** Two marks' streams together: null (every computation) wins. */
function unite(a: string[] | null, b: string[] | null): string[] | null {
  return a === null || b === null ? null : [...new Set([...a, ...b])].sort();
}

/** Which events a read needs: the streams' names, at or after a time (the longest window's reach). */
type StreamsRead = { names: string[]; since: Date };

/** Which events any of the streams may match, and how far back the longest window reaches. */
function matchOf(streams: EventStream[], now: Date): StreamsRead {
  const names = new Set<string>();
  let reach = 0;
  for (const stream of streams) {
    // `Page Viewed` reads pages and tracks of that name (§9 names pages so; it does not forbid the track).
    names.add(stream.event);
    const window = stream.window;
    reach = window === null ? Infinity : Math.max(reach, durationMs(window));
  }
  // Without a window, from the earliest event time §8 lets an event have (year 0000), not 1970.
  const since = reach === Infinity ? new Date(MIN_TIME) : new Date(now.getTime() - reach);
  return { names: [...names], since };
}

/** Computations in evaluation order (a cycle cannot be stored: creation refuses it). */
function orderOf(computations: ParsedTrait[]): ParsedTrait[] {
  const ordered = evaluationOrder(computations);
  return 'order' in ordered ? (ordered.order as ParsedTrait[]) : computations;
}
