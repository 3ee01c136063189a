/**
 * Stateless nonces (RFC 8489 §9.2: the server picks the nonce format): "<issue time, 8 hex>" followed by
 * HMAC-SHA256(secret, time ":" client address) truncated to 12 bytes (24 hex). Checking needs no table, so
 * a flood of unauthenticated requests costs no memory (node-turn kept every nonce it ever issued).
 * A nonce too old, from the future, for another address, or not ours is "stale" → 438 and a fresh one.
 */
import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";

/** Issues and checks nonces bound to a client address. */
export interface NonceIssuer {
  /** A fresh nonce for `clientAddress`. */
  issue(clientAddress: string): string;
  /** True when `nonce` was issued by this server to `clientAddress` less than the lifetime ago. */
  isValid(nonce: string, clientAddress: string): boolean;
}

/** Options of createNonceIssuer. */
export interface NonceOptions {
  /** HMAC secret; default random per process (nonces then do not survive a restart: clients just retry on 438). */
  secret?: string | Uint8Array;
  /** Seconds a nonce stays valid. */
  lifetimeSeconds: number;
  /** Milliseconds clock (tests). */
  clock?: () => number;
}

const NONCE_LENGTH = 8 + 24;

/** Creates a stateless nonce issuer. */
export function createNonceIssuer(options: NonceOptions): NonceIssuer {
  const secret = options.secret === undefined ? randomBytes(32) : options.secret;
  const clock = options.clock ?? Date.now;
  const lifetime = options.lifetimeSeconds;
  const mac = (time: string, clientAddress: string): string =>
    createHmac("sha256", secret).update(`${time}:${clientAddress}`).digest("hex").slice(0, 24);
  return {
    issue(clientAddress) {
      const time = Math.floor(clock() / 1000)
        .toString(16)
        .padStart(8, "0");
      return time + mac(time, clientAddress);
    },
    isValid(nonce, clientAddress) {
      if (nonce.length !== NONCE_LENGTH) return false;
      const time = nonce.slice(0, 8);
      if (!/^[0-9a-f]{8}$/.test(time)) return false;
      const age = Math.floor(clock() / 1000) - Number.parseInt(time, 16);
      // A little future skew is tolerated for a clock step between issue and check.
      if (age > lifetime || age < -5) return false;
      const expected = Buffer.from(mac(time, clientAddress));
      const given = Buffer.from(nonce.slice(8));
      return given.length === expected.length && timingSafeEqual(given, expected);
    },
  };
}
