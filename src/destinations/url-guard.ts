// Server-side request forgery refusal for webhook URLs (docs/adr/0023-webhook-destinations.md): http(s)
// only, and every address the host resolves to must be public unicast (ipaddr.js's ranges), so that a
// webhook cannot reach loopback, private networks, link-local addresses (cloud metadata services at
// 169.254.169.254 among them), carrier-grade NAT, multicast or reserved space — unless the operator allows
// private addresses (DESTINATIONS_ALLOW_PRIVATE_URLS). The check runs when a URL is given and again at
// every connection (a DNS answer may change: rebinding), through `guardedLookup`.
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { isIP } from 'node:net';
import ipaddr from 'ipaddr.js';

/** Why an address is refused, or null when it is public unicast. */
export function addressRefusal(address: string): string | null {
  if (!ipaddr.isValid(address)) return `${address} is not an IP address`;
  // IPv4-mapped IPv6 (::ffff:127.0.0.1) is judged as the IPv4 address it carries.
  const range = ipaddr.process(address).range();
  return range === 'unicast' ? null : `${address} is a ${range} address`;
}

export type UrlCheck = { ok: true; url: URL } | { ok: false; message: string };

/** Parses and checks a webhook URL; resolves the host unless private addresses are allowed. */
export async function checkWebhookUrl(text: string, allowPrivate: boolean): Promise<UrlCheck> {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return { ok: false, message: `${JSON.stringify(text)} is not a URL` };
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    return { ok: false, message: `the URL must be http or https, not ${url.protocol.replace(/:$/, '')}` };
  if (url.username !== '' || url.password !== '')
    return { ok: false, message: 'the URL must not carry a user name or password' };
  if (allowPrivate) return { ok: true, url };
  const host = hostOf(url);
  let addresses: string[];
  try {
    addresses = isIP(host) !== 0 ? [host] : await resolveAll(host);
  } catch (error) {
    return { ok: false, message: `the host ${host} does not resolve (${(error as Error).message})` };
  }
  for (const address of addresses) {
    const why = addressRefusal(address);
    if (why !== null)
      return {
        ok: false,
        message: `the host ${host} resolves to an address that is not public (${why}); only public addresses are allowed unless DESTINATIONS_ALLOW_PRIVATE_URLS=true`,
      };
  }
  return { ok: true, url };
}

/** The host as the resolver and the address checks take it (without IPv6 brackets). */
export function hostOf(url: URL): string {
  return url.hostname.replace(/^\[(.*)\]$/, '$1');
}

function resolveAll(host: string): Promise<string[]> {
  return new Promise((resolve, reject) =>
    dnsLookup(host, { all: true }, (error, found) =>
      error ? reject(error) : resolve(found.map((a) => a.address)),
    ),
  );
}

type LookupCallback = (
  error: NodeJS.ErrnoException | null,
  address: string | LookupAddress[],
  family?: number,
) => void;

/** A `lookup` for http(s).request that refuses non-public addresses at connection time. */
export function guardedLookup(
  hostname: string,
  options: { all?: boolean; family?: number | string },
  callback: LookupCallback,
): void {
  dnsLookup(hostname, { ...options, all: true } as { all: true }, (error, found) => {
    if (error) return callback(error, []);
    for (const a of found) {
      const why = addressRefusal(a.address);
      if (why !== null) {
        const refused: NodeJS.ErrnoException = new Error(
          `refused: ${hostname} resolves to an address that is not public (${why})`,
        );
        refused.code = 'EADDRNOTPUBLIC';
        return callback(refused, []);
      }
    }
    if (options.all === true) return callback(null, found);
    const first = found[0];
    if (first === undefined) return callback(new Error(`${hostname} has no address`), []);
    callback(null, first.address, first.family);
  });
}
