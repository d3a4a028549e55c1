import type { IncomingMessage } from 'node:http';
import proxyAddr from '@fastify/proxy-addr';

/** `server.trustProxy` compiled: whether the proxy at `address`, `hop` hops from us, may be believed; false trusts none. */
export type TrustProxy = false | ((address: string, hop: number) => boolean);

/**
 * `server.trustProxy` as one compiled function: true trusts every hop, a number that many hops,
 * a list its addresses, CIDRs and proxy-addr's named ranges (loopback, linklocal, uniquelocal).
 */
export function trustProxyFunction(v: boolean | number | readonly string[]): TrustProxy {
  if (v === false) return false;
  if (v === true) return () => true;
  if (typeof v === 'number') return (_address, hop) => hop < v;
  return proxyAddr.compile([...v]);
}

/**
 * What the gateway derives from `server.trustProxy`, computed once per config: the client's
 * address (honouring trusted X-Forwarded-For hops; what IP limits, balancing and logs use) and
 * whether the direct peer is a trusted proxy (whose forwarding headers are extended, not
 * replaced, on the way to a service).
 */
export interface ClientAddressing {
  readonly trust: TrustProxy;
  readonly address: (req: IncomingMessage) => string;
  readonly peerTrusted: (peer: string) => boolean;
}

export function clientAddressing(trustProxy: boolean | number | readonly string[]): ClientAddressing {
  const trust = trustProxyFunction(trustProxy);
  if (trust === false) return { trust, address: socketAddress, peerTrusted: never };
  return {
    trust,
    address: (req) => {
      const all = proxyAddr.all(req, trust);
      return all[all.length - 1] ?? '';
    },
    peerTrusted: (peer) => peer !== '' && trust(peer, 0),
  };
}

function socketAddress(req: IncomingMessage): string {
  return req.socket.remoteAddress ?? '';
}

function never(): boolean {
  return false;
}
