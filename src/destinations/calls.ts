// What a destination receives (docs/adr/0023-webhook-destinations.md): Segment-shaped calls, as Segment's
// Engage sends audiences and computed traits to its event destinations. Pure: a delivery and the
// profile's identity in, the JSON body out.

/**
 * How a destination is sent changes: identify calls, track calls, or both (one delivery each) for
 * user-level keys; group calls for account-level keys.
 */
export type DeliveryMode = 'identify' | 'track' | 'group';
export type ComputationClass = 'audience' | 'computed_trait';

/** A queued delivery as the sender reads it. */
export interface QueuedDelivery {
  id: string;
  destinationId: string;
  space: string;
  subjectId: string;
  computation: ComputationClass;
  traitKey: string;
  mode: DeliveryMode;
  /** The value now (null: the trait's empty value; for an audience, true for an entry). */
  newValue: unknown;
  messageId: string;
  /** When the change was recorded (or, for the initial sync, when the destination was connected). */
  at: Date;
  /** Attempts so far, this one included. */
  attempts: number;
}

/** Who the call is about: the profile's user_id and anonymous_id, when it has them. */
export interface SubjectIdentity {
  profileId: string;
  userId: string | null;
  anonymousId: string | null;
}

/**
 * The call for one delivery. An audience: identify with `traits: {<key>: true|false}`, or track
 * `Audience Entered` / `Audience Exited` with `properties: {audience_key, <key>: true|false}`. A computed
 * trait: identify with `traits: {<key>: <value>}`, or track `Trait Computed` with
 * `properties: {trait_key, <key>: <value>}`. An account-level key: group with `groupId` and
 * `traits: {<key>: <value>}`. Each carries `context.personas` naming the computation. A profile with
 * neither a user_id nor an anonymous_id is named by its profile id as anonymousId.
 */
export function callOf(
  d: QueuedDelivery,
  who: SubjectIdentity,
  emptyValue: unknown = null,
): Record<string, unknown> {
  const audience = d.computation === 'audience';
  const value = audience ? d.newValue === true : (d.newValue ?? emptyValue);
  const ids: Record<string, string> = {};
  if (who.userId !== null) ids.userId = who.userId;
  if (who.anonymousId !== null) ids.anonymousId = who.anonymousId;
  if (who.userId === null && who.anonymousId === null) ids.anonymousId = who.profileId;
  const group = d.mode === 'group';
  const context = {
    personas: {
      computation_class: audience ? 'audience' : 'trait',
      computation_key: d.traitKey,
      computation_id: d.traitKey,
      space_id: d.space,
      namespace: `spa_${d.space}`,
      // An account-level key's subject is its group id.
      ...(group ? { group_id: d.subjectId } : { profile_id: who.profileId }),
    },
    library: { name: 'stitchgraph', version: '0.1.0' },
  };
  if (group)
    // The call names the account only, not one of its users.
    return {
      type: 'group',
      messageId: d.messageId,
      timestamp: d.at.toISOString(),
      groupId: d.subjectId,
      traits: { [d.traitKey]: value },
      context,
    };
  const common = { messageId: d.messageId, timestamp: d.at.toISOString(), ...ids, context };
  if (d.mode === 'identify') return { type: 'identify', ...common, traits: { [d.traitKey]: value } };
  if (audience)
    return {
      type: 'track',
      event: value === true ? 'Audience Entered' : 'Audience Exited',
      ...common,
      properties: { audience_key: d.traitKey, [d.traitKey]: value },
    };
  return {
    type: 'track',
    event: 'Trait Computed',
    ...common,
    properties: { trait_key: d.traitKey, [d.traitKey]: value },
  };
}

/**
 * When to try a failed delivery again: `base · 2^(attempts − 1)`, at most `max`, times a random factor in
 * [0.5, 1) ("equal jitter", so that deliveries failing together do not retry in lockstep).
 */
export function retryDelayMs(attempts: number, base: number, max: number, random: () => number): number {
  const exponential = Math.min(max, base * 2 ** Math.max(0, attempts - 1));
  return Math.round(exponential * (0.5 + random() / 2));
}
