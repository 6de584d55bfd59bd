// Webhook destinations (SEMANTICS.md §10 "Activation", docs/adr/0023-webhook-destinations.md): a space's
// destinations receive the entries and exits of chosen audiences and the changes of chosen computed
// traits as Segment-shaped identify and/or track calls, signed with the Standard Webhooks scheme. A
// durable outbox in PostgreSQL: each destination has a cursor over computed_value_changes in commit-safe
// order, and the worker writes a change's deliveries in the transaction that moves the cursor past it.
// Deliveries go out at least once, in order per profile (a profile's next waits for its previous one to
// succeed or be given up), retried with exponential back-off, given up (FAILED) after a set number of
// attempts, and replayable. A new destination (or a key added to one) first receives the current members
// and values, then only changes: one snapshot splits the two exactly.
import { randomUUID } from 'node:crypto';
import { emptyValue } from '../computed/index.ts';
import pMap from 'p-map';
import { InputError } from '../errors.ts';
import { parseComputedTrait } from '../language/index.ts';
import type { Database } from '../postgres/database.ts';
import { stringifyJson } from '../json.ts';
import { callOf, retryDelayMs, type DeliveryMode, type QueuedDelivery } from './calls.ts';
import {
  DestinationsRepository,
  type DeliveryStatus,
  type DeliveryView,
  type DestinationKey,
  type StoredDestination,
} from './destinations.repository.ts';
import { decryptSecret, encryptSecret, newSigningSecret } from './secrets.ts';
import { checkWebhookUrl } from './url-guard.ts';
import { sendWebhook, signedHeaders, type SendOutcome } from './webhook.ts';

export interface DestinationSettings {
  /** AES-256-GCM key for signing secrets at rest (DESTINATION_SECRET_KEY); null: destinations are off. */
  secretKey: Buffer | null;
  /** Whether webhook URLs may reach loopback, private and link-local addresses. */
  allowPrivateUrls: boolean;
  /** Attempts before a delivery is given up (FAILED). */
  maxAttempts: number;
  /** First retry delay; each further one doubles, up to retryMaxMs (ms). */
  retryBaseMs: number;
  retryMaxMs: number;
  /** How long one request may take (ms). */
  timeoutMs: number;
  /** How often the worker fills the outbox and sends what is due (ms). */
  tickMs: number;
  /** Requests in flight at once per process. */
  concurrency: number;
  /** Most destinations per space. */
  maxPerSpace: number;
}

export const DEFAULT_DESTINATION_SETTINGS: DestinationSettings = {
  secretKey: null,
  allowPrivateUrls: false,
  maxAttempts: 12,
  retryBaseMs: 1_000,
  retryMaxMs: 3_600_000,
  timeoutMs: 10_000,
  tickMs: 200,
  concurrency: 16,
  maxPerSpace: 50,
};

/** Most deliveries one page lists (as every page of the read API). */
export const MAX_DELIVERIES_PAGE = 100;
/** Changes turned into deliveries per transaction. */
const FILL_CHUNK = 500;
/**
 * Deliveries taken per round, in waves of `concurrency` requests at once: taking the heads of every
 * profile's queue costs one scan of the pending deliveries, shared by the round's waves.
 */
const WAVES = 4;
/**
 * How long a sender holds the deliveries it took before another process may take them (a crashed
 * sender's are sent again then): twice the request timeout per wave and a second, so a live sender always
 * records its outcome first.
 */
const leaseMs = (timeoutMs: number) => 2 * timeoutMs * WAVES + 1_000;
/** Rounds of taking and sending per pass: a profile's next call goes out in the next round. */
const SEND_ROUNDS = 200;

export type Destination = StoredDestination;

export type DestinationRefusalCode =
  | 'NOT_CONFIGURED'
  | 'INVALID_NAME'
  | 'INVALID_URL'
  | 'INVALID_MODES'
  | 'NOTHING_TO_SEND'
  | 'NOT_FOUND'
  | 'TOO_MANY_DESTINATIONS';

