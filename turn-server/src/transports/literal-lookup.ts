/**
 * A `lookup` for dgram sockets that only ever see IP literals (addresses from `rinfo`, decoded
 * XOR-PEER-ADDRESS, validated options). Node's default runs dns.lookup, which for a literal still defers
 * the send to the next tick (process.nextTick per datagram) and runs a regex; answering synchronously
 * sends at once and saves that work on the relay's hot path. A non-literal then fails in the kernel call
 * (and a send without callback drops silently), never as a DNS query.
 */

type LookupCallback = (error: NodeJS.ErrnoException | null, address: string, family: number) => void;

/** dgram `lookup` option: passes IP literals straight through (family from the presence of ':'). */
export function literalLookup(address: string, _family: unknown, callback: LookupCallback): void {
  callback(null, address, address.includes(":") ? 6 : 4);
}
