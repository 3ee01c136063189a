/**
 * Who restarts ICE, and when, driven through PeerConnection with a scripted RTCPeerConnection (Node has no
 * WebRTC). Real Chromium is exercised by test/e2e/failover.test.ts; this pins the protocol between the two
 * sides: the polite side asks, the impolite side restarts, the polite side restarts only as a fallback.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { IceConfig, IceConfigProvider } from "./ice.ts";
import { isPolite, PeerConnection, type PeerConnectionOptions, type PeerSignal } from "./peer-connection.ts";

const TURN_URL = "turn:127.0.0.1:3503?transport=udp";

/** The counters of the selected pair the scripted stats report. */
interface PairState {
  id: string;
  bytesReceived: number;
  requestsSent: number;
  responsesReceived: number;
  requestsReceived: number;
}

/** Just enough of RTCPeerConnection for PeerConnection's negotiation and ICE-health code. */
class ScriptedPeerConnection {
  static last: ScriptedPeerConnection | undefined;
  connectionState: RTCPeerConnectionState = "new";
  iceConnectionState: RTCIceConnectionState = "new";
  signalingState: RTCSignalingState = "stable";
  localDescription: { type: RTCSdpType; sdp: string; toJSON(): RTCSessionDescriptionInit } | null = null;
  onnegotiationneeded: (() => void) | null = null;
  onicecandidate: unknown = null;
  ontrack: unknown = null;
  onicecandidateerror: unknown = null;
  onconnectionstatechange: (() => void) | null = null;
  oniceconnectionstatechange: (() => void) | null = null;
  onsignalingstatechange: (() => void) | null = null;
  restartIceCalls = 0;
  configuration: RTCConfiguration;
  pair: PairState = { id: "CP1", bytesReceived: 0, requestsSent: 0, responsesReceived: 0, requestsReceived: 0 };

  constructor(configuration: RTCConfiguration) {
    this.configuration = configuration;
    ScriptedPeerConnection.last = this;
  }

  getConfiguration(): RTCConfiguration {
    return this.configuration;
  }

  setConfiguration(configuration: RTCConfiguration): void {
    this.configuration = configuration;
  }

  restartIce(): void {
    this.restartIceCalls++;
    queueMicrotask(() => this.onnegotiationneeded?.());
  }

  async setLocalDescription(): Promise<void> {
    const type: RTCSdpType = this.signalingState === "have-remote-offer" ? "answer" : "offer";
    const sdp = `v=0 ${type} ${this.restartIceCalls}`;
    this.localDescription = { type, sdp, toJSON: () => ({ type, sdp }) };
    this.#setSignalingState(type === "offer" ? "have-local-offer" : "stable");
  }

  async setRemoteDescription(description: RTCSessionDescriptionInit): Promise<void> {
    this.#setSignalingState(description.type === "offer" ? "have-remote-offer" : "stable");
  }

  async addIceCandidate(): Promise<void> {}

  getSenders(): RTCRtpSender[] {
    return [];
  }

  createDataChannel(): RTCDataChannel {
    return {} as RTCDataChannel;
  }

  close(): void {
    this.connectionState = "closed";
  }

  setStates(connectionState: RTCPeerConnectionState, iceConnectionState: RTCIceConnectionState): void {
    this.connectionState = connectionState;
    this.iceConnectionState = iceConnectionState;
    this.onconnectionstatechange?.();
  }

  async getStats(): Promise<Map<string, Record<string, unknown>>> {
    const stats: Record<string, unknown>[] = [
      { id: "T1", type: "transport", selectedCandidatePairId: this.pair.id },
      { type: "candidate-pair", localCandidateId: "L1", remoteCandidateId: "R1", state: "succeeded", ...this.pair },
      { id: "L1", type: "local-candidate", candidateType: "relay", relayProtocol: "udp", protocol: "udp", url: TURN_URL },
      { id: "R1", type: "remote-candidate", candidateType: "relay", protocol: "udp" },
    ];
    return new Map(stats.map((stat) => [String(stat.id), stat]));
  }

  #setSignalingState(state: RTCSignalingState): void {
    this.signalingState = state;
    this.onsignalingstatechange?.();
  }
}

function iceConfig(nodeId: string): IceConfig {
  return {
    iceServers: [{ urls: [TURN_URL], username: "u", credential: "c" }],
    ttl: 3600,
    nodeId,
    fetchedAt: Date.now(),
    renewAt: Date.now() + 3_000_000,
    expiresAtMs: Date.now() + 3_600_000,
  } as IceConfig;
}

