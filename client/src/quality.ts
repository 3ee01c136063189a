/**
 * Connection quality from WebRTC statistics (W3C webrtc-stats): the selected candidate pair's path
 * (host / srflx / prflx / relay, and for relay the transport to the TURN server), round-trip time,
 * jitter, packet loss, bitrates and decoded frames — sampled each second.
 */
import { Emitter } from "./emitter.ts";

/** ICE candidate types (RFC 8445 §5.1.1). */
export type CandidateType = "host" | "srflx" | "prflx" | "relay";

/** Transport between the browser and the TURN server for a relay candidate (webrtc-stats `relayProtocol`). */
export type RelayProtocol = "udp" | "tcp" | "tls";

/** One quality sample for the connection to one remote peer. Shared with the room as JSON. */
export interface QualityReport {
  /** The remote peer this report is about. */
  peerId: string;
  /** Local time (ms since epoch) of the sample. */
  at: number;
  /** RTCPeerConnection.connectionState when sampled. */
  connectionState: string;
  /** `relay` when either end of the selected pair is a relay candidate, `direct` otherwise, `unknown` with no pair. */
  path: "direct" | "relay" | "unknown";
  localCandidateType?: CandidateType;
  remoteCandidateType?: CandidateType;
  /** For a local relay candidate: how this browser reaches the TURN server. */
  relayProtocol?: RelayProtocol;
  /** Transport of the selected pair itself (`udp` or `tcp`). */
  transport?: string;
  /** For a local relay candidate: the TURN URL it was allocated from (maps it to a node). */
  relayUrl?: string;
  /** STUN round-trip time on the selected pair (`currentRoundTripTime`), in ms. */
  rttMs?: number;
  /** Largest inbound RTP jitter across tracks, in ms. */
  jitterMs?: number;
  /** Inbound packets lost during the last interval, in % of packets expected. */
  packetLossPct?: number;
  /** Inbound and outbound RTP payload bitrate over the last interval, in kbit/s. */
  inboundKbps: number;
  outboundKbps: number;
  /** Video frames decoded so far (cumulative), across inbound video tracks. */
  framesDecoded: number;
  /** Decoded frame rate of the inbound video, if any. */
  framesPerSecond?: number;
  /** Inbound video resolution, if any. */
  frameWidth?: number;
  frameHeight?: number;
}

/** What `summarizeStats` needs of an RTCStatsReport (a Map of stats objects works too, for tests). */
export interface StatsLike {
  get(id: string): unknown;
  values(): Iterable<unknown>;
}

/**
 * Counters of the selected candidate pair (webrtc-stats RTCIceCandidatePairStats): what tells a dead path
 * from a quiet one (see ice-recovery.ts). `bytesReceived` excludes connectivity checks; the check counters
 * count them.
 */
export interface PairCounters {
  /** The pair's stats id: it changes when another pair is selected (e.g. after an ICE restart). */
  id: string;
  /** Either end of the pair is a relay candidate. */
  relay: boolean;
  bytesReceived: number;
  /** Connectivity checks we sent, and the responses to them. */
  requestsSent: number;
  responsesReceived: number;
  /** Connectivity checks the remote sent us. */
  requestsReceived: number;
}

/** Running totals kept between samples to turn counters into rates. */
export interface StatsCounters {
  at: number;
  bytesReceived: number;
  bytesSent: number;
  packetsReceived: number;
  packetsLost: number;
  /** The selected pair's own counters, when there is a selected pair. */
  selectedPair?: PairCounters;
}

type Stat = Record<string, unknown> & { type?: string; id?: string };

const CANDIDATE_TYPES = new Set(["host", "srflx", "prflx", "relay"]);
const RELAY_PROTOCOLS = new Set(["udp", "tcp", "tls"]);

function num(value: unknown): number | undefined {
  return typeof value === "number" && Number.isFinite(value) ? value : undefined;
}

function str(value: unknown): string | undefined {
  return typeof value === "string" ? value : undefined;
}

/**
 * The selected candidate pair: the transport's `selectedCandidatePairId` (webrtc-stats §RTCTransportStats),
 * else a pair flagged `selected` (Firefox), else a nominated succeeded pair.
 */
export function selectedCandidatePair(stats: StatsLike): Stat | undefined {
  let fallback: Stat | undefined;
  for (const value of stats.values()) {
    const stat = value as Stat;
    if (stat.type === "transport" && typeof stat.selectedCandidatePairId === "string") {
      const pair = stats.get(stat.selectedCandidatePairId) as Stat | undefined;
      if (pair) return pair;
    }
    if (stat.type === "candidate-pair") {
      if (stat.selected === true) fallback = stat;
      else if (!fallback && stat.nominated === true && stat.state === "succeeded") fallback = stat;
    }
  }
  return fallback;
}

/**
 * Turns one getStats() report into a QualityReport. `previous` holds the counters of the last sample
 * (rates need two); the new counters are returned for the next call.
 */
