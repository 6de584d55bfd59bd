// Deletion and suppression (SEMANTICS.md §12, docs/adr/0027-deletion-and-suppression.md), after Segment's
// regulations: SUPPRESS_ONLY, DELETE_ONLY, SUPPRESS_WITH_DELETE and UNSUPPRESS, by any identifier.
//
// Suppression is recorded before the request is answered and is in this process's SuppressionList at once
// (other processes within SUPPRESSION_REFRESH_MS). Deletion runs in passes: each pass finds the person in
// the graph and in the event store by every key known so far (the keys grow as profiles are found), deletes
// the graph part, then the event-store part; passes repeat, `settleMs` apart, until one finds nothing, so
// events that were in flight when the request came (a racing ingestion) are deleted too.
import { randomBytes } from 'node:crypto';
import { ServiceUnavailableError } from '../errors.ts';
import type { Graph } from '../graph/index.ts';
import { identifierKey, normaliseIdentifier } from '../identity/index.ts';
import type { Database } from '../postgres/database.ts';
import {
  PrivacyRepository,
  REGULATION_TYPES,
  type Person,
  type Regulation,
  type RegulationType,
} from './privacy.repository.ts';
import type { SuppressionList } from './suppression.ts';

export interface PrivacySettings {
  /** Wait between deletion passes (ms): longer than a batch's two-store commit takes. */
  settleMs: number;
  /** Passes before a deletion that keeps finding new data (ingestion not suppressed) stops anyway. */
  maxPasses: number;
  /** A RUNNING request silent this long lost its process: the recovery pass takes it over (ms). */
  leaseMs: number;
  /** How often unfinished requests are looked for (ms). */
  recoveryMs: number;
}

export const DEFAULT_PRIVACY_SETTINGS: PrivacySettings = {
  settleMs: 1_000,
  maxPasses: 20,
  leaseMs: 60_000,
  recoveryMs: 10_000,
};

export interface PrivacyHooks {
  /** A deletion that failed (it is recorded FAILED), or a failed recovery pass. */
  onError?: (error: unknown, regulationId: string | null) => void;
}

/** A refusal of a request, with the field it is about (STYLE.md §9). */
export interface RegulationError {
  code: 'VALIDATION_FAILED';
  message: string;
  path: (string | number)[];
}

export type RequestResult = { ok: true; regulation: Regulation } | { ok: false; error: RegulationError };

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
const DELETES: ReadonlySet<RegulationType> = new Set(['DELETE_ONLY', 'SUPPRESS_WITH_DELETE']);
const ACCOUNT_PREFIX = 'group_id:';
const SUPPRESSES: ReadonlySet<RegulationType> = new Set(['SUPPRESS_ONLY', 'SUPPRESS_WITH_DELETE']);

export class PrivacyService {
  private readonly repository: PrivacyRepository;
  private readonly running = new Set<Promise<void>>();
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;

  constructor(
    database: Database,
    graph: Graph,
    private readonly suppression: SuppressionList,
    private readonly settings: PrivacySettings = DEFAULT_PRIVACY_SETTINGS,
    private readonly hooks: PrivacyHooks = {},
  ) {
    this.repository = new PrivacyRepository(database, graph);
  }

  /**
   * Records a request. Suppression (and its lifting) is in effect before this returns; a deletion starts
   * at once in this process and is FINISHED when a pass finds nothing left (poll `regulation`).
   */
  async request(
    space: string,
    type: string,
    subject: { type: string; value: string },
  ): Promise<RequestResult> {
    if (!(REGULATION_TYPES as readonly string[]).includes(type))
      return refusal(`type must be one of ${REGULATION_TYPES.join(', ')}`, ['input', 'type']);
    const regulationType = type as RegulationType;
    const id = normaliseIdentifier(subject.type, subject.value);
    if (id === null)
      return refusal(
        'subject is not an identifier: a lowercase type ([a-z0-9_.-], at most 64 characters) and a non-blank value',
        ['input', 'subject'],
      );
    if (Buffer.byteLength(id.value, 'utf8') > 1024)
      return refusal('subject.value is over 1 KB: no identifier is that long', ['input', 'subject', 'value']);
    const key = identifierKey(id);
    const regulationId = `reg_${randomBytes(12).toString('hex')}`;
    await this.repository.create(regulationId, space, regulationType, key);
    if (DELETES.has(regulationType)) {
      if (SUPPRESSES.has(regulationType)) {
        // Suppressed first, so that nothing new of the person is applied while the deletion runs.
        const person = await this.person(space, [key]);
        const keys = [...new Set([key, ...person.keys])];
        await this.repository.suppress(space, keys, regulationId);
        this.suppression.add(space, keys);
      }
      this.track(this.run(regulationId));
    } else {
      await this.repository.claim(regulationId, new Date());
      await this.suppressOrLift(space, regulationId, regulationType, key);
    }
    const regulation = await this.regulation(space, regulationId);
    return { ok: true, regulation: regulation as Regulation };
  }

