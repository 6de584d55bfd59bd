// Talking to a running service the way clients do: GraphQL over HTTP with an access token, and polling an
// answer that the service's workers reach in the background (never a fixed sleep).

/** A GraphQL answer as sent. */
export interface GraphQLBody {
  data?: Record<string, unknown> | null;
  errors?: { message: string; extensions?: Record<string, unknown> }[];
}

/** POSTs one operation to `url`/graphql with `Authorization: Bearer <secret>`. */
export async function postGraphQL(
  url: string,
  secret: string,
  query: string,
  variables: Record<string, unknown> = {},
): Promise<GraphQLBody> {
  const res = await fetch(`${url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${secret}` },
    body: JSON.stringify({ query, variables }),
  });
  return (await res.json()) as GraphQLBody;
}

/** Calls `read` until `done` holds or `timeoutMs` passes; returns the last answer for the caller to assert. */
export async function poll<T>(
  read: () => Promise<T>,
  done: (value: T) => boolean,
  timeoutMs = 20_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value) || Date.now() > deadline) return value;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