export interface DestinationRefusal {
  ok: false;
  code: DestinationRefusalCode;
  message: string;
  /** The offending field within the input (e.g. ["input", "audiences", 1]). */
  path: (string | number)[];
}

export type CreateDestinationResult =
  { ok: true; destination: Destination; signingSecret: string; queued: number } | DestinationRefusal;

export type UpdateDestinationResult = { ok: true; destination: Destination } | DestinationRefusal;

/** Counts of what the worker does, for /metrics. */
export interface DeliveryObserver {
  attempt(outcome: 'delivered' | 'retry' | 'failed'): void;
}

export class DestinationsService {
  private readonly repo = new DestinationsRepository();
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> | undefined;
  private stopped = false;
  /** Decrypted secrets by destination id and ciphertext (a secret never changes for an id). */
  private readonly secrets = new Map<string, string>();
  /** Destinations whose secret did not decrypt, reported once each. */
  private readonly undecryptable = new Set<string>();
  private readonly empties = new Map<string, unknown>();

  constructor(
    private readonly db: Database,
    private readonly settings: DestinationSettings = DEFAULT_DESTINATION_SETTINGS,
    private readonly onError: (error: unknown) => void = () => undefined,
    private readonly observer: DeliveryObserver | null = null,
    private readonly random: () => number = Math.random,
  ) {}

  /** Whether this process can create destinations and send (DESTINATION_SECRET_KEY is set). */
  get enabled(): boolean {
    return this.settings.secretKey !== null;
  }

  /**
   * Connects a webhook: checks the URL (SSRF), the modes and the keys (live user-level audiences and
   * computed traits of the space), generates its signing secret, and in one statement stores it (the
   * secret encrypted) and queues its initial sync. The secret is returned here only.
   */
  async createWebhook(
    space: string,
    input: {
      name: string;
      url: string;
      audiences: string[];
      computedTraits: string[];
      modes: DeliveryMode[];
    },
  ): Promise<CreateDestinationResult> {
    const key = this.settings.secretKey;
    if (key === null)
      return refuse(
        'NOT_CONFIGURED',
        'destinations need DESTINATION_SECRET_KEY (32 bytes, base64) in the server configuration',
        ['input'],
      );
    const checked = await this.check(space, input);
    if (!checked.ok) return checked;
    if ((await this.repo.list(this.db, space, null)).length >= this.settings.maxPerSpace)
      return refuse(
        'TOO_MANY_DESTINATIONS',
        `a space has at most ${this.settings.maxPerSpace} destinations (DESTINATIONS_PER_SPACE)`,
        ['input', 'name'],
      );
    const id = randomUUID();
    const signingSecret = newSigningSecret();
    const queued = await this.db.transaction((tx) =>
      this.repo.create(tx, space, {
        id,
        name: checked.name,
        url: checked.url,
        modes: checked.modes,
        secret: encryptSecret(key, id, signingSecret),
        keys: checked.keys,
      }),
    );
    const destination = await this.get(space, id);
    if (destination === null) throw new Error(`destination ${id} vanished after its creation`);
    return { ok: true, destination, signingSecret, queued };
  }

  /**
   * Changes a destination: name, URL, modes, and the audiences and computed traits it receives (each
   * omitted or null is kept). An added key gets its initial sync; a removed one stops at once (what was
   * queued for it is still sent). Changed modes apply to changes queued from now on.
   */
  async update(
    space: string,
    input: {
      id: string;
      name: string | null;
      url: string | null;
      audiences: string[] | null;
      computedTraits: string[] | null;
      modes: DeliveryMode[] | null;
    },
  ): Promise<UpdateDestinationResult> {
    const existing = await this.get(space, input.id);
    if (existing === null)
      return refuse('NOT_FOUND', `this space has no destination ${JSON.stringify(input.id)}`, [
        'input',
        'id',
      ]);
    const checked = await this.check(space, {
      name: input.name ?? existing.name,
      url: input.url ?? existing.url,
      audiences: input.audiences ?? existing.audiences,
      computedTraits: input.computedTraits ?? existing.computedTraits,
      modes: input.modes ?? existing.modes,
    });
    if (!checked.ok) return checked;
    const before = new Set([...existing.audiences, ...existing.computedTraits]);
    const after = new Set(checked.keys.map((k) => k.key));
    await this.db.transaction(async (tx) => {
      await this.repo.update(tx, space, input.id, {
        name: checked.name,
        url: checked.url,
        modes: checked.modes,
      });
      await this.repo.removeKeys(
        tx,
        input.id,
        [...before].filter((k) => !after.has(k)),
      );
      await this.repo.addKeys(
        tx,
        input.id,
        checked.keys.filter((k) => !before.has(k.key)),
      );
    });
    const destination = await this.get(space, input.id);
    if (destination === null)
      return refuse('NOT_FOUND', `this space has no destination ${JSON.stringify(input.id)}`, [
        'input',
        'id',
      ]);
    return { ok: true, destination };
  }