  regulation(space: string, id: string): Promise<Regulation | null> {
    return this.repository.list(space, { id, limit: 1 }).then((rows) => rows[0] ?? null);
  }

  /** A space's requests, newest first, `first` at most 100, after the cursor of a previous page. */
  async regulations(
    space: string,
    first: number,
    after: { createdMicros: string; id: string } | null,
  ): Promise<{ regulations: Regulation[]; hasNextPage: boolean }> {
    const limit = Math.max(0, Math.min(first, 100));
    const rows = await this.repository.list(space, {
      ...(after === null ? {} : { after }),
      limit: limit + 1,
    });
    return { regulations: rows.slice(0, limit), hasNextPage: rows.length > limit };
  }

  /** Starts the recovery pass: requests whose process went away are taken over. */
  start(): void {
    if (this.timer !== null) return;
    this.stopped = false;
    this.timer = setInterval(() => this.track(this.recover()), this.settings.recoveryMs);
    this.timer.unref();
  }

  /** Stops looking for work and waits for the deletions under way in this process. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    await Promise.allSettled([...this.running]);
  }

  /** Deletions under way in this process have ended (tests; the CLI waits for its request). */
  async idle(): Promise<void> {
    while (this.running.size > 0) await Promise.allSettled([...this.running]);
  }

  private track(work: Promise<void>): void {
    const tracked = work.finally(() => this.running.delete(tracked));
    this.running.add(tracked);
  }

  private async recover(): Promise<void> {
    try {
      const ids = await this.repository.unfinished(new Date(Date.now() - this.settings.leaseMs), 10);
      for (const id of ids) if (!this.stopped) await this.run(id);
    } catch (error) {
      this.hooks.onError?.(error, null);
    }
  }

  /** SUPPRESS_ONLY or UNSUPPRESS, claimed: done at once (again, after a crash: both are idempotent). */
  private async suppressOrLift(
    space: string,
    regulationId: string,
    type: RegulationType,
    key: string,
  ): Promise<void> {
    let identifiers: number;
    if (type === 'UNSUPPRESS') {
      identifiers = (await this.repository.unsuppress(space, key)).length;
      this.suppression.invalidate(space);
    } else {
      const person = await this.person(space, [key]);
      const keys = [...new Set([key, ...person.keys])];
      await this.repository.suppress(space, keys, regulationId);
      this.suppression.add(space, keys);
      identifiers = keys.length;
    }
    await this.repository.finish(regulationId, 'FINISHED', { profiles: 0, identifiers, events: 0 }, null);
  }

  /** Every key and profile id of the person known to either store, from `keys`. */
  private async person(space: string, keys: string[]): Promise<Person> {
    const [graph, stored] = await Promise.all([
      this.repository.graphPerson(space, keys),
      this.repository.storedPerson(space, keys),
    ]);
    return {
      profileIds: [...new Set([...graph.profileIds, ...stored.profileIds])],
      keys: [...new Set([...keys, ...graph.keys, ...stored.keys])],
    };
  }