export function summarizeStats(
  stats: StatsLike,
  context: { peerId: string; connectionState: string; now: number; previous?: StatsCounters },
): { report: QualityReport; counters: StatsCounters } {
  const report: QualityReport = {
    peerId: context.peerId,
    at: context.now,
    connectionState: context.connectionState,
    path: "unknown",
    inboundKbps: 0,
    outboundKbps: 0,
    framesDecoded: 0,
  };
  const pair = selectedCandidatePair(stats);
  if (pair) {
    const local = stats.get(str(pair.localCandidateId) ?? "") as Stat | undefined;
    const remote = stats.get(str(pair.remoteCandidateId) ?? "") as Stat | undefined;
    const localType = str(local?.candidateType);
    const remoteType = str(remote?.candidateType);
    if (localType && CANDIDATE_TYPES.has(localType)) report.localCandidateType = localType as CandidateType;
    if (remoteType && CANDIDATE_TYPES.has(remoteType)) report.remoteCandidateType = remoteType as CandidateType;
    report.path = localType === "relay" || remoteType === "relay" ? "relay" : localType || remoteType ? "direct" : "unknown";
    const relayProtocol = str(local?.relayProtocol);
    if (localType === "relay" && relayProtocol && RELAY_PROTOCOLS.has(relayProtocol)) report.relayProtocol = relayProtocol as RelayProtocol;
    const relayUrl = str(local?.url);
    if (localType === "relay" && relayUrl) report.relayUrl = relayUrl;
    const transport = str(local?.protocol);
    if (transport) report.transport = transport;
    const rtt = num(pair.currentRoundTripTime);
    if (rtt !== undefined) report.rttMs = round(rtt * 1000, 1);
  }

  const counters: StatsCounters = { at: context.now, bytesReceived: 0, bytesSent: 0, packetsReceived: 0, packetsLost: 0 };
  const pairId = str(pair?.id);
  if (pair && pairId) {
    counters.selectedPair = {
      id: pairId,
      relay: report.path === "relay",
      bytesReceived: num(pair.bytesReceived) ?? 0,
      requestsSent: num(pair.requestsSent) ?? 0,
      responsesReceived: num(pair.responsesReceived) ?? 0,
      requestsReceived: num(pair.requestsReceived) ?? 0,
    };
  }
  let jitter: number | undefined;
  for (const value of stats.values()) {
    const stat = value as Stat;
    if (stat.type === "inbound-rtp") {
      counters.bytesReceived += num(stat.bytesReceived) ?? 0;
      counters.packetsReceived += num(stat.packetsReceived) ?? 0;
      counters.packetsLost += Math.max(0, num(stat.packetsLost) ?? 0);
      const statJitter = num(stat.jitter);
      if (statJitter !== undefined) jitter = Math.max(jitter ?? 0, statJitter);
      if (stat.kind === "video") {
        report.framesDecoded += num(stat.framesDecoded) ?? 0;
        const fps = num(stat.framesPerSecond);
        if (fps !== undefined) report.framesPerSecond = Math.max(report.framesPerSecond ?? 0, fps);
        const width = num(stat.frameWidth);
        const height = num(stat.frameHeight);
        if (width !== undefined && height !== undefined) {
          report.frameWidth = width;
          report.frameHeight = height;
        }
      }
    } else if (stat.type === "outbound-rtp") {
      counters.bytesSent += num(stat.bytesSent) ?? 0;
    }
  }
  if (jitter !== undefined) report.jitterMs = round(jitter * 1000, 1);

  const previous = context.previous;
  const seconds = previous ? (counters.at - previous.at) / 1000 : 0;
  if (previous && seconds > 0) {
    // Counters restart when a transceiver is replaced; a negative delta means "new stream", not negative bitrate.
    report.inboundKbps = round((Math.max(0, counters.bytesReceived - previous.bytesReceived) * 0.008) / seconds, 1);
    report.outboundKbps = round((Math.max(0, counters.bytesSent - previous.bytesSent) * 0.008) / seconds, 1);
    const received = counters.packetsReceived - previous.packetsReceived;
    const lost = counters.packetsLost - previous.packetsLost;
    if (received >= 0 && lost >= 0 && received + lost > 0) report.packetLossPct = round((lost / (received + lost)) * 100, 2);
  }
  return { report, counters };
}

function round(value: number, digits: number): number {
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
}

/** Events of a QualityMonitor. */
export interface QualityMonitorEvents {
  [key: string]: unknown;
  report: QualityReport;
}

/** Options of a QualityMonitor. */
export interface QualityMonitorOptions {
  /** Sampling period in ms (default 1 000). */
  intervalMs?: number;
}

/** Samples one RTCPeerConnection's stats every second and emits a QualityReport each time. */
export class QualityMonitor extends Emitter<QualityMonitorEvents> {
  readonly #pc: RTCPeerConnection;
  readonly #peerId: string;
  readonly #intervalMs: number;
  #timer: ReturnType<typeof setInterval> | undefined;
  #counters: StatsCounters | undefined;
  #latest: QualityReport | undefined;
  #sampling = false;

  constructor(pc: RTCPeerConnection, peerId: string, options: QualityMonitorOptions = {}) {
    super();
    this.#pc = pc;
    this.#peerId = peerId;
    this.#intervalMs = options.intervalMs ?? 1000;
  }

  /** The most recent report. */
  get latest(): QualityReport | undefined {
    return this.#latest;
  }

  /** The counters of the most recent sample (set before its `report` event is emitted). */
  get counters(): StatsCounters | undefined {
    return this.#counters;
  }

  /** Starts sampling. Idempotent. */
  start(): void {
    this.#timer ??= setInterval(() => void this.sample(), this.#intervalMs);
  }

  /** Stops sampling. */
  stop(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** Takes one sample now and emits it; resolves with it (undefined if the connection is closed). */
  async sample(): Promise<QualityReport | undefined> {
    if (this.#sampling || this.#pc.connectionState === "closed") return undefined;
    this.#sampling = true;
    try {
      const stats = await this.#pc.getStats();
      const { report, counters } = summarizeStats(stats, {
        peerId: this.#peerId,
        connectionState: this.#pc.connectionState,
        now: Date.now(),
        previous: this.#counters,
      });
      this.#counters = counters;
      this.#latest = report;
      this.emit("report", report);
      return report;
    } catch {
      // getStats rejects once the connection closes; the next sample (if any) tries again.
      return undefined;
    } finally {
      this.#sampling = false;
    }
  }
}
