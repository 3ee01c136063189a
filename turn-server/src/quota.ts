/**
 * The default QuotaHandler (pion/turn's QuotaHandler, coturn's --user-quota / --total-quota):
 * per-user allocation cap → 486 Allocation Quota Reached, node-wide cap → 508 Insufficient Capacity
 * (RFC 8656 §7.2). Zero means unlimited.
 */
import type { QuotaHandler } from "./handlers.ts";

/** Limits of quotaHandler. */
export interface QuotaOptions {
  /** Live allocations per user (`--user-quota`). 0 = unlimited. A browser makes one per TURN URL. */
  userQuota?: number;
  /** Live allocations on this node (`--total-quota`). 0 = unlimited. */
  totalQuota?: number;
}

/** Builds a QuotaHandler enforcing `userQuota` (486) and `totalQuota` (508). */
export function quotaHandler(options: QuotaOptions): QuotaHandler {
  const userQuota = options.userQuota ?? 0;
  const totalQuota = options.totalQuota ?? 0;
  return (_user, usage) => {
    if (totalQuota > 0 && usage.totalAllocations >= totalQuota) {
      return { code: 508, reason: `node allocation quota (${totalQuota}) reached` };
    }
    if (userQuota > 0 && usage.userAllocations >= userQuota) {
      return { code: 486, reason: `user allocation quota (${userQuota}) reached` };
    }
    return "ok";
  };
}
