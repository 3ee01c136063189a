import { describe, expect, it } from "vitest";
import { isPolite } from "./peer-connection.ts";
import { selectedCandidatePair, summarizeStats } from "./quality.ts";

type Stat = Record<string, unknown> & { id: string; type: string };

function report(...stats: Stat[]): Map<string, Stat> {
  return new Map(stats.map((stat) => [stat.id, stat]));
}

function relayCall(
  relayProtocol: string,
  counters: { bytesReceived: number; bytesSent: number; packetsReceived: number; packetsLost: number },
) {
  return report(
    { id: "T1", type: "transport", selectedCandidatePairId: "CP1" },
    {
      id: "CP1",
      type: "candidate-pair",
      localCandidateId: "L1",
      remoteCandidateId: "R1",
      currentRoundTripTime: 0.0234,
      state: "succeeded",
    },
    { id: "CP2", type: "candidate-pair", localCandidateId: "L2", remoteCandidateId: "R1", nominated: true, state: "succeeded" },
    {
      id: "L1",
      type: "local-candidate",
      candidateType: "relay",
      relayProtocol,
      protocol: "udp",
      url: "turn:turn-a.example:3478?transport=udp",
    },
    { id: "L2", type: "local-candidate", candidateType: "host", protocol: "udp" },
    { id: "R1", type: "remote-candidate", candidateType: "relay", protocol: "udp" },
    {
      id: "IV",
      type: "inbound-rtp",
      kind: "video",
      bytesReceived: counters.bytesReceived,
      packetsReceived: counters.packetsReceived,
      packetsLost: counters.packetsLost,
      jitter: 0.004,
      framesDecoded: 300,
      framesPerSecond: 29.5,
      frameWidth: 640,
      frameHeight: 360,
    },
    { id: "IA", type: "inbound-rtp", kind: "audio", bytesReceived: 0, packetsReceived: 0, packetsLost: 0, jitter: 0.012 },
    { id: "OV", type: "outbound-rtp", kind: "video", bytesSent: counters.bytesSent },
  );
}

describe("summarizeStats", () => {
  it("reads the selected pair through the transport, with relay transport and RTT", () => {
    for (const protocol of ["udp", "tcp", "tls"]) {
      const { report: quality } = summarizeStats(
        relayCall(protocol, { bytesReceived: 0, bytesSent: 0, packetsReceived: 0, packetsLost: 0 }),
        {
          peerId: "p2",
          connectionState: "connected",
          now: 1000,
        },
      );
      expect(quality).toMatchObject({
        peerId: "p2",
        path: "relay",
        localCandidateType: "relay",
        remoteCandidateType: "relay",
        relayProtocol: protocol,
        transport: "udp",
        relayUrl: "turn:turn-a.example:3478?transport=udp",
        rttMs: 23.4,
        jitterMs: 12,
        framesDecoded: 300,
        framesPerSecond: 29.5,
        frameWidth: 640,
      });
    }
  });

  it("turns counters into bitrates and loss over the interval", () => {
    const first = summarizeStats(relayCall("udp", { bytesReceived: 1000, bytesSent: 2000, packetsReceived: 100, packetsLost: 0 }), {
      peerId: "p2",
      connectionState: "connected",
      now: 10_000,
    });
    expect(first.report.inboundKbps).toBe(0);
    expect(first.report.packetLossPct).toBeUndefined();
    const second = summarizeStats(relayCall("udp", { bytesReceived: 126_000, bytesSent: 252_000, packetsReceived: 190, packetsLost: 10 }), {
      peerId: "p2",
      connectionState: "connected",
      now: 11_000,
      previous: first.counters,
    });
    expect(second.report.inboundKbps).toBe(1000);
    expect(second.report.outboundKbps).toBe(2000);
    expect(second.report.packetLossPct).toBe(10);
  });

  it("never reports a negative bitrate when a stream restarts", () => {
    const first = summarizeStats(relayCall("udp", { bytesReceived: 50_000, bytesSent: 50_000, packetsReceived: 100, packetsLost: 0 }), {
      peerId: "p",
      connectionState: "connected",
      now: 0,
    });
    const second = summarizeStats(relayCall("udp", { bytesReceived: 10, bytesSent: 10, packetsReceived: 1, packetsLost: 0 }), {
      peerId: "p",
      connectionState: "connected",
      now: 1000,
      previous: first.counters,
    });
    expect(second.report.inboundKbps).toBe(0);
    expect(second.report.outboundKbps).toBe(0);
  });

  it("reports a direct host↔srflx path without relay fields", () => {
    const stats = report(
      { id: "T", type: "transport", selectedCandidatePairId: "P" },
      { id: "P", type: "candidate-pair", localCandidateId: "L", remoteCandidateId: "R", currentRoundTripTime: 0.001 },
      { id: "L", type: "local-candidate", candidateType: "host", protocol: "udp" },
      { id: "R", type: "remote-candidate", candidateType: "srflx", protocol: "udp" },
    );
    const { report: quality } = summarizeStats(stats, { peerId: "p", connectionState: "connected", now: 0 });
    expect(quality.path).toBe("direct");
    expect(quality.relayProtocol).toBeUndefined();
    expect(quality.relayUrl).toBeUndefined();
    expect(quality.rttMs).toBe(1);
  });

  it("says unknown before any pair is selected", () => {
    const { report: quality, counters } = summarizeStats(report(), { peerId: "p", connectionState: "new", now: 0 });
    expect(quality).toMatchObject({ path: "unknown", inboundKbps: 0, outboundKbps: 0, framesDecoded: 0 });
    expect(counters.selectedPair).toBeUndefined();
  });

  it("keeps the selected pair's own counters (stall detection), not in the shared report", () => {
    const stats = relayCall("udp", { bytesReceived: 0, bytesSent: 0, packetsReceived: 0, packetsLost: 0 });
    Object.assign(stats.get("CP1")!, { bytesReceived: 8_000, requestsSent: 7, responsesReceived: 5, requestsReceived: 6 });
    const { report: quality, counters } = summarizeStats(stats, { peerId: "p", connectionState: "connected", now: 0 });
    expect(counters.selectedPair).toEqual({
      id: "CP1",
      relay: true,
      bytesReceived: 8_000,
      requestsSent: 7,
      responsesReceived: 5,
      requestsReceived: 6,
    });
    expect(quality).not.toHaveProperty("requestsSent");
  });
});

describe("selectedCandidatePair", () => {
  it("falls back to Firefox's `selected` flag, then to a nominated succeeded pair", () => {
    const firefox = report(
      { id: "A", type: "candidate-pair", nominated: true, state: "succeeded" },
      { id: "B", type: "candidate-pair", selected: true },
    );
    expect(selectedCandidatePair(firefox)?.id).toBe("B");
    const nominated = report(
      { id: "A", type: "candidate-pair", nominated: true, state: "in-progress" },
      { id: "C", type: "candidate-pair", nominated: true, state: "succeeded" },
    );
    expect(selectedCandidatePair(nominated)?.id).toBe("C");
  });
});

describe("isPolite", () => {
  it("makes exactly one side of every pair polite", () => {
    const ids = ["a", "B", "peer-1", "peer-10", "zz", "Zz"];
    for (const x of ids) for (const y of ids) if (x !== y) expect(isPolite(x, y)).toBe(!isPolite(y, x));
  });
});
