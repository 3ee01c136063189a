/** Allocation lifetimes (RFC 8656 §7.2 for Allocate, §8.2 for Refresh). */
import type { ResolvedOptions } from "./resolve-options.ts";

/**
 * The lifetime granted for a requested one: min(requested, maximum), but never below the default
 * (RFC 8656 §7.2/§8.2: "If this computed value is greater than the default lifetime, then the server uses
 * the computed lifetime ... Otherwise, the server uses the default lifetime"). Absent → the default.
 */
export function grantedLifetimeSeconds(requested: number | undefined, options: ResolvedOptions): number {
  if (requested === undefined) return options.defaultLifetimeSeconds;
  const capped = Math.min(requested, options.maxLifetimeSeconds);
  return Math.max(capped, options.defaultLifetimeSeconds);
}

/** Seconds left until `expiresAt` (ms), rounded down, for the LIFETIME attribute. */
export function remainingSeconds(expiresAt: number, now: number): number {
  return Math.max(0, Math.floor((expiresAt - now) / 1000));
}
