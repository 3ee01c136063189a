/**
 * A stable 53-bit hash of (node id, key) for rendezvous hashing. Every isolate, colo and deploy must
 * compute the same value, so it is plain arithmetic on uint32 pairs (MurmurHash3 x86_32 mixing with
 * Math.imul, no BigInt, no platform hash): two 32-bit hashes with independent seeds give 53 bits, enough
 * that −ln(u) never sees 0 or 1 and ties never happen in practice.
 */

const C1 = 0xcc9e2d51;
const C2 = 0x1b873593;
/** Seeds of the two halves, arbitrary odd constants (changing them reshuffles every room). */
const SEED_HIGH = 0x2f0b3a49;
const SEED_LOW = 0x7ac2d153;
const TWO_POW_32 = 4_294_967_296;
const TWO_POW_53 = 9_007_199_254_740_992;

/** MurmurHash3 x86_32 over the UTF-16 code units of `text` (two units per 32-bit block). */
export function murmur32(text: string, seed: number): number {
  let hash = seed | 0;
  const length = text.length;
  let index = 0;
  for (; index + 1 < length; index += 2) {
    hash ^= mixBlock((text.charCodeAt(index) & 0xffff) | (text.charCodeAt(index + 1) << 16));
    hash = (hash << 13) | (hash >>> 19);
    hash = (Math.imul(hash, 5) + 0xe6546b64) | 0;
  }
  if (index < length) hash ^= mixBlock(text.charCodeAt(index) & 0xffff);
  hash ^= length * 2;
  return finalMix(hash);
}

function mixBlock(block: number): number {
  let k = Math.imul(block, C1);
  k = (k << 15) | (k >>> 17);
  return Math.imul(k, C2);
}

// MurmurHash3 fmix32: every input bit affects every output bit.
function finalMix(value: number): number {
  let hash = value;
  hash ^= hash >>> 16;
  hash = Math.imul(hash, 0x85ebca6b);
  hash ^= hash >>> 13;
  hash = Math.imul(hash, 0xc2b2ae35);
  hash ^= hash >>> 16;
  return hash >>> 0;
}

/**
 * Hashes (nodeId, key) to a number strictly between 0 and 1, uniform for rendezvous scoring.
 * The node id seeds the key's hash, so no string is concatenated on the hot path.
 */
export function unitHash(nodeId: string, key: string): number {
  const high = murmur32(key, murmur32(nodeId, SEED_HIGH)) >>> 11; // 21 bits
  const low = murmur32(key, murmur32(nodeId, SEED_LOW)); // 32 bits
  return (high * TWO_POW_32 + low + 0.5) / TWO_POW_53;
}