/** An IceConfigProvider stand-in that records `renew({ exclude })` calls. */
function fakeIce() {
  const renewals: (readonly string[])[] = [];
  let current = iceConfig("node-a");
  const provider = {
    get current() {
      return current;
    },
    on: () => () => {},
    renew: async (options: { exclude?: string | readonly string[] } = {}) => {
      const exclude = typeof options.exclude === "string" ? [options.exclude] : (options.exclude ?? []);
      renewals.push(exclude);
      current = iceConfig(exclude.includes("node-a") ? "node-b" : "node-a");
      return current;
    },
  };
  return { provider: provider as unknown as IceConfigProvider, renewals };
}

/** A connected relay-only PeerConnection on `node-a`, with quality samples flowing. */
async function connected(options: { polite: boolean } & Partial<PeerConnectionOptions>) {
  const sent: PeerSignal[] = [];
  const { provider, renewals } = fakeIce();
  const [localPeerId, remotePeerId] = options.polite ? ["aaa", "zzz"] : ["zzz", "aaa"];
  expect(isPolite(localPeerId, remotePeerId)).toBe(options.polite);
  const connection = new PeerConnection({
    localPeerId,
    remotePeerId,
    sendSignal: (signal) => sent.push(signal),
    ice: provider,
    forceRelay: true,
    dataChannel: false,
    initialOfferTimeoutMs: 60_000,
    ...options,
  });
  const pc = ScriptedPeerConnection.last!;
  const restarts: string[] = [];
  const requests: string[] = [];
  connection.on("restart", ({ reason }) => restarts.push(reason));
  connection.on("restart-request", ({ reason }) => requests.push(reason));
  pc.setStates("connected", "connected");
  // A few healthy seconds: media arrives, checks are answered.
  for (let second = 0; second < 3; second++) {
    pc.pair.bytesReceived += 50_000;
    pc.pair.requestsSent++;
    pc.pair.responsesReceived++;
    await vi.advanceTimersByTimeAsync(1000);
  }
  sent.length = 0;
  return { connection, pc, sent, restarts, requests, renewals };
}

/**
 * The TURN node dies: nothing arrives any more, and Chromium's checks go unanswered. One quality sample per
 * second; the last healthy sample was taken just before, so the second silent sample spans 2 s of silence.
 */
async function killRelay(pc: ScriptedPeerConnection, seconds: number): Promise<void> {
  for (let second = 0; second < seconds; second++) {
    pc.pair.requestsSent += 4;
    await vi.advanceTimersByTimeAsync(1000);
  }
}

const restartRequests = (sent: PeerSignal[]) => sent.filter((signal) => "restartRequest" in signal);
const offers = (sent: PeerSignal[]) => sent.filter((signal) => "description" in signal && signal.description.type === "offer");

beforeEach(() => {
  vi.useFakeTimers();
  vi.stubGlobal("RTCPeerConnection", ScriptedPeerConnection);
});

afterEach(() => {
  vi.unstubAllGlobals();
  vi.useRealTimers();
});

