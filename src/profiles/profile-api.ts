// Segment's Profile API (issue #5): GET /v1/spaces/{space}/collections/{users|accounts}/profiles/
// {type}:{value}/{traits|events|external_ids|metadata|links}, in Segment's response shapes with our error
// codes. A thin layer: it authenticates, reads the path and the query, calls ProfilesService and shapes
// the JSON. Where Segment's documentation is silent, docs/adr/0008-profile-api.md says what we chose.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { InputError, ServiceUnavailableError, type ErrorCode } from '../errors.ts';
import { presentedSecret, sendJson, type HttpRoute } from '../http.ts';
import { normaliseIdentifier, type Identifier } from '../identity/index.ts';
import type { ProfileComputedValue } from '../computed/index.ts';
import type { Logger } from '../log.ts';
import type { Services } from '../services.ts';
import type { ProfileLoaders } from './loaders.ts';
import type { AccountView, EventView, ProfileIdentifierView } from './profiles.repository.ts';
import type { Connection, EventArgs, EventBounds, TraitEntry } from './profiles.service.ts';

const PREFIX = '/v1/spaces/';
const RESOURCES = ['traits', 'events', 'external_ids', 'metadata', 'links'] as const;
type Resource = (typeof RESOURCES)[number];
type Collection = 'users' | 'accounts';

/** Page sizes per resource: Segment's defaults where it documents them; at most 100 (traits 200). */
export const PROFILE_API_LIMITS: Record<Exclude<Resource, 'metadata'>, { default: number; max: number }> = {
  traits: { default: 10, max: 200 },
  events: { default: 10, max: 100 },
  external_ids: { default: 25, max: 100 },
  links: { default: 20, max: 100 },
};

/**
 * Segment's trait classes. We have custom traits (identify and group calls), computed traits, audiences
 * and SQL traits (the custom traits a SQL trait wrote, under its keys; docs/adr/0025-sql-traits.md).
 */
const TRAIT_CLASSES = new Set([
  'custom_trait',
  'computed_trait',
  'audience',
  'sql_trait',
  'predictive_trait',
]);

/** No source ids are recorded (write keys are per space), so every `source_id` is null. */
const NO_SOURCE = null;

interface Request {
  space: string;
  collection: Collection;
  lookup: Identifier;
  resource: Resource;
  url: URL;
  loaders: ProfileLoaders;
}

interface Refusal {
  status: number;
  code: ErrorCode | 'BAD_REQUEST';
  message: string;
  field?: string;
  headers?: Record<string, string>;
}