  /** Deletes a destination with its outbox; false when there is no such destination. */
  delete(space: string, id: string): Promise<boolean> {
    return this.repo.delete(this.db, space, id);
  }

  list(space: string): Promise<Destination[]> {
    return this.repo.list(this.db, space, null);
  }

  async get(space: string, id: string): Promise<Destination | null> {
    return (await this.repo.list(this.db, space, id))[0] ?? null;
  }

  counts(space: string, id: string): Promise<Record<DeliveryStatus, number>> {
    return this.repo.counts(this.db, space, id);
  }

  /** A page of a destination's deliveries, newest first, of one status or all; `before`: a delivery id. */
  async deliveries(
    space: string,
    id: string,
    page: { status: DeliveryStatus | null; first: number; before: string | null },
  ): Promise<{ deliveries: DeliveryView[]; hasNextPage: boolean }> {
    if (!Number.isInteger(page.first) || page.first < 0 || page.first > MAX_DELIVERIES_PAGE)
      throw new InputError(`first must be between 0 and ${MAX_DELIVERIES_PAGE}, got ${page.first}`, [
        'first',
      ]);
    if (page.before !== null && !/^[0-9]{1,19}$/.test(page.before))
      throw new InputError('after is not a cursor of this list', ['after']);
    const rows = await this.repo.deliveries(this.db, space, id, page.status, page.before, page.first + 1);
    return { deliveries: rows.slice(0, page.first), hasNextPage: rows.length > page.first };
  }

  /** Sends a given-up delivery again (PENDING, due now, attempts afresh); false when none such is FAILED. */
  async replayDelivery(space: string, deliveryId: string): Promise<boolean> {
    if (!/^[0-9]{1,19}$/.test(deliveryId)) return false;
    return (await this.repo.replay(this.db, space, null, deliveryId)) > 0;
  }

  /** Sends every given-up delivery of a destination again; null when there is no such destination. */
  async replayFailed(space: string, destinationId: string): Promise<number | null> {
    if ((await this.get(space, destinationId)) === null) return null;
    return this.repo.replay(this.db, space, destinationId, null);
  }

  /** Deliveries waiting in every space and the age of the oldest (the outbox's lag). */
  outboxStats(): Promise<{ pending: number; oldestSeconds: number }> {
    return this.repo.outboxStats(this.db);
  }