describe("PeerConnection ICE recovery", () => {
  it("impolite side: restarts ICE itself once two samples in a row saw nothing, excluding its node", async () => {
    const { connection, pc, sent, restarts, requests, renewals } = await connected({ polite: false });
    await killRelay(pc, 1);
    expect(restarts).toEqual([]);
    await killRelay(pc, 1);
    expect(restarts).toHaveLength(1);
    expect(restarts[0]).toMatch(/relay path silent/);
    expect(requests).toEqual([]);
    expect(renewals).toContainEqual(["node-a"]);
    expect(pc.restartIceCalls).toBe(1);
    expect(offers(sent)).toHaveLength(1);
    expect(offers(sent)[0]).toMatchObject({ restart: { excludedNodeId: "node-a" } });
    expect(restartRequests(sent)).toEqual([]);
    // Still silent on the same dead pair: no second restart while the first is pending.
    await killRelay(pc, 3);
    expect(pc.restartIceCalls).toBe(1);
    connection.close();
  });

  it("polite side: asks the remote to restart, prefetches config, and does not offer itself", async () => {
    const { connection, pc, sent, restarts, requests, renewals } = await connected({ polite: true });
    await killRelay(pc, 4);
    expect(requests).toHaveLength(1);
    expect(restartRequests(sent)).toEqual([
      { restartRequest: { reason: expect.stringMatching(/relay path silent/), excludedNodeId: "node-a" } },
    ]);
    expect(renewals).toContainEqual(["node-a"]);
    expect(restarts).toEqual([]);
    expect(pc.restartIceCalls).toBe(0);
    // The impolite side's restart offer arrives: answered, and our fallback is off.
    await connection.handleSignal({
      description: { type: "offer", sdp: "v=0 restart" },
      restart: { reason: "x", excludedNodeId: "node-a" },
    });
    expect(sent.some((signal) => "description" in signal && signal.description.type === "answer")).toBe(true);
    pc.pair = { id: "CP2", bytesReceived: 0, requestsSent: 1, responsesReceived: 1, requestsReceived: 1 };
    await vi.advanceTimersByTimeAsync(10_000);
    expect(pc.restartIceCalls).toBe(0);
    expect(restartRequests(sent)).toHaveLength(1);
    connection.close();
  });

  it("polite side: restarts itself when no restart offer came within restartRequestTimeoutMs", async () => {
    const { connection, pc, sent, restarts } = await connected({ polite: true, restartRequestTimeoutMs: 3000 });
    await killRelay(pc, 2);
    expect(restartRequests(sent)).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(2900);
    expect(pc.restartIceCalls).toBe(0);
    await vi.advanceTimersByTimeAsync(200);
    expect(pc.restartIceCalls).toBe(1);
    expect(restarts[0]).toMatch(/no restart from aaa|no restart from zzz/);
    expect(offers(sent)).toHaveLength(1);
    connection.close();
  });

  it("impolite side: restarts for the remote's request, once, with the node it names", async () => {
    const { connection, pc, sent, restarts, renewals } = await connected({ polite: false });
    await connection.handleSignal({ restartRequest: { reason: "relay path silent for 2.0 s", excludedNodeId: "node-a" } });
    await vi.advanceTimersByTimeAsync(10);
    expect(restarts).toHaveLength(1);
    expect(restarts[0]).toMatch(/asked by aaa/);
    expect(renewals).toContainEqual(["node-a"]);
    expect(offers(sent)[0]).toMatchObject({ restart: { excludedNodeId: "node-a" } });
    // A second request (the polite side's own detection racing with our offer) does not restart again.
    await connection.handleSignal({ restartRequest: { reason: "disconnected too long", excludedNodeId: "node-a" } });
    await vi.advanceTimersByTimeAsync(10);
    expect(pc.restartIceCalls).toBe(1);
    connection.close();
  });

  it("leaves a healthy but quiet call alone (consent checks still answered)", async () => {
    const { connection, pc, sent, restarts } = await connected({ polite: false });
    for (let second = 0; second < 20; second++) {
      pc.pair.requestsSent++;
      if (second % 2 === 0) pc.pair.responsesReceived = pc.pair.requestsSent;
      await vi.advanceTimersByTimeAsync(1000);
    }
    expect(restarts).toEqual([]);
    expect(sent).toEqual([]);
    connection.close();
  });

  it("acts on 'disconnected' after 1 s on a relay path (stall detection off)", async () => {
    const { connection, pc, restarts } = await connected({ polite: false, stallTimeoutMs: 0 });
    await killRelay(pc, 5);
    expect(restarts).toEqual([]);
    pc.setStates("disconnected", "disconnected");
    await vi.advanceTimersByTimeAsync(990);
    expect(restarts).toEqual([]);
    await vi.advanceTimersByTimeAsync(20);
    expect(restarts).toEqual(["disconnected too long"]);
    connection.close();
  });

  it("counts a new selected pair with traffic as recovered: a later failure restarts again", async () => {
    const { connection, pc, restarts } = await connected({ polite: false });
    await killRelay(pc, 4);
    expect(restarts).toHaveLength(1);
    pc.pair = { id: "CP2", bytesReceived: 1000, requestsSent: 2, responsesReceived: 2, requestsReceived: 2 };
    for (let second = 0; second < 3; second++) {
      pc.pair.bytesReceived += 50_000;
      await vi.advanceTimersByTimeAsync(1000);
    }
    await killRelay(pc, 4);
    expect(restarts).toHaveLength(2);
    connection.close();
  });
});