export function profileApi(services: Services, logger: Logger): HttpRoute {
  const { profiles, spaces, computed, sqlTraits } = services;

  async function serve(req: IncomingMessage, res: ServerResponse, url: URL): Promise<Refusal | null> {
    const principal = await spaces.authenticate(presentedSecret(req));
    if (principal === null || principal.kind !== 'token') {
      return {
        status: 401,
        code: 'UNAUTHENTICATED',
        message:
          principal === null
            ? 'An access token is required: send it as the HTTP Basic user name (or as a Bearer token).'
            : 'Write keys only send events; the Profile API needs an access token.',
        // Not a Basic challenge: a browser would prompt, then keep and send the token by itself (ADR 0017).
        // Clients that send Basic credentials of their own, as Segment's do, are still served.
        headers: { 'www-authenticate': 'Bearer realm="stitchgraph profile api"' },
      };
    }
    const segments = url.pathname.slice(PREFIX.length).split('/');
    const [space, collections, collection, profilesSegment, id, resource, ...rest] = segments.map(decode);
    if (!principal.scopes.includes('read') || space !== principal.space) {
      return {
        status: 403,
        code: 'FORBIDDEN',
        message: principal.scopes.includes('read')
          ? 'This access token belongs to another space.'
          : 'This access token lacks the read scope.',
      };
    }
    if (req.method !== 'GET') {
      return {
        status: 405,
        code: 'BAD_REQUEST',
        message: `The Profile API only answers GET, not ${req.method ?? ''}.`,
        headers: { allow: 'GET' },
      };
    }
    if (
      collections !== 'collections' ||
      profilesSegment !== 'profiles' ||
      collection === undefined ||
      id === undefined ||
      !RESOURCES.includes(resource as Resource) ||
      rest.length > 0
    ) {
      return { status: 404, code: 'NOT_FOUND', message: `No route for ${url.pathname}` };
    }
    if (collection !== 'users' && collection !== 'accounts') {
      throw new InputError(`collection must be users or accounts, got "${collection}"`, ['collection']);
    }
    const request: Request = {
      space,
      collection,
      lookup: externalId(collection, id),
      resource: resource as Resource,
      url,
      loaders: profiles.loaders(space, (ids, level) => computed.values(space, ids, level)),
    };
    const body = collection === 'users' ? await users(request) : await accounts(request);
    if (body === null) return { status: 404, code: 'NOT_FOUND', message: 'Profile was not found.' };
    sendJson(res, 200, body);
    return null;
  }

  async function users(r: Request): Promise<unknown> {
    const params = readParams(r);
    const profile = await profiles.profileBy(r.space, r.lookup.type, r.lookup.value);
    if (profile === null) return null;
    switch (r.resource) {
      case 'traits': {
        // Custom and computed traits and audiences (`{<key>: true}`): each class alone, or all without
        // `class` (docs/adr/0021, docs/adr/0022).
        const custom = await customOrSql(params, r.space, 'USERS', profiles.traitEntries(profile));
        const values = wants(params, 'computed_trait') ? await r.loaders.computedValues.load(profile.id) : [];
        const audiences = wants(params, 'audience') ? await memberships(r.space, profile.id, 'USERS') : [];
        return traitsBody(
          r,
          params,
          profiles.traitEntryPage(withComputed(custom, [...values, ...audiences]), traitArgs(params)),
        );
      }
      case 'events': {
        const page = await profiles.events(r.loaders, profile.id, eventArgs(params));
        return eventsBody(r, params, page, { users: profile.id });
      }
      case 'external_ids': {
        const page = await profiles.identifierPage(r.loaders, profile.id, pageArgs(params, 'types'));
        return listBody(r, params, page, externalIdJson);
      }
      case 'metadata':
        return metadataBody(params, profile, await profiles.eventBounds(r.loaders, profile.id));
      case 'links': {
        const page = await profiles.accountPage(r.loaders, profile.id, pageArgs(params));
        return listBody(r, params, page, (account) => ({
          to_collection: 'accounts',
          external_ids: [accountIdJson(account)],
        }));
      }
    }
  }

  /**
   * The custom traits a request wants: all without `class`; with `class=sql_trait` those under the keys of
   * the space's SQL traits of the level, with `class=custom_trait` the others.
   */
  async function customOrSql(
    params: Params,
    space: string,
    level: 'USERS' | 'ACCOUNTS',
    entries: TraitEntry[],
  ): Promise<TraitEntry[]> {
    if (params.traitClass === null) return entries;
    if (params.traitClass !== 'custom_trait' && params.traitClass !== 'sql_trait') return [];
    const keys = new Set(await sqlTraits.keys(space, level));
    const sql = params.traitClass === 'sql_trait';
    return entries.filter((t) => keys.has(t.key) === sql);
  }

  /** The audiences a subject is in, as trait entries `{<key>: true}` updated when it entered. */
  async function memberships(space: string, id: string, level: 'USERS' | 'ACCOUNTS') {
    const found = (await computed.memberships(space, [id], level)).get(id) ?? [];
    return found.map((m) => ({ key: m.key, value: true, updatedAt: m.since }));
  }

  async function accounts(r: Request): Promise<unknown> {
    const params = readParams(r);
    const account = await profiles.accountState(r.space, r.lookup.value);
    if (account === null) return null;
    switch (r.resource) {
      case 'traits': {
        // Custom and account-level computed traits and audiences, as for users (docs/adr/0021, 0022).
        const custom = await customOrSql(params, r.space, 'ACCOUNTS', profiles.traitEntries(account));
        const values = wants(params, 'computed_trait')
          ? await r.loaders.accountComputedValues.load(account.groupId)
          : [];
        const audiences = wants(params, 'audience')
          ? await memberships(r.space, account.groupId, 'ACCOUNTS')
          : [];
        return traitsBody(
          r,
          params,
          profiles.traitEntryPage(withComputed(custom, [...values, ...audiences]), traitArgs(params)),
        );
      }
      case 'events': {
        const page = await profiles.accountEvents(r.space, account.groupId, eventArgs(params));
        return eventsBody(r, params, page, null);
      }
      case 'external_ids': {
        const page = profiles.accountIdentifierPage(account, pageArgs(params, 'types'));
        const bounds = await profiles.accountEventBounds(r.space, account.groupId);
        return listBody(r, params, page, () => ({
          ...accountIdJson(account),
          first_message_id: bounds.first?.messageId ?? null,
        }));
      }
      case 'metadata':
        return metadataBody(params, account, await profiles.accountEventBounds(r.space, account.groupId));
      case 'links': {
        const page = await profiles.linkedUsers(r.loaders, account.groupId, pageArgs(params));
        return listBody(r, params, page, (member) => ({
          to_collection: 'users',
          external_ids: member.identifiers.map((i) => {
            const { first_message_id: _first, ...rest } = externalIdJson(i);
            return rest;
          }),
        }));
      }
    }
  }

  async function eventsBody(
    r: Request,
    params: Params,
    page: Connection<EventView>,
    related: Record<string, string> | null,
  ): Promise<unknown> {
    const carried = await profiles.eventIdentifiers(
      r.space,
      page.nodes.map((e) => e.messageId),
    );
    return listBody(r, params, page, (e) => eventJson(e, carried.get(e.messageId) ?? [], related));
  }

  return {
    matches: (url) => url.pathname.startsWith(PREFIX),
    pattern: (url) => {
      const [, collections, collection, profilesSegment, , resource, ...rest] = url.pathname
        .slice(PREFIX.length)
        .split('/');
      const known =
        collections === 'collections' &&
        (collection === 'users' || collection === 'accounts') &&
        profilesSegment === 'profiles' &&
        RESOURCES.includes(resource as Resource) &&
        rest.length === 0;
      return known ? `/v1/spaces/:space/collections/${collection}/profiles/:id/${resource}` : '/v1/spaces/*';
    },
    handle: async (req, res, url) => {
      let refusal: Refusal | null;
      try {
        refusal = await serve(req, res, url);
      } catch (error) {
        if (error instanceof ServiceUnavailableError) {
          // SEMANTICS.md §7: the database is unreachable; the client asks again later (ADR 0017).
          refusal = {
            status: 503,
            code: error.code,
            message: error.message,
            headers: { 'retry-after': String(error.retryAfterSeconds) },
          };
        } else if (!(error instanceof InputError)) {
          // Logged without the path: it holds the identifier, often an email (Segment warns of the same).
          logger.error('profile api request failed', { error });
          return sendJson(res, 500, {
            error: { code: 'INTERNAL_SERVER_ERROR', message: 'Internal error' },
          });
        } else {
          refusal = { status: 400, code: 'VALIDATION_FAILED', ...publicInputError(error) };
        }
      }
      if (refusal === null) return;
      logger.debug('profile api request refused', { status: refusal.status, code: refusal.code });
      const { status, code, message, field, headers } = refusal;
      sendJson(res, status, { error: { code, message, ...(field === undefined ? {} : { field }) } }, headers);
    },
  };
}

