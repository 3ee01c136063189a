import { describe, expect, it } from "vitest";
import {
  honoursRestartRequest,
  type PairSample,
  pathStall,
  type RecoveryContext,
  receivedBetween,
  recordPairSample,
  recoveryAction,
  restartDelayMs,
} from "./ice-recovery.ts";

/** Samples one second apart, starting at t = 10 s, from per-sample counter values. */
function samples(
  rows: { bytes: number; sent: number; responses: number; remoteChecks?: number; id?: string; relay?: boolean }[],
): PairSample[] {
  return rows.map((row, index) => ({
    at: 10_000 + index * 1000,
    id: row.id ?? "CP1",
    relay: row.relay ?? true,
    bytesReceived: row.bytes,
    requestsSent: row.sent,
    responsesReceived: row.responses,
    requestsReceived: row.remoteChecks ?? 0,
  }));
}

describe("pathStall", () => {
  it("finds a dead relay pair: 2 s without anything received while our checks go unanswered", () => {
    // Measured in Chromium after SIGKILL of the TURN node: bytes stop, checks speed up, no responses.
    const history = samples([
      { bytes: 80_000, sent: 5, responses: 5, remoteChecks: 5 },
      { bytes: 87_891, sent: 6, responses: 6, remoteChecks: 5 },
      { bytes: 87_891, sent: 6, responses: 6, remoteChecks: 5 },
      { bytes: 87_891, sent: 7, responses: 6, remoteChecks: 5 },
      { bytes: 87_891, sent: 14, responses: 6, remoteChecks: 5 },
    ]);
    expect(pathStall(history.slice(0, 3))).toBeUndefined(); // only 1 s of silence so far
    expect(pathStall(history.slice(0, 4))).toBeUndefined(); // 2 s, but a single check unanswered
    expect(pathStall(history)).toEqual({ pairId: "CP1", silentMs: 3000, unansweredChecks: 8 });
  });

  it("leaves a healthy media call alone, however low its bitrate", () => {
    const history = samples([
      { bytes: 1000, sent: 5, responses: 5 },
      { bytes: 1010, sent: 5, responses: 5 },
      { bytes: 1020, sent: 7, responses: 6 },
      { bytes: 1030, sent: 9, responses: 8 },
    ]);
    expect(pathStall(history)).toBeUndefined();
  });

  it("leaves an idle call alone: no payload, but consent checks are answered or arrive", () => {
    const answered = samples([
      { bytes: 500, sent: 1, responses: 1 },
      { bytes: 500, sent: 2, responses: 2 },
      { bytes: 500, sent: 3, responses: 3 },
      { bytes: 500, sent: 4, responses: 3 }, // one check in flight at sampling time
    ]);
    expect(pathStall(answered)).toBeUndefined();
    const remoteChecks = samples([
      { bytes: 500, sent: 1, responses: 1, remoteChecks: 1 },
      { bytes: 500, sent: 2, responses: 1, remoteChecks: 2 },
      { bytes: 500, sent: 3, responses: 1, remoteChecks: 2 },
      { bytes: 500, sent: 4, responses: 1, remoteChecks: 3 },
    ]);
    expect(pathStall(remoteChecks)).toBeUndefined();
  });

  it("ignores direct pairs: Chromium may move to another pair by itself", () => {
    const history = samples([
      { bytes: 100, sent: 1, responses: 1, relay: false },
      { bytes: 100, sent: 5, responses: 1, relay: false },
      { bytes: 100, sent: 9, responses: 1, relay: false },
    ]);
    expect(pathStall(history)).toBeUndefined();
  });

  it("starts over when another pair is selected (an ICE restart's new path)", () => {
    const history = samples([
      { bytes: 100, sent: 1, responses: 1 },
      { bytes: 100, sent: 5, responses: 1 },
      { bytes: 100, sent: 9, responses: 1 },
      { bytes: 0, sent: 9, responses: 1, id: "CP2" },
    ]);
    expect(pathStall(history.slice(0, 3))?.pairId).toBe("CP1");
    expect(pathStall(history)).toBeUndefined();
  });

  it("takes its thresholds from options", () => {
    const history = samples([
      { bytes: 100, sent: 1, responses: 1 },
      { bytes: 100, sent: 2, responses: 1 },
      { bytes: 100, sent: 3, responses: 1 },
    ]);
    expect(pathStall(history)).toBeDefined();
    expect(pathStall(history, { silenceMs: 3000 })).toBeUndefined();
    expect(pathStall(history, { minUnansweredChecks: 3 })).toBeUndefined();
    expect(pathStall([])).toBeUndefined();
  });
});

