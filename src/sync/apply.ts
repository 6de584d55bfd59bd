// How a stretch of the change log becomes rows in a target (docs/adr/0024-profiles-sync.md): the raw event
// tables, id_graph_updates, external_id_mapping_updates and profile_traits_updates are appended; the
// materialised views user_identifiers, user_traits and profile_merges are kept as tables, updated in the
// same transaction. Which profile a segment_id maps to now is the target's own profile_merges, so merges
// are followed however they nest. Runs inside the target transaction that also moves the cursor.
import { createHash } from 'node:crypto';
import type { LoggedChange, StoredEvent } from '../events/index.ts';
import { slug } from '../events/index.ts';
import { stringifyJson } from '../json.ts';
import type { ValueChangeRow } from './sync.repository.ts';
import {
  FORGET_ACCOUNT_QUERIES,
  FORGET_QUERIES,
  FORGETS_HELD_ROWS,
  type TargetQuery,
  type TargetTx,
} from './targets.ts';

interface LoggedEvent {
  messageId: string;
  type: string;
  profileId: string;
  keys: string[];
}

const INSERT_BY_TYPE: Record<string, TargetQuery> = {
  identify: 'insert-identifies',
  track: 'insert-tracks',
  page: 'insert-pages',
  screen: 'insert-screens',
  group: 'insert-groups',
  alias: 'insert-aliases',
};

/** Append statements whose first parameter is the row's primary key, kept by `ON CONFLICT (id) DO NOTHING`. */
const KEYED_BY_ID: ReadonlySet<TargetQuery> = new Set([...Object.values(INSERT_BY_TYPE), 'add-identifier']);

const text = (v: unknown): string | null => (typeof v === 'string' ? v : null);
const items = (payload: unknown): Record<string, unknown>[] =>
  Array.isArray(payload) ? (payload as Record<string, unknown>[]) : [];
const json = (v: unknown): string | null =>
  v === null || v === undefined ? null : (stringifyJson(v) ?? null);
const ms = (d: Date | null | undefined): number | null => (d == null ? null : d.getTime());

/**
 * What a stretch writes, held and written together (DuckDB's cost per statement is most of a row's):
 * - rows of append-only tables (the event tables and the update tables), one multi-row INSERT per table
 *   and ROWS_PER_STATEMENT rows; for the statements ending `ON CONFLICT (id) DO NOTHING` a row whose id
 *   (first parameter) is already held is left out, as that clause would leave it;
 * - the last write to each row of a materialised table (an upsert or a delete, by the row's key), the
 *   upserts one multi-row INSERT per statement (one statement cannot hold a key twice), the deletes one
 *   each.
 * Nothing held is read back before `flush`, which the caller runs before any statement that reads or
 * rewrites those tables (a merge) and at the end of the stretch.
 */
class Writes {
  private readonly appends = new Map<TargetQuery, { ids: Set<unknown>; list: unknown[][] }>();
  private readonly latest = new Map<string, { name: TargetQuery; params: unknown[] }>();

  append(name: TargetQuery, params: unknown[]): void {
    let held = this.appends.get(name);
    if (held === undefined) {
      held = { ids: new Set(), list: [] };
      this.appends.set(name, held);
    }
    if (KEYED_BY_ID.has(name)) {
      if (held.ids.has(params[0])) return;
      held.ids.add(params[0]);
    }
    held.list.push(params);
  }

  /** The write to the row `key` of `table` (an upsert or a delete statement), replacing an earlier one. */
  put(table: string, key: readonly unknown[], name: TargetQuery, params: unknown[]): void {
    const id = [table, ...key.map(String)].join('\u0000');
    // Deleted and set again (or the reverse): the last one is what the row ends as, in its place.
    this.latest.delete(id);
    this.latest.set(id, { name, params });
  }

  async flush(tx: TargetTx): Promise<void> {
    for (const [name, held] of this.appends) await tx.runMany(name, held.list);
    this.appends.clear();
    const upserts = new Map<TargetQuery, unknown[][]>();
    for (const { name, params } of this.latest.values()) {
      if (DELETES.has(name)) await tx.run(name, params);
      else upserts.set(name, [...(upserts.get(name) ?? []), params]);
    }
    for (const [name, rows] of upserts) await tx.runMany(name, rows);
    this.latest.clear();
  }
}

/** Statements of materialised tables that delete their row (run one by one when flushed). */
const DELETES: ReadonlySet<TargetQuery> = new Set([
  'remove-user-trait',
  'remove-user-membership',
  'remove-account-membership',
  'remove-user-computed-trait',
  'remove-account-computed-trait',
  'remove-account-trait',
  'clear-account-traits',
]);

