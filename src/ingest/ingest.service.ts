// Ingestion: Segment-spec validation (event.ts), then the identity service. Every outcome is data with a
// code (STYLE.md §9); a refused event is written nowhere (SEMANTICS.md §1, §7).
import { randomUUID } from 'node:crypto';
import type { AppError } from '../errors.ts';
import type { IdentityService, Violation } from '../identity/index.ts';
import { validateBatch, validateEvent, type EventType, type Validated } from './event.ts';

export interface EventOutcome {
  ok: boolean;
  messageId: string | null;
  duplicate: boolean;
  profileId: string | null;
  error: AppError | null;
  violations: Violation[];
}

export interface BatchOutcome {
  results: EventOutcome[];
  applied: number;
  duplicates: number;
  refused: number;
  error: AppError | null;
}

export interface IngestServiceOptions {
  clock?: () => Date;
  newMessageId?: () => string;
}

export class IngestService {
  private readonly clock: () => Date;
  private readonly newMessageId: () => string;

  constructor(
    private readonly identity: IdentityService,
    options: IngestServiceOptions = {},
  ) {
    this.clock = options.clock ?? (() => new Date());
    this.newMessageId = options.newMessageId ?? (() => `sg-${randomUUID()}`);
  }

  /** One call of the given type; `input` is the call's JSON as a client sent it. */
  send(space: string, type: EventType, input: unknown): Promise<EventOutcome> {
    return this.applyValidated(space, validateEvent(type, input, this.clock(), this.newMessageId));
  }

  /** A batch: the batch as a whole may be refused; otherwise every item is reported, in order. */
  async batch(space: string, input: unknown): Promise<BatchOutcome> {
    const validated = validateBatch(input, this.clock(), this.newMessageId);
    if (!validated.ok) {
      return { results: [], applied: 0, duplicates: 0, refused: 0, error: validated.error };
    }
    const results: EventOutcome[] = [];
    // In order, so that a batch from one device resolves as the device sent it.
    for (const [i, item] of validated.items.entries()) {
      results.push(await this.applyValidated(space, item, ['batch', i]));
    }
    return {
      results,
      applied: results.filter((r) => r.ok && !r.duplicate).length,
      duplicates: results.filter((r) => r.duplicate).length,
      refused: results.filter((r) => !r.ok).length,
      error: null,
    };
  }

  private async applyValidated(
    space: string,
    validated: Validated,
    path: AppError['path'] = [],
  ): Promise<EventOutcome> {
    if (!validated.ok) {
      return {
        ok: false,
        messageId: null,
        duplicate: false,
        profileId: null,
        error: validated.error,
        violations: [],
      };
    }
    const { event } = validated;
    const result = await this.identity.apply(space, event);
    switch (result.status) {
      case 'applied':
        return {
          ok: true,
          messageId: event.messageId,
          duplicate: false,
          profileId: result.profileId,
          error: null,
          violations: result.violations,
        };
      case 'duplicate':
        return {
          ok: true,
          messageId: event.messageId,
          duplicate: true,
          profileId: null,
          error: null,
          violations: [],
        };
      case 'refused':
        return {
          ok: false,
          messageId: event.messageId,
          duplicate: false,
          profileId: null,
          error: { code: result.code, message: result.message, path },
          violations: result.violations,
        };
    }
  }
}