describe("receivedBetween / recordPairSample", () => {
  it("counts payload, responses, remote checks and a pair change as traffic", () => {
    const [base] = samples([{ bytes: 10, sent: 1, responses: 1, remoteChecks: 1 }]);
    expect(receivedBetween(base!, { ...base!, requestsSent: 9 })).toBe(false);
    expect(receivedBetween(base!, { ...base!, bytesReceived: 11 })).toBe(true);
    expect(receivedBetween(base!, { ...base!, responsesReceived: 2 })).toBe(true);
    expect(receivedBetween(base!, { ...base!, requestsReceived: 2 })).toBe(true);
    expect(receivedBetween(base!, { ...base!, id: "CP9" })).toBe(true);
  });

  it("keeps only the newest samples", () => {
    const history: PairSample[] = [];
    for (const sample of samples(Array.from({ length: 12 }, (_, bytes) => ({ bytes, sent: 0, responses: 0 })))) {
      recordPairSample(history, sample, 8);
    }
    expect(history).toHaveLength(8);
    expect(history[0]?.bytesReceived).toBe(4);
    expect(history.at(-1)?.bytesReceived).toBe(11);
  });
});

describe("restartDelayMs", () => {
  it("acts on a stall at once, on failed after 1 s, on disconnected after 1 s (relay) or 2.5 s (direct)", () => {
    expect(restartDelayMs("stalled", true)).toBe(0);
    expect(restartDelayMs("failed", false)).toBe(1000);
    expect(restartDelayMs("failed", true)).toBe(1000);
    expect(restartDelayMs("disconnected", true)).toBe(1000);
    expect(restartDelayMs("disconnected", false)).toBe(2500);
  });

  it("takes the waits from options", () => {
    const delays = { failedGraceMs: 300, disconnectedTimeoutMs: 4000, relayDisconnectedTimeoutMs: 500 };
    expect(restartDelayMs("failed", true, delays)).toBe(300);
    expect(restartDelayMs("disconnected", true, delays)).toBe(500);
    expect(restartDelayMs("disconnected", false, delays)).toBe(4000);
  });
});

describe("recoveryAction", () => {
  const base: RecoveryContext = {
    polite: false,
    restartPending: false,
    requestPending: false,
    msSinceRemoteRestart: undefined,
    restartRequestTimeoutMs: 4000,
  };

  it("lets only the impolite side restart; the polite side asks", () => {
    expect(recoveryAction(base)).toEqual({ kind: "restart" });
    expect(recoveryAction({ ...base, polite: true })).toEqual({ kind: "request" });
  });

  it("never starts a second restart while one is pending, on either side", () => {
    expect(recoveryAction({ ...base, restartPending: true })).toEqual({ kind: "none" });
    expect(recoveryAction({ ...base, polite: true, restartPending: true })).toEqual({ kind: "none" });
  });

  it("does not ask twice, and waits out a restart the remote just made", () => {
    expect(recoveryAction({ ...base, polite: true, requestPending: true })).toEqual({ kind: "none" });
    expect(recoveryAction({ ...base, polite: true, msSinceRemoteRestart: 1500 })).toEqual({ kind: "await", fallbackInMs: 2500 });
    expect(recoveryAction({ ...base, polite: true, msSinceRemoteRestart: 4000 })).toEqual({ kind: "request" });
    // The impolite side does not wait for the remote: it is the one that restarts.
    expect(recoveryAction({ ...base, msSinceRemoteRestart: 100 })).toEqual({ kind: "restart" });
  });
});

describe("honoursRestartRequest", () => {
  it("restarts for the remote unless a restart of ours is already under way", () => {
    expect(honoursRestartRequest({ restartPending: false })).toBe(true);
    expect(honoursRestartRequest({ restartPending: true })).toBe(false);
  });
});