/** The message ids whose stored events a stretch of the log needs: its events, and what triggered merges. */
export function referencedEvents(rows: readonly LoggedChange[]): string[] {
  const ids = new Set<string>();
  for (const row of rows) {
    if (row.kind !== 'events' && row.kind !== 'merges') continue;
    for (const item of items(row.payload)) {
      const id = text(item.messageId);
      if (id !== null) ids.add(id);
    }
  }
  return [...ids];
}

/** A trait value as user_traits holds it: a string as it is, anything else as its JSON text. */
export function traitText(value: unknown): string | null {
  if (value === null || value === undefined) return null;
  return typeof value === 'string' ? value : (stringifyJson(value) ?? null);
}

/**
 * Writes the rows of `rows` (one space's change log, in commit-safe order, whole transactions) to the
 * target; `events` holds the stored events they name. Returns how many rows were appended to the event and
 * update tables, and how many of theirs (written by this stretch or an earlier one) a deletion removed:
 * the rows the target holds change by the difference.
 */
export async function applyChanges(
  tx: TargetTx,
  rows: readonly LoggedChange[],
  events: ReadonlyMap<string, StoredEvent>,
): Promise<{ written: number; forgotten: number }> {
  let written = 0;
  let forgotten = 0;
  const writes = new Writes();
  /** segment_id → the profile it maps to now; null: never seen by this target. */
  const canonical = new Map<string, string | null>();
  const profileOf = async (id: string): Promise<string | null> => {
    if (canonical.has(id)) return canonical.get(id) ?? null;
    const [row] = await tx.run('profile-of', [id]);
    const found = row === undefined ? null : String(row.canonical_segment_id);
    canonical.set(id, found);
    return found;
  };
  /** The profile `id` maps to, recorded first (mapped to itself) when the target has never seen it. */
  const ensureProfile = async (id: string, trigger: StoredEvent | undefined, seq: number, at: Date) => {
    const found = await profileOf(id);
    if (found !== null) return found;
    writes.append('add-profile', [
      id,
      trigger?.type ?? null,
      trigger?.messageId ?? null,
      ms(trigger?.timestamp ?? at),
      ms(trigger?.receivedAt ?? at),
      seq,
    ]);
    writes.put('profile_merges', [id], 'add-profile-merge', [
      id,
      ms(trigger?.timestamp ?? at),
      ms(trigger?.receivedAt ?? at),
      seq,
    ]);
    written += 1;
    canonical.set(id, id);
    return id;
  };

  // The change-log rows of one commit (one txid) say together which event brought what.
  const byTxid = new Map<string, LoggedEvent[]>();
  for (const row of rows) {
    if (row.kind !== 'events') continue;
    const list = byTxid.get(row.txid) ?? [];
    for (const item of items(row.payload)) {
      const messageId = text(item.messageId);
      const profileId = text(item.profileId);
      if (messageId === null || profileId === null) continue;
      const keys = Array.isArray(item.keys)
        ? item.keys.filter((k): k is string => typeof k === 'string')
        : [];
      list.push({ messageId, type: text(item.type) ?? '', profileId, keys });
    }
    byTxid.set(row.txid, list);
  }
  const stored = (id: string | null | undefined) => (id == null ? undefined : events.get(id));
  /** The first event of the commit that carried the identifier. */
  const eventWithKey = (txid: string, key: string) =>
    stored(byTxid.get(txid)?.find((e) => e.keys.includes(key))?.messageId);
  /** The commit's last identify of the profile, else its last event of any type. */
  /** Account trait names this stretch has written, per account (a later group call may lack some). */
  const accountNames = new Map<string, Set<string>>();
  const eventOfProfile = (txid: string, profileId: string) => {
    const list = (byTxid.get(txid) ?? []).filter((e) => e.profileId === profileId);
    return stored((list.filter((e) => e.type === 'identify').at(-1) ?? list.at(-1))?.messageId);
  };

  for (const row of rows) {
    const seq = Number(row.position);
    if (row.kind === 'events') {
      for (const item of items(row.payload)) {
        const event = stored(text(item.messageId));
        const profileId = text(item.profileId);
        // An event stored nowhere any more (refused, or removed by retention) has no row to write.
        if (event === undefined || profileId === null) continue;
        writes.append(INSERT_BY_TYPE[event.type] as TargetQuery, eventParams(event, profileId));
        written += 1;
      }
    } else if (row.kind === 'identifiers') {
      for (const [index, item] of items(row.payload).entries()) {
        const key = text(item.key);
        const profileId = text(item.profileId);
        if (key === null || profileId === null) continue;
        const colon = key.indexOf(':');
        const type = key.slice(0, colon);
        const value = key.slice(colon + 1);
        const trigger = eventWithKey(row.txid, key);
        const at = trigger?.timestamp ?? row.at;
        const receivedAt = trigger?.receivedAt ?? row.at;
        const profile = await ensureProfile(profileId, trigger, seq, row.at);
        writes.append('add-identifier', [
          `${row.position}-${index}`,
          profileId,
          type,
          value,
          createHash('sha256').update(key, 'utf8').digest('hex'),
          trigger?.messageId ?? null,
          trigger === undefined ? null : eventName(trigger),
          trigger?.type ?? null,
          ms(at),
          ms(receivedAt),
          seq,
        ]);
        writes.put('user_identifiers', [type, value], 'set-user-identifier', [
          profile,
          type,
          value,
          ms(at),
          ms(receivedAt),
          seq,
        ]);
        written += 1;
      }
    } else if (row.kind === 'merges') {
      for (const item of items(row.payload)) {
        const mergedId = text(item.mergedId);
        const survivorId = text(item.survivorId);
        if (mergedId === null || survivorId === null) continue;
        const trigger = stored(text(item.messageId));
        const merged = await ensureProfile(mergedId, trigger, seq, row.at);
        const survivor = await ensureProfile(survivorId, trigger, seq, row.at);
        if (merged === survivor) continue;
        // A merge reads profile_merges and rewrites user_identifiers and user_traits: what is held goes
        // first.
        await writes.flush(tx);
        const at = ms(trigger?.timestamp ?? row.at);
        const receivedAt = ms(trigger?.receivedAt ?? row.at);
        const moved = await tx.run('record-merge', [
          merged,
          survivor,
          trigger?.type ?? null,
          trigger?.messageId ?? null,
          at,
          receivedAt,
          seq,
        ]);
        written += moved.length;
        await tx.run('merge-profiles', [merged, survivor, at, receivedAt, seq]);
        await tx.run('merge-identifiers', [merged, survivor, seq]);
        await tx.run('merge-traits', [merged]);
        await tx.run('merge-account-members', [merged, survivor, seq]);
        await tx.run('drop-merged-account-members', [merged]);
        for (const [id, to] of canonical) if (to === merged) canonical.set(id, survivor);
      }
    } else if (row.kind === 'traits') {
      for (const item of items(row.payload)) {
        const profileId = text(item.profileId);
        const changed = item.changed;
        if (profileId === null || typeof changed !== 'object' || changed === null) continue;
        const trigger = eventOfProfile(row.txid, profileId);
        const at = ms(trigger?.timestamp ?? row.at);
        const receivedAt = ms(trigger?.receivedAt ?? row.at);
        const profile = await ensureProfile(profileId, trigger, seq, row.at);
        writes.append('add-traits-update', [
          profileId,
          profile,
          json(changed),
          trigger?.messageId ?? null,
          trigger?.type ?? null,
          at,
          receivedAt,
          seq,
        ]);
        written += 1;
        for (const [name, value] of Object.entries(changed as Record<string, unknown>)) {
          const shown = traitText(value);
          if (shown === null)
            writes.put('user_traits', [profile, name], 'remove-user-trait', [profile, name]);
          else
            writes.put('user_traits', [profile, name], 'set-user-trait', [
              profile,
              name,
              shown,
              at,
              receivedAt,
              seq,
            ]);
        }
      }
    } else if (row.kind === 'accounts') {
      // An account's whole traits after a group call: the rows of the names it lacks go.
      for (const item of items(row.payload)) {
        const groupId = text(item.groupId);
        const traits = item.traits;
        if (groupId === null || typeof traits !== 'object' || traits === null) continue;
        // Dated by the change's commit, not its group call: the call may be gone by the time a target reads
        // the entry (deleted with the user who made it) while the account stays, and a target synced
        // afresh must write the same row.
        const at = ms(row.at);
        writes.put('account_traits_of', [groupId], 'clear-account-traits', [groupId]);
        for (const name of accountNames.get(groupId) ?? [])
          writes.put('account_traits', [groupId, name], 'remove-account-trait', [groupId, name]);
        const names = new Set<string>();
        for (const [name, value] of Object.entries(traits as Record<string, unknown>)) {
          const shown = traitText(value);
          if (shown === null) continue;
          names.add(name);
          writes.put('account_traits', [groupId, name], 'set-account-trait', [
            groupId,
            name,
            shown,
            at,
            at,
            seq,
          ]);
        }
        accountNames.set(groupId, names);
      }
    } else if (row.kind === 'memberships') {
      for (const item of items(row.payload)) {
        const groupId = text(item.groupId);
        const profileId = text(item.profileId);
        if (groupId === null || profileId === null) continue;
        const profile = await ensureProfile(profileId, undefined, seq, row.at);
        // `since` is the change's commit, for the reason account_traits' time is.
        writes.put('account_members', [groupId, profile], 'set-account-member', [
          groupId,
          profile,
          ms(row.at),
          seq,
        ]);
      }
    } else if (row.kind === 'deletions') {
      // A deletion request (docs/adr/0027): every row of the profile and of each id merged into it goes,
      // whatever the stretches before wrote (what is held is written first, then removed with the rest);
      // an account's (by group_id) likewise.
      const payload = (row.payload ?? {}) as { profileIds?: unknown; groupIds?: unknown };
      const strings = (list: unknown) =>
        Array.isArray(list) ? list.filter((p): p is string => typeof p === 'string') : [];
      await writes.flush(tx);
      for (const profileId of strings(payload.profileIds)) {
        const segments = (await tx.run('segments-of', [profileId])).map((r) => String(r.segment_id));
        for (const segment of segments) {
          for (const statement of FORGET_QUERIES) {
            const gone = await tx.run(statement, [segment]);
            if (FORGETS_HELD_ROWS.has(statement)) forgotten += gone.length;
          }
          canonical.delete(segment);
        }
      }
      for (const groupId of strings(payload.groupIds))
        for (const statement of FORGET_ACCOUNT_QUERIES) {
          const gone = await tx.run(statement, [groupId]);
          if (FORGETS_HELD_ROWS.has(statement)) forgotten += gone.length;
        }
    }
  }
  await writes.flush(tx);
  return { written, forgotten };
}

