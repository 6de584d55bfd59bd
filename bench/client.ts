// HTTP clients of the API under test: Node's own http module with keep-alive sockets (one per concurrent
// client), which costs the load generator less CPU than fetch on a machine it shares with the API.
import { Agent, request } from 'node:http';

export interface HttpAnswer {
  status: number;
  body: string;
}

export class ApiClient {
  private agent: Agent;
  private readonly base: URL;
  private readonly basic: string;
  private readonly bearer: string;

  constructor(
    url: string,
    auth: { writeKey: string; token: string },
    private readonly sockets: number,
    /** How long a request may take before it fails (a preview of a large space takes minutes). */
    private readonly timeoutMs = 120_000,
  ) {
    this.base = new URL(url);
    this.agent = new Agent({ keepAlive: true, maxSockets: sockets });
    this.basic = `Basic ${Buffer.from(`${auth.writeKey}:`).toString('base64')}`;
    this.bearer = `Bearer ${auth.token}`;
  }

  /** POST /v1/batch with the write key as HTTP Basic user; throws unless every event was applied. */
  async batch(events: Record<string, unknown>[]): Promise<void> {
    await this.postBatch(JSON.stringify({ batch: events }));
  }

  /** POST /v1/batch of a body built beforehand (events.ts batchBody); throws unless every event was applied. */
  async postBatch(body: string | Buffer): Promise<void> {
    const answer = await this.post('/v1/batch', body, { authorization: this.basic });
    if (answer.status !== 200)
      throw new Error(`POST /v1/batch: ${answer.status} ${answer.body.slice(0, 300)}`);
  }

  /** POST /v1/<call> for one event (a body built beforehand, or the event to serialise). */
  async send(call: string, event: Record<string, unknown> | Buffer): Promise<void> {
    const body = Buffer.isBuffer(event) ? event : JSON.stringify(event);
    const answer = await this.post(`/v1/${call}`, body, { authorization: this.basic });
    if (answer.status !== 200)
      throw new Error(`POST /v1/${call}: ${answer.status} ${answer.body.slice(0, 300)}`);
  }

  /** A GraphQL query with the read token; throws on HTTP or GraphQL errors. */
  async graphql<T>(query: string, variables: Record<string, unknown>): Promise<T> {
    return this.graphqlBody<T>(JSON.stringify({ query, variables }));
  }

  /** graphql() with its request body built beforehand (graphqlRequest). */
  async graphqlBody<T>(body: string | Buffer): Promise<T> {
    const answer = await this.post('/graphql', body, { authorization: this.bearer });
    const parsed = JSON.parse(answer.body) as { data?: T; errors?: { message: string }[] };
    if (answer.status !== 200 || parsed.errors !== undefined || parsed.data === undefined) {
      throw new Error(`GraphQL: ${answer.status} ${answer.body.slice(0, 300)}`);
    }
    return parsed.data;
  }

  /** The body of a GraphQL request, for graphqlBody. */
  static graphqlRequest(query: string, variables: Record<string, unknown>): Buffer {
    return Buffer.from(JSON.stringify({ query, variables }));
  }

  /**
   * Drops the idle keep-alive sockets. Call it after a long synchronous stretch (building a phase's request
   * bodies): the API closes sockets idle for 5 s, and a blocked event loop has not yet seen those closes, so
   * the next requests would go out on dead sockets and fail with "socket hang up".
   */
  reopen(): void {
    this.agent.destroy();
    this.agent = new Agent({ keepAlive: true, maxSockets: this.sockets });
  }

  close(): void {
    this.agent.destroy();
  }

  private post(path: string, body: string | Buffer, headers: Record<string, string>): Promise<HttpAnswer> {
    return new Promise((resolve, reject) => {
      const req = request(
        {
          host: this.base.hostname,
          port: this.base.port,
          path,
          method: 'POST',
          agent: this.agent,
          headers: {
            'content-type': 'application/json',
            'content-length': Buffer.byteLength(body),
            ...headers,
          },
          timeout: this.timeoutMs,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () =>
            resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }),
          );
          res.on('error', reject);
        },
      );
      req.on('timeout', () => req.destroy(new Error(`POST ${path} timed out`)));
      req.on('error', reject);
      req.end(body);
    });
  }
}