/** A path segment as sent, percent-decoded; undecodable text stays as it is and matches no route. */
function decode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

/**
 * `{type}:{value}`, normalised as ingestion normalises it (SEMANTICS.md §2). Accounts are looked up by
 * their group id only (`group_id:<id>`), the one identifier an account has.
 */
function externalId(collection: Collection, text: string): Identifier {
  const colon = text.indexOf(':');
  const id = colon <= 0 ? null : normaliseIdentifier(text.slice(0, colon), text.slice(colon + 1));
  if (id === null) {
    throw new InputError(
      `"${text}" is not an external id: write it as type:value, e.g. user_id:abc123 or email:jane@example.com`,
      ['id'],
    );
  }
  if (collection === 'accounts' && id.type !== 'group_id') {
    throw new InputError(`accounts are looked up by group_id:<id>, not by ${id.type}`, ['id']);
  }
  return id;
}

interface Params {
  limit: number;
  next: string | null;
  include: string[] | null;
  verbose: boolean;
  traitClass: string | null;
  sort: 'asc' | 'desc';
  start: Date | null;
  end: Date | null;
}

/** The query parameters of the request's resource; anything malformed is a VALIDATION_FAILED. */
function readParams(r: Request): Params {
  const q = r.url.searchParams;
  const verboseText = (q.get('verbose') ?? '').toLowerCase();
  if (!['', 'true', 'false'].includes(verboseText)) {
    throw new InputError(`verbose must be true or false, got "${verboseText}"`, ['verbose']);
  }
  const params: Params = {
    limit: 0,
    next: q.get('next') || null,
    include: list(q.get('include')),
    verbose: verboseText === 'true',
    traitClass: null,
    sort: 'desc',
    start: null,
    end: null,
  };
  if (r.resource === 'metadata') return params;
  const limits = PROFILE_API_LIMITS[r.resource];
  const limitText = q.get('limit') || null;
  params.limit = limitText === null ? limits.default : /^[0-9]{1,4}$/.test(limitText) ? Number(limitText) : 0;
  if (params.limit < 1 || params.limit > limits.max) {
    throw new InputError(`limit must be an integer between 1 and ${limits.max}, got "${limitText}"`, [
      'limit',
    ]);
  }
  if (r.resource === 'traits') {
    params.traitClass = q.get('class') || null;
    if (params.traitClass !== null && !TRAIT_CLASSES.has(params.traitClass)) {
      throw new InputError(
        `class must be one of ${[...TRAIT_CLASSES].join(', ')}, got "${params.traitClass}"`,
        ['class'],
      );
    }
  }
  if (r.resource === 'events') {
    if (q.get('exclude')) {
      throw new InputError('exclude is not supported: name the events to return with include', ['exclude']);
    }
    const sort = (q.get('sort') || 'desc').toLowerCase();
    if (sort !== 'asc' && sort !== 'desc') {
      throw new InputError(`sort must be asc or desc, got "${sort}"`, ['sort']);
    }
    params.sort = sort;
    params.start = date(q.get('start'), 'start');
    params.end = date(q.get('end'), 'end');
  }
  return params;
}