/** Segment's triggering_event_name: the track's event, a page's or screen's name, else the type. */
function eventName(e: StoredEvent): string {
  return e.event ?? e.name ?? e.type;
}

/** The parameters of insert-<table>.sql for one stored event (its header lists them). */
function eventParams(e: StoredEvent, profileId: string): unknown[] {
  const common = [
    e.messageId,
    profileId,
    ms(e.receivedAt),
    ms(e.timestamp),
    ms(e.sentAt),
    ms(e.originalTimestamp),
    e.userId,
    e.anonymousId,
  ];
  const context = json(e.context);
  switch (e.type) {
    case 'identify':
      return [...common, json(e.traits), context];
    case 'track':
      return [...common, e.event === null ? null : slug(e.event), e.event, json(e.properties), context];
    case 'page':
    case 'screen':
      return [...common, e.name, e.category, json(e.properties), context];
    case 'group':
      return [...common, e.groupId, json(e.traits), context];
    case 'alias':
      return [...common, e.previousId, context];
  }
}

/**
 * Writes computed-value changes (in commit-safe order) to the target: an audience's entries and exits to
 * audience_membership_updates and its members to (account_)audience_memberships; every computed-trait
 * change to computed_trait_updates and the current values to (account_)computed_traits. A non-member's
 * `false` kept for its instant (docs/adr/0022, "Ageing") moves no membership and is not written. Returns
 * how many rows were appended.
 */