  /** Starts the worker (when DESTINATION_SECRET_KEY is set): every tickMs, fill the outbox and send. */
  start(): void {
    if (!this.enabled) return;
    this.stopped = false;
    const tick = () => {
      this.timer = undefined;
      this.running = this.drain()
        .catch((error: unknown) => this.onError(error))
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
  }

  /**
   * One pass: every destination's new changes become deliveries (a transaction per chunk, with the
   * cursor), then rounds of taking the due deliveries at the head of each profile's queue and sending
   * them, until none is due.
   */
  async drain(): Promise<{ queued: number; sent: number }> {
    const key = this.settings.secretKey;
    if (key === null) return { queued: 0, sent: 0 };
    const targets = new Map<string, { url: string; secret: string }>();
    let queued = 0;
    for (const d of await this.repo.sending(this.db)) {
      const secret = this.secretOf(key, d.id, d.secret);
      if (secret === null) continue;
      targets.set(d.id, { url: d.url, secret });
      for (;;) {
        const n = await this.db.transaction((tx) => this.repo.fill(tx, d.id, FILL_CHUNK));
        queued += n.queued;
        if (n.read < FILL_CHUNK) break;
      }
    }
    let sent = 0;
    if (targets.size === 0) return { queued, sent };
    const lease = leaseMs(this.settings.timeoutMs);
    for (let round = 0; round < SEND_ROUNDS && !this.stopped; round++) {
      // Taken (leased, attempt counted) in a transaction of its own, committed before any request.
      const batch = await this.db.transaction((tx) =>
        this.repo.take(tx, this.settings.concurrency * WAVES, lease, [...targets.keys()]),
      );
      if (batch.length === 0) break;
      await this.sendAll(batch, targets);
      sent += batch.length;
    }
    return { queued, sent };
  }

  private secretOf(key: Buffer, id: string, stored: string): string | null {
    const cacheKey = `${id}\u0000${stored}`;
    const known = this.secrets.get(cacheKey);
    if (known !== undefined) return known;
    try {
      const secret = decryptSecret(key, id, stored);
      this.secrets.set(cacheKey, secret);
      return secret;
    } catch (error) {
      // Another key (a misconfigured process, or a rotated key): this process does not send for it.
      if (!this.undecryptable.has(id)) {
        this.undecryptable.add(id);
        this.onError(
          new Error(
            `the signing secret of destination ${id} does not decrypt with DESTINATION_SECRET_KEY: ${(error as Error).message}`,
          ),
        );
      }
      return null;
    }
  }

  private async sendAll(
    batch: QueuedDelivery[],
    targets: Map<string, { url: string; secret: string }>,
  ): Promise<void> {
    const bySpace = new Map<string, QueuedDelivery[]>();
    for (const d of batch) bySpace.set(d.space, [...(bySpace.get(d.space) ?? []), d]);
    const identities = new Map<
      string,
      { profileId: string; userId: string | null; anonymousId: string | null }
    >();
    for (const [space, list] of bySpace) {
      // A group call's subject is a group id, named as it is.
      const profiles = list.filter((d) => d.mode !== 'group').map((d) => d.subjectId);
      const found = await this.repo.identities(this.db, space, [...new Set(profiles)]);
      for (const [subject, who] of found) identities.set(`${space}\u0000${subject}`, who);
      await this.loadEmpties(
        space,
        list.filter((d) => d.computation === 'computed_trait').map((d) => d.traitKey),
      );
    }
    // At most `concurrency` requests at once; each profile has at most one delivery in a batch (take
    // gives the head of each queue), so its order holds.
    await pMap(
      batch,
      async (d) => {
        const target = targets.get(d.destinationId);
        const who = identities.get(`${d.space}\u0000${d.subjectId}`) ?? {
          profileId: d.subjectId,
          userId: null,
          anonymousId: null,
        };
        const call = callOf(d, who, this.empties.get(`${d.space}\u0000${d.traitKey}`) ?? null);
        const body = stringifyJson(call);
        const outcome: SendOutcome =
          target === undefined
            ? { ok: false, status: null, error: 'the destination is gone' }
            : await sendWebhook(
                target.url,
                signedHeaders(target.secret, d.messageId, body, new Date()),
                body,
                {
                  timeoutMs: this.settings.timeoutMs,
                  allowPrivate: this.settings.allowPrivateUrls,
                },
              );
        await this.record(d, outcome, call);
      },
      { concurrency: this.settings.concurrency },
    );
  }

  private async record(d: QueuedDelivery, outcome: SendOutcome, payload: unknown): Promise<void> {
    let status: DeliveryStatus = 'DELIVERED';
    let next: Date | null = null;
    if (!outcome.ok) {
      if (d.attempts >= this.settings.maxAttempts) status = 'FAILED';
      else {
        status = 'PENDING';
        const delay = retryDelayMs(
          d.attempts,
          this.settings.retryBaseMs,
          this.settings.retryMaxMs,
          this.random,
        );
        next = new Date(Date.now() + delay);
      }
    }
    this.observer?.attempt(status === 'DELIVERED' ? 'delivered' : status === 'FAILED' ? 'failed' : 'retry');
    await this.db.transaction((tx) =>
      this.repo.finish(tx, d, {
        status,
        nextAttemptAt: next,
        httpStatus: outcome.status,
        error: outcome.error,
        payload,
      }),
    );
  }

  /** The empty values (0, [], null) of some computed traits, which a change to "empty" delivers. */
  private async loadEmpties(space: string, keys: string[]): Promise<void> {
    const missing = [...new Set(keys)].filter((k) => !this.empties.has(`${space}\u0000${k}`));
    if (missing.length === 0) return;
    for (const [key, text] of await this.repo.traitDefinitions(this.db, space, missing)) {
      const parsed = parseComputedTrait(text);
      if (parsed.ok) this.empties.set(`${space}\u0000${key}`, emptyValue(parsed.definition.reducer));
    }
  }

  /** Checks a destination's settings: a name, a safe URL, modes for its keys' levels, and live keys of each kind. */
  private async check(
    space: string,
    input: {
      name: string;
      url: string;
      audiences: string[];
      computedTraits: string[];
      modes: DeliveryMode[];
    },
  ): Promise<
    | { ok: true; name: string; url: string; modes: DeliveryMode[]; keys: DestinationKey[] }
    | DestinationRefusal
  > {
    const name = input.name.trim();
    if (name === '' || name.length > 200)
      return refuse('INVALID_NAME', 'a destination needs a name of 1 to 200 characters', ['input', 'name']);
    if (input.url.length > 2048)
      return refuse('INVALID_URL', 'the URL is longer than 2048 characters', ['input', 'url']);
    const url = await checkWebhookUrl(input.url, this.settings.allowPrivateUrls);
    if (!url.ok) return refuse('INVALID_URL', url.message, ['input', 'url']);
    const modes = [...new Set(input.modes)].sort();
    if (modes.length === 0)
      return refuse('INVALID_MODES', 'choose at least one of identify, track and group', ['input', 'modes']);
    if (input.audiences.length + input.computedTraits.length === 0)
      return refuse('NOTHING_TO_SEND', 'name at least one audience or computed trait to send', [
        'input',
        'audiences',
      ]);
    const found = await this.repo.computations(this.db, space, [...input.audiences, ...input.computedTraits]);
    const keys: DestinationKey[] = [];
    const lists = [
      ['audiences', 'audience', input.audiences],
      ['computedTraits', 'computed_trait', input.computedTraits],
    ] as const;
    for (const [field, kind, list] of lists)
      for (const [i, key] of list.entries()) {
        const c = found.get(key);
        const what = kind === 'audience' ? 'audience' : 'computed trait';
        if (c === undefined || c.kind !== kind)
          return refuse('NOT_FOUND', `this space has no ${what} ${JSON.stringify(key)}`, ['input', field, i]);
        if (!keys.some((k) => k.key === key)) keys.push({ key, computation: kind, level: c.level });
      }
    // User-level keys go out as identify and/or track calls, account-level ones as group calls.
    if (keys.some((k) => k.level === 'USERS') && !modes.some((m) => m !== 'group'))
      return refuse(
        'INVALID_MODES',
        'user-level keys are sent as identify or track calls: add IDENTIFY or TRACK',
        ['input', 'modes'],
      );
    if (keys.some((k) => k.level === 'ACCOUNTS') && !modes.includes('group'))
      return refuse('INVALID_MODES', 'account-level keys are sent as group calls: add GROUP', [
        'input',
        'modes',
      ]);
    return { ok: true, name, url: url.url.toString(), modes, keys };
  }
}

function refuse(
  code: DestinationRefusalCode,
  message: string,
  path: (string | number)[],
): DestinationRefusal {
  return { ok: false, code, message, path };
}