function list(text: string | null): string[] | null {
  const items = (text ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  return items.length === 0 ? null : items;
}

function date(text: string | null, field: string): Date | null {
  if (text === null || text === '') return null;
  const time = Date.parse(text);
  if (Number.isNaN(time)) {
    throw new InputError(`${field} must be an ISO-8601 date or time, got "${text}"`, [field]);
  }
  return new Date(time);
}

function pageArgs(params: Params, includes?: 'types') {
  return {
    first: params.limit,
    after: params.next,
    ...(includes === 'types' ? { types: params.include } : {}),
  };
}

function traitArgs(params: Params) {
  return { first: params.limit, after: params.next, keys: params.include };
}

/** Whether a user's traits of this class answer the request: `class` names it, or no class is given. */
function wants(params: Params, traitClass: 'custom_trait' | 'computed_trait' | 'audience'): boolean {
  return params.traitClass === null || params.traitClass === traitClass;
}

/**
 * Custom traits with the computed ones; a computed trait's value wins over a custom trait of the same key
 * (Segment writes computed values onto the profile's traits). Computed values carry no messageId.
 */
function withComputed(custom: TraitEntry[], computed: ProfileComputedValue[]): TraitEntry[] {
  const keys = new Set(computed.map((v) => v.key));
  return [
    ...custom.filter((t) => !keys.has(t.key)),
    ...computed.map((v) => ({ key: v.key, value: v.value, updatedAt: v.updatedAt, messageId: null })),
  ];
}

function eventArgs(params: Params): EventArgs {
  return {
    first: params.limit,
    after: params.next,
    names: params.include,
    since: params.start,
    until: params.end,
    order: params.sort === 'asc' ? 'OLDEST_FIRST' : 'NEWEST_FIRST',
  };
}

/**
 * Segment's `cursor`: `url` is this list with the request's own query (as the client encoded it) and, while
 * `has_more`, `next` set to fetch the following page; `next` is "" on the last page.
 */
function cursorJson(r: Request, params: Params, pageInfo: Connection<unknown>['pageInfo']) {
  const next = pageInfo.hasNextPage ? (pageInfo.endCursor ?? '') : '';
  const query = r.url.search
    .slice(1)
    .split('&')
    .filter((part) => part !== '' && !part.startsWith('next='));
  // Cursors are base64url, so they need no escaping in a query.
  if (next !== '') query.push(`next=${next}`);
  return {
    url: `${r.url.pathname}${query.length === 0 ? '' : `?${query.join('&')}`}`,
    has_more: next !== '',
    next,
    limit: params.limit,
  };
}

function listBody<T>(r: Request, params: Params, page: Connection<T>, item: (node: T) => unknown) {
  return { data: page.nodes.map(item), cursor: cursorJson(r, params, page.pageInfo) };
}

function traitsBody(r: Request, params: Params, page: Connection<TraitEntry> | null) {
  // Object.fromEntries defines own properties, so a trait key such as `__proto__` is shown as data, as
  // GraphQL shows it (SEMANTICS.md §8), rather than setting the object's prototype.
  const traits: Record<string, unknown> = Object.fromEntries(
    (page?.nodes ?? []).map((t) => [
      t.key,
      params.verbose
        ? {
            value: t.value,
            source_id: NO_SOURCE,
            updated_at: t.updatedAt?.toISOString() ?? null,
            message_id: t.messageId,
          }
        : t.value,
    ]),
  );
  const pageInfo = page?.pageInfo ?? { hasNextPage: false, endCursor: null };
  return { traits, cursor: cursorJson(r, params, pageInfo) };
}

function metadataBody(
  params: Params,
  holder: { createdAt: Date; updatedAt: Date },
  bounds: EventBounds,
): unknown {
  return {
    metadata: {
      created_at: holder.createdAt.toISOString(),
      updated_at: holder.updatedAt.toISOString(),
      expires_at: null,
      first_message_id: bounds.first?.messageId ?? null,
      first_source_id: NO_SOURCE,
      last_message_id: bounds.last?.messageId ?? null,
      last_source_id: NO_SOURCE,
      ...(params.verbose
        ? {
            first_event_at: bounds.first?.timestamp.toISOString() ?? null,
            last_event_at: bounds.last?.timestamp.toISOString() ?? null,
          }
        : {}),
    },
  };
}

function externalIdJson(i: ProfileIdentifierView) {
  return {
    id: i.value,
    type: i.type,
    source_id: NO_SOURCE,
    collection: 'users',
    created_at: i.addedAt.toISOString(),
    encoding: 'none',
    first_message_id: i.messageId,
  };
}

function accountIdJson(account: AccountView) {
  return {
    id: account.groupId,
    type: 'group_id',
    source_id: NO_SOURCE,
    collection: 'accounts',
    created_at: account.createdAt.toISOString(),
    encoding: 'none',
  };
}

/** An event as Segment's Profile API shows it: the call's own fields by type, snake_case. */
function eventJson(e: EventView, carried: Identifier[], related: Record<string, string> | null) {
  const ids = carried.map((i) => ({ collection: 'users', type: i.type, id: i.value, encoding: 'none' }));
  if (e.groupId !== null)
    ids.push({ collection: 'accounts', type: 'group_id', id: e.groupId, encoding: 'none' });
  return {
    external_ids: ids,
    context: e.context,
    type: e.type,
    message_id: e.messageId,
    source_id: NO_SOURCE,
    timestamp: e.timestamp.toISOString(),
    ...typeFields(e),
    ...(related === null ? {} : { related }),
  };
}

function typeFields(e: EventView): Record<string, unknown> {
  switch (e.type) {
    case 'track':
      return { event: e.event, properties: e.properties ?? {} };
    case 'page':
    case 'screen':
      return { name: e.name, category: e.category, properties: e.properties ?? {} };
    case 'identify':
      return { traits: e.traits ?? {} };
    case 'group':
      return { group_id: e.groupId, traits: e.traits ?? {} };
    case 'alias':
      return { previous_id: e.previousId };
    default:
      return {};
  }
}

/** Service refusals name GraphQL's arguments; the Profile API's are `limit` and `next`. */
function publicInputError(error: InputError): { message: string; field: string } {
  const field = String(error.field[0] ?? '');
  if (field === 'after') {
    return {
      field: 'next',
      message: 'next is not a cursor of this list: pass cursor.next of the previous page unchanged',
    };
  }
  if (field === 'first') return { field: 'limit', message: error.message.replace(/^first/, 'limit') };
  return { field, message: error.message };
}
