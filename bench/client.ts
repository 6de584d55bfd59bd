// HTTP clients of the API under test: Node's own http module with keep-alive sockets (one per concurrent
// client), which costs the load generator less CPU than fetch on a machine it shares with the API.
import { Agent, request } from 'node:http';

export interface HttpAnswer {
  status: number;
  body: string;
}

export class ApiClient {
  private readonly agent: Agent;
  private readonly base: URL;

  constructor(
    url: string,
    private readonly auth: { writeKey: string; token: string },
    sockets: number,
  ) {
    this.base = new URL(url);
    this.agent = new Agent({ keepAlive: true, maxSockets: sockets });
  }

  /** POST /v1/batch with the write key as HTTP Basic user; throws unless every event was applied. */
  async batch(events: Record<string, unknown>[]): Promise<void> {
    const answer = await this.post('/v1/batch', JSON.stringify({ batch: events }), {
      authorization: `Basic ${Buffer.from(`${this.auth.writeKey}:`).toString('base64')}`,
    });
    if (answer.status !== 200)
      throw new Error(`POST /v1/batch: ${answer.status} ${answer.body.slice(0, 300)}`);
  }

  /** POST /v1/<call> for one event. */
  async send(call: string, event: Record<string, unknown>): Promise<void> {
    const answer = await this.post(`/v1/${call}`, JSON.stringify(event), {
      authorization: `Basic ${Buffer.from(`${this.auth.writeKey}:`).toString('base64')}`,
    });
    if (answer.status !== 200)
      throw new Error(`POST /v1/${call}: ${answer.status} ${answer.body.slice(0, 300)}`);
  }

  /** A GraphQL query with the read token; throws on HTTP or GraphQL errors. */
  async graphql<T>(query: string, variables: Record<string, unknown>): Promise<T> {
    const answer = await this.post('/graphql', JSON.stringify({ query, variables }), {
      authorization: `Bearer ${this.auth.token}`,
    });
    const parsed = JSON.parse(answer.body) as { data?: T; errors?: { message: string }[] };
    if (answer.status !== 200 || parsed.errors !== undefined || parsed.data === undefined) {
      throw new Error(`GraphQL: ${answer.status} ${answer.body.slice(0, 300)}`);
    }
    return parsed.data;
  }

  close(): void {
    this.agent.destroy();
  }

  private post(path: string, body: string, headers: Record<string, string>): Promise<HttpAnswer> {
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
          timeout: 120_000,
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
