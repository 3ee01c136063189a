/**
 * When a connection's path is dead, and which side restarts ICE. Pure decisions, kept apart from
 * PeerConnection so they can be tested without a browser.
 *
 * Why one side only: if both ends restart at once, the two restart offers collide; perfect negotiation
 * makes the polite side roll back its own (webrtc-pc §4.4.1.6), and Chromium then rebuilds its RTP
 * streams (framesDecoded starts from 0) and video waits for a keyframe — seconds of extra outage. So the
 * impolite side restarts; the polite side asks it to (a `restartRequest` signal) and restarts itself only
 * if no restart offer arrives within a fallback timeout. Collisions that still happen are resolved by the
 * pattern as before.
 *
 * Why look at stats: Chromium reports `disconnected` only ~5 s after the last packet (its connection is
 * declared unwritable after 5 s of unanswered checks), and `failed` much later. A relay pair whose TURN
 * node died receives nothing at all — no media, no check responses, no checks from the remote — while
 * Chromium keeps sending checks (and sends them every ~50 ms once it stops receiving for 2.5 s). The quality
 * monitor's 1 s samples of the selected pair see that within 2–3 s.
 */
import type { PairCounters } from "./quality.ts";

/** One sample of the selected candidate pair's counters, with the local time it was taken. */
export interface PairSample extends PairCounters {
  /** Local time of the sample, ms. */
  at: number;
}

/** Thresholds of `pathStall`. */
export interface StallOptions {
  /** Nothing received on the pair for at least this long (default 2 000 ms). */
  silenceMs?: number;
  /** …while at least this many of our connectivity checks went unanswered (default 2). */
  minUnansweredChecks?: number;
}

/** A dead relay path, as `pathStall` found it. */
export interface PathStall {
  pairId: string;
  /** How long nothing was received, ms (measured between samples, so it errs short). */
  silentMs: number;
  /** Connectivity checks (consent requests, RFC 7675) sent without a response meanwhile. */
  unansweredChecks: number;
}

/** Default silence on a relay pair that counts as a dead path. */
export const DEFAULT_STALL_SILENCE_MS = 2000;
/** Default number of unanswered checks during that silence. */
export const DEFAULT_STALL_UNANSWERED_CHECKS = 2;

/**
 * Whether the newest sample's relay pair is dead: nothing received at all for `silenceMs` — no payload
 * bytes, no check responses, no checks from the remote (RFC 7675 consent flows both ways) — while our
 * own checks went unanswered. Not just low bitrate: an idle call (data channel, muted media) still gets
 * the remote's consent checks and our checks' responses every few seconds. Direct pairs are left to
 * Chromium, which may switch to another pair by itself; a relay pair has nothing else to fall back to
 * when its TURN node is gone.
 */
export function pathStall(history: readonly PairSample[], options: StallOptions = {}): PathStall | undefined {
  const latest = history.at(-1);
  if (!latest?.relay) return undefined;
  let since = latest;
  for (let index = history.length - 2; index >= 0; index--) {
    const sample = history[index];
    if (!sample || sample.id !== latest.id || receivedBetween(sample, latest)) break;
    since = sample;
  }
  const silentMs = latest.at - since.at;
  const unansweredChecks = latest.requestsSent - since.requestsSent;
  const stalled =
    silentMs >= (options.silenceMs ?? DEFAULT_STALL_SILENCE_MS) &&
    unansweredChecks >= (options.minUnansweredChecks ?? DEFAULT_STALL_UNANSWERED_CHECKS);
  return stalled ? { pairId: latest.id, silentMs, unansweredChecks } : undefined;
}

/** Whether the pair received anything (payload, check responses, remote checks) between two samples of it. */
export function receivedBetween(earlier: PairCounters, later: PairCounters): boolean {
  return (
    later.id !== earlier.id ||
    later.bytesReceived > earlier.bytesReceived ||
    later.responsesReceived > earlier.responsesReceived ||
    later.requestsReceived > earlier.requestsReceived
  );
}

/** Appends a sample, keeping the newest `max` (enough for a few seconds of 1 s samples). */
export function recordPairSample(history: PairSample[], sample: PairSample, max = 8): void {
  history.push(sample);
  if (history.length > max) history.splice(0, history.length - max);
}

/** What made a connection look broken. */
export type FailureSignal = "failed" | "disconnected" | "stalled";

/** Waits of `restartDelayMs`. */
export interface RestartDelays {
  /** After `failed` (default 1 000 ms): Chromium may say "failed" for a moment before remote relay candidates arrive. */
  failedGraceMs?: number;
  /** After `disconnected` on a direct path (default 2 500 ms): it often heals by itself. */
  disconnectedTimeoutMs?: number;
  /** After `disconnected` on a relay path (default 1 000 ms): a dead TURN node does not come back. */
  relayDisconnectedTimeoutMs?: number;
}

/**
 * How long to wait after a failure signal before acting, if it still holds then. A stall is acted on at
 * once: `pathStall` already waited for seconds of silence. `disconnected` is reported ~5 s after the path
 * died; on a relay path there is no other candidate pair Chromium could recover to, so waiting long only
 * adds outage.
 */
export function restartDelayMs(signal: FailureSignal, relayPath: boolean, delays: RestartDelays = {}): number {
  if (signal === "stalled") return 0;
  if (signal === "failed") return delays.failedGraceMs ?? 1000;
  return relayPath ? (delays.relayDisconnectedTimeoutMs ?? 1000) : (delays.disconnectedTimeoutMs ?? 2500);
}

/** What this side knows when it decides how to recover. */
export interface RecoveryContext {
  polite: boolean;
  /** A restart of ours is running or awaiting its result (its watchdog owns what happens next). */
  restartPending: boolean;
  /** We (polite) asked the remote to restart and are waiting for it (the fallback timer owns what happens next). */
  requestPending: boolean;
  /** Time since the remote's last restart offer arrived, ms (undefined: none yet). */
  msSinceRemoteRestart: number | undefined;
  /** How long the polite side waits for the remote's restart before restarting itself. */
  restartRequestTimeoutMs: number;
}

/**
 * What to do about a broken path:
 * - `restart`: restart ICE now (the impolite side);
 * - `request`: ask the remote to restart and restart ourselves after `restartRequestTimeoutMs` if it does not
 *   (the polite side);
 * - `await`: the remote restarted moments ago — wait `fallbackInMs` for that restart before doing it ourselves;
 * - `none`: a restart or request is already under way.
 */
export type RecoveryAction = { kind: "restart" } | { kind: "request" } | { kind: "await"; fallbackInMs: number } | { kind: "none" };

/** Decides who restarts ICE after a failure, so only one restart offer is in flight (see the file comment). */
export function recoveryAction(context: RecoveryContext): RecoveryAction {
  if (context.restartPending) return { kind: "none" };
  if (!context.polite) return { kind: "restart" };
  if (context.requestPending) return { kind: "none" };
  const since = context.msSinceRemoteRestart;
  if (since !== undefined && since >= 0 && since < context.restartRequestTimeoutMs) {
    return { kind: "await", fallbackInMs: context.restartRequestTimeoutMs - since };
  }
  return { kind: "request" };
}

/**
 * Whether to restart ICE for the remote's `restartRequest`: yes unless a restart of ours is already under
 * way — its offer answers the request, and a second one would only renegotiate again.
 */
export function honoursRestartRequest(context: { restartPending: boolean }): boolean {
  return !context.restartPending;
}