  /** Runs a deletion request to its end, if this process can claim it. */
  private async run(id: string): Promise<void> {
    const claimed = await this.repository
      .claim(id, new Date(Date.now() - this.settings.leaseMs))
      .catch((error: unknown) => {
        this.hooks.onError?.(error, id);
        return null;
      });
    if (claimed === null) return;
    const { space, type, subjectKey } = claimed;
    if (!DELETES.has(type)) {
      // A suppression whose process went away before it finished (the recovery pass).
      await this.suppressOrLift(space, id, type, subjectKey).catch((error: unknown) =>
        this.hooks.onError?.(error, id),
      );
      return;
    }
    const counts = { profiles: 0, identifiers: 0, events: 0 };
    if (subjectKey.startsWith(ACCOUNT_PREFIX)) return this.runAccount(id, space, type, subjectKey, counts);
    const keys = new Set([subjectKey]);
    const profileIds = new Set<string>();
    try {
      for (let pass = 0; pass < this.settings.maxPasses; pass += 1) {
        if (pass > 0) await sleep(this.settings.settleMs);
        const person = await this.person(space, [...keys]);
        for (const key of person.keys) keys.add(key);
        for (const profileId of person.profileIds) profileIds.add(profileId);
        const all: Person = { keys: [...keys], profileIds: [...profileIds] };
        if (SUPPRESSES.has(type)) {
          const added = await this.repository.suppress(space, all.keys, id);
          this.suppression.add(space, added);
        }
        // The graph first: from then on no event resolves to these profiles; what was in flight lands in
        // the event store, where this or the next pass deletes it.
        const graph = await this.repository.deleteFromGraph(space, all);
        const stored = await this.repository.deleteFromStore(space, all);
        counts.profiles += graph.profiles;
        counts.identifiers += Math.max(graph.identifiers, stored.identifiers);
        counts.events += stored.events;
        await this.repository.progress(id, counts);
        // Keys only the deleted events carried are the person's: the next pass deletes them and the
        // profiles holding them (a racing event may have put them on a profile of their own).
        const fresh = stored.onlyKeys.filter((key) => !keys.has(key));
        for (const key of fresh) keys.add(key);
        const found =
          graph.profiles +
          graph.identifiers +
          stored.events +
          stored.identifiers +
          stored.values +
          fresh.length;
        if (found === 0 && pass > 0) break;
      }
      await this.repository.recordDeletion(space, id, { profileIds: [...profileIds], groupIds: [] });
      await this.repository.finish(id, 'FINISHED', counts, null);
    } catch (error) {
      await this.failed(id, counts, error);
    }
  }

  /**
   * An account's deletion by `group_id` (docs/adr/0027): the Account node and its edges, its group calls,
   * memberships and account-level computed values, in passes like a person's. Members stay. `profiles`
   * counts the accounts deleted.
   */
  private async runAccount(
    id: string,
    space: string,
    type: RegulationType,
    key: string,
    counts: { profiles: number; identifiers: number; events: number },
  ): Promise<void> {
    const groupId = key.slice(ACCOUNT_PREFIX.length);
    try {
      for (let pass = 0; pass < this.settings.maxPasses; pass += 1) {
        if (pass > 0) await sleep(this.settings.settleMs);
        if (SUPPRESSES.has(type)) {
          await this.repository.suppress(space, [key], id);
          this.suppression.add(space, [key]);
        }
        const accounts = await this.repository.deleteAccountFromGraph(space, groupId);
        const stored = await this.repository.deleteAccountFromStore(space, groupId);
        counts.profiles += accounts;
        counts.events += stored.events;
        await this.repository.progress(id, counts);
        if (accounts + stored.events + stored.members + stored.values === 0 && pass > 0) break;
      }
      await this.repository.recordDeletion(space, id, { profileIds: [], groupIds: [groupId] });
      await this.repository.finish(id, 'FINISHED', counts, null);
    } catch (error) {
      await this.failed(id, counts, error);
    }
  }

  private async failed(
    id: string,
    counts: { profiles: number; identifiers: number; events: number },
    error: unknown,
  ): Promise<void> {
    this.hooks.onError?.(error, id);
    const code = error instanceof ServiceUnavailableError ? 'SERVICE_UNAVAILABLE' : 'INTERNAL_SERVER_ERROR';
    await this.repository
      .finish(id, 'FAILED', counts, {
        code,
        message:
          code === 'SERVICE_UNAVAILABLE'
            ? 'a database was unreachable; request the deletion again (what was deleted stays deleted)'
            : 'the deletion failed; request it again (what was deleted stays deleted)',
      })
      .catch((finishError: unknown) => this.hooks.onError?.(finishError, id));
  }
}

function refusal(message: string, path: (string | number)[]): RequestResult {
  return { ok: false, error: { code: 'VALIDATION_FAILED', message, path } };
}
