// The identity domain's Cypher calls and the mapping of their rows to domain types (STYLE.md §6).
// Every method takes the caller's transaction: the service owns transaction scope.
import type { Tx, Row } from '../graph/index.ts';
import type { ValidEvent } from '../ingest/event.ts';
import type { ProfileSnapshot } from './decide.ts';
import { identifierKey, type Identifier } from './identifiers.ts';
import type { BlockedValue, IdentifierRule, Window } from './rules.ts';
import { parseTraitState, type TraitState } from './traits.ts';

export interface SpaceRules {
  exists: boolean;
  rules: IdentifierRule[];
}

export interface LockedProfile extends ProfileSnapshot {
  traits: TraitState;
}

export interface AttachEvent {
  space: string;
  profileId: string;
  messageId: string;
  add: string[];
  kept: string[];
  anchor: string;
  at: Date;
  receivedAt: Date;
  now: Date;
  traits: TraitState | null;
  /** `trait.<key>` property changes (traitProperties); empty when traits are unchanged. */
  traitProps: Record<string, unknown>;
  violations: unknown[];
}

export const IDENTITY_QUERIES = [
  'spaces/ensure-space',
  'spaces/read-rules',
  'spaces/lock-space',
  'spaces/add-rules',
  'spaces/replace-rules',
  'identity/create-event',
  'identity/find-event',
  'identity/lock-identifiers',
  'identity/lock-profiles',
  'identity/create-profile',
  'identity/merge-profiles',
  'identity/attach-event',
  'identity/delete-orphan-identifiers',
  'identity/lock-account',
  'identity/link-account',
] as const;

export class IdentityRepository {
  async ensureSpace(tx: Tx, space: string, rules: IdentifierRule[]): Promise<boolean> {
    const rows = await tx.run('spaces/ensure-space', { space, rules: rules.map(ruleToParams) });
    return rows[0]?.created === true;
  }

  async readRules(tx: Tx, space: string): Promise<SpaceRules> {
    const rows = await tx.run('spaces/read-rules', { space });
    return {
      exists: rows.length > 0,
      rules: rows.map(rowToRule),
    };
  }

  async lockSpace(tx: Tx, space: string): Promise<void> {
    await tx.run('spaces/lock-space', { space });
  }

  async addRules(tx: Tx, space: string, rules: IdentifierRule[]): Promise<void> {
    await tx.run('spaces/add-rules', { space, rules: rules.map(ruleToParams) });
  }

  async replaceRules(tx: Tx, space: string, rules: IdentifierRule[]): Promise<void> {
    await tx.run('spaces/replace-rules', { space, rules: rules.map(ruleToParams) });
  }

  /** False when the space already holds an event with this messageId. */
  async createEvent(tx: Tx, space: string, event: ValidEvent): Promise<boolean> {
    const rows = await tx.run('identity/create-event', {
      space,
      event: {
        messageId: event.messageId,
        type: event.type,
        event: event.event ?? null,
        name: event.name ?? null,
        category: event.category ?? null,
        userId: event.userId ?? null,
        anonymousId: event.anonymousId ?? null,
        previousId: event.previousId ?? null,
        groupId: event.groupId ?? null,
        properties: jsonOrNull(event.properties),
        traits: jsonOrNull(event.traits),
        context: JSON.stringify(event.context),
        integrations: JSON.stringify(event.integrations),
        timestamp: event.timestamp.toISOString(),
        receivedAt: event.receivedAt.toISOString(),
        sentAt: event.sentAt?.toISOString() ?? null,
        originalTimestamp: event.originalTimestamp?.toISOString() ?? null,
      },
    });
    return rows[0]?.created === true;
  }

  async eventExists(tx: Tx, space: string, messageId: string): Promise<boolean> {
    return (await tx.run('identity/find-event', { space, messageId })).length > 0;
  }