export async function applyValueChanges(tx: TargetTx, changes: readonly ValueChangeRow[]): Promise<number> {
  let written = 0;
  const writes = new Writes();
  for (const c of changes) {
    const users = c.level === 'USERS';
    const profile = users ? c.subjectId : null;
    const group = users ? null : c.subjectId;
    const seq = Number(c.id);
    if (c.kind === 'audience') {
      const entered = c.newValue === true;
      if (entered === (c.oldValue === true)) continue;
      writes.append('insert-audience-update', [
        `v${c.id}`,
        c.level,
        profile,
        group,
        c.traitKey,
        entered,
        c.cause,
        c.at.getTime(),
        seq,
      ]);
      const memberships = users ? 'audience_memberships' : 'account_audience_memberships';
      if (entered)
        writes.put(
          memberships,
          [c.subjectId, c.traitKey],
          users ? 'set-user-membership' : 'set-account-membership',
          [c.subjectId, c.traitKey, c.at.getTime(), seq],
        );
      else
        writes.put(
          memberships,
          [c.subjectId, c.traitKey],
          users ? 'remove-user-membership' : 'remove-account-membership',
          [c.subjectId, c.traitKey],
        );
    } else {
      const value = traitText(c.newValue);
      writes.append('insert-trait-update', [
        `v${c.id}`,
        c.level,
        profile,
        group,
        c.traitKey,
        value,
        c.cause,
        c.at.getTime(),
        seq,
      ]);
      const values = users ? 'computed_traits' : 'account_computed_traits';
      if (value === null)
        writes.put(
          values,
          [c.subjectId, c.traitKey],
          users ? 'remove-user-computed-trait' : 'remove-account-computed-trait',
          [c.subjectId, c.traitKey],
        );
      else
        writes.put(
          values,
          [c.subjectId, c.traitKey],
          users ? 'set-user-computed-trait' : 'set-account-computed-trait',
          [c.subjectId, c.traitKey, value, c.at.getTime(), seq],
        );
    }
    written += 1;
  }
  await writes.flush(tx);
  return written;
}