  /** Locks (creating where missing) the identifiers; returns each key's current live profile. */
  async lockIdentifiers(
    tx: Tx,
    space: string,
    identifiers: Identifier[],
    at: Date,
  ): Promise<Map<string, string | null>> {
    const params = identifiers
      .map((id) => ({ key: identifierKey(id), type: id.type, value: id.value }))
      .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    const rows = await tx.run('identity/lock-identifiers', {
      space,
      identifiers: params,
      at: at.toISOString(),
    });
    return new Map(rows.map((r) => [String(r.key), typeof r.profileId === 'string' ? r.profileId : null]));
  }

  async lockProfiles(tx: Tx, ids: string[]): Promise<LockedProfile[]> {
    const rows = await tx.run('identity/lock-profiles', { ids: [...ids].sort() });
    return rows.map(rowToLockedProfile);
  }

  async createProfile(tx: Tx, space: string, id: string, now: Date): Promise<void> {
    await tx.run('identity/create-profile', { space, id, now: now.toISOString() });
  }

  async mergeProfiles(
    tx: Tx,
    survivorId: string,
    mergedIds: string[],
    messageId: string,
    now: Date,
    reason: string,
  ): Promise<void> {
    await tx.run('identity/merge-profiles', {
      survivorId,
      mergedIds,
      messageId,
      now: now.toISOString(),
      reason,
    });
  }

  async attachEvent(tx: Tx, a: AttachEvent): Promise<void> {
    await tx.run('identity/attach-event', {
      space: a.space,
      profileId: a.profileId,
      messageId: a.messageId,
      add: a.add,
      kept: a.kept,
      anchor: a.anchor,
      at: a.at.toISOString(),
      receivedAt: a.receivedAt.toISOString(),
      now: a.now.toISOString(),
      traitProps: a.traitProps,
      traits: a.traits === null ? null : JSON.stringify(a.traits.values),
      traitsMeta: a.traits === null ? null : JSON.stringify(a.traits.meta),
      violations: JSON.stringify(a.violations),
    });
  }

  async deleteOrphanIdentifiers(tx: Tx, space: string, keys: string[]): Promise<void> {
    if (keys.length > 0) await tx.run('identity/delete-orphan-identifiers', { space, keys });
  }

  async lockAccount(tx: Tx, space: string, groupId: string, now: Date): Promise<TraitState> {
    const rows = await tx.run('identity/lock-account', { space, groupId, now: now.toISOString() });
    return parseTraitState(rows[0]?.traits, rows[0]?.traitsMeta);
  }

  async linkAccount(
    tx: Tx,
    space: string,
    groupId: string,
    profileId: string,
    traits: TraitState,
    at: Date,
  ): Promise<void> {
    await tx.run('identity/link-account', {
      space,
      groupId,
      profileId,
      traits: JSON.stringify(traits.values),
      traitsMeta: JSON.stringify(traits.meta),
      at: at.toISOString(),
    });
  }
}

function jsonOrNull(value: Record<string, unknown> | undefined): string | null {
  return value === undefined ? null : JSON.stringify(value);
}

function ruleToParams(rule: IdentifierRule): Record<string, unknown> {
  return {
    type: rule.type,
    priority: rule.priority,
    limit: rule.limit,
    window: rule.window,
    blockedValues: JSON.stringify(rule.blockedValues),
  };
}

function rowToRule(row: Row): IdentifierRule {
  const blocked: unknown = typeof row.blockedValues === 'string' ? JSON.parse(row.blockedValues) : [];
  return {
    type: String(row.type),
    priority: Number(row.priority),
    limit: Number(row.limit),
    window: String(row.window) as Window,
    blockedValues: Array.isArray(blocked) ? (blocked as BlockedValue[]) : [],
  };
}

function rowToLockedProfile(row: Row): LockedProfile {
  const identifiers = Array.isArray(row.identifiers) ? (row.identifiers as Row[]) : [];
  return {
    id: String(row.id),
    createdAt: new Date(Number(row.createdAt)),
    mergeCount: Number(row.mergeCount ?? 0),
    identifiers: identifiers.map((i) => ({
      type: String(i.type),
      value: String(i.value),
      addedAt: new Date(Number(i.addedAt)),
    })),
    traits: parseTraitState(row.traits, row.traitsMeta),
  };
}
