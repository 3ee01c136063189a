/**
 * The three systems under test and how a client speaks to each — the only per-target code in the harness:
 * - room:   the real worker, `GET /v1/rooms/:room/ws?token=` (docs/protocol.md): `signal` / `broadcast` frames,
 *           delivered with `from` and a per-recipient `seq` that the client acknowledges cumulatively;
 * - bare:   BareRelay (bare-relay.ts), `GET /bench/bare/:room/ws?peer=`: the same client frames, forwarded
 *           verbatim; no seq, no acks;
 * - peerjs: PeerJS server 1.0.2, `GET /peerjs?key=&id=&token=`: `{"type":"CANDIDATE","dst","payload"}`,
 *           delivered as `{"type":"CANDIDATE","src","dst","payload"}` (node_modules/peer/dist/module.mjs,
 *           MessageHandler → transmission handler). No rooms and no broadcast: a broadcast is one unicast per peer.
 */
import { randomBytes } from "node:crypto";
import { mintRoomToken } from "../../protocol/room-token.ts";

/** Target names, in report order. */
export const TARGET_NAMES = ["room", "bare", "peerjs"] as const;
export type TargetName = (typeof TARGET_NAMES)[number];

/** Human labels for the table. */
export const TARGET_LABELS: Record<TargetName, string> = {
  room: "Room DO (real worker)",
  bare: "BareRelay DO (floor)",
  peerjs: "PeerJS server (reference)",
};

/** A realistic signaling payload: one trickled ICE candidate (RFC 8839 §5.1 syntax), ~150 bytes of JSON. */
const CANDIDATE = {
  candidate: "candidate:842163049 1 udp 1677729535 203.0.113.7 46154 typ srflx raddr 10.0.0.2 rport 46154 generation 0 ufrag EsAw",
  sdpMid: "0",
  sdpMLineIndex: 0,
};

/** What every bench frame carries: the sending stream `s`, the frame index `i`, and the candidate. */
export interface BenchData {
  s: number;
  i: number;
  c: typeof CANDIDATE;
}

/** The bench payload for stream `s`, frame `i`. */
export function benchData(s: number, i: number): BenchData {
  return { s, i, c: CANDIDATE };
}

/** An inbound frame, parsed. */
export type Frame = Record<string, unknown>;

/** How a client talks to one target. */
export interface Dialect {
  /** A TargetName, or `ablation:<mode>` for ablation.ts. */
  name: string;
  /** The socket URL for client `index` of `group` (a room, or a PeerJS id prefix). */
  url(group: string, index: number): Promise<string>;
  /** The client's peer id from its first frame (and its URL); throws with the server's reason when it is a refusal. */
  peerIdFromWelcome(frame: Frame, url: string): string;
  /** The frame text that sends `data` to peer `to`. */
  signal(to: string, data: BenchData): string;
  /** The frame texts a sender writes for one broadcast to `others`. */
  broadcast(data: BenchData, others: readonly string[]): string[];
  /** The bench payload an inbound frame carries, if any. */
  payload(frame: Frame): BenchData | undefined;
  /** True when the frame is the server refusing something (an error frame). */
  isError(frame: Frame): boolean;
  /** Room only: durable frames carry `seq` and the client acks them, and pings to stay "alive". */
  acknowledges: boolean;
}

/** The Room dialect; mints one room token per client with the run's secret. */
export function roomDialect(baseUrl: string, secret: string): Dialect {
  const wsBase = baseUrl.replace(/^http/, "ws");
  return {
    name: "room",
    async url(group, index) {
      const token = await mintRoomToken(secret, { room: group, userId: `bench-${index}`, ttlSeconds: 3600 });
      return `${wsBase}/v1/rooms/${group}/ws?token=${token}`;
    },
    peerIdFromWelcome(frame) {
      if (frame.type === "welcome" && typeof frame.peerId === "string") return frame.peerId;
      throw new Error(`room refused the join: ${JSON.stringify(frame).slice(0, 200)}`);
    },
    signal: (to, data) => JSON.stringify({ type: "signal", to, data }),
    broadcast: (data) => [JSON.stringify({ type: "broadcast", data })],
    payload: relayedData,
    isError: (frame) => frame.type === "error",
    acknowledges: true,
  };
}

/** The BareRelay dialect: the Room's client frames, peer ids chosen by the client. */
export function bareDialect(baseUrl: string): Dialect {
  const wsBase = baseUrl.replace(/^http/, "ws");
  return {
    name: "bare",
    url: async (group, index) => `${wsBase}/bench/bare/${group}/ws?peer=p${index}`,
    peerIdFromWelcome(frame) {
      if (frame.type === "welcome" && typeof frame.peerId === "string") return frame.peerId;
      throw new Error(`bare relay sent no welcome: ${JSON.stringify(frame).slice(0, 200)}`);
    },
    signal: (to, data) => JSON.stringify({ type: "signal", to, data }),
    broadcast: (data) => [JSON.stringify({ type: "broadcast", data })],
    payload: relayedData,
    isError: () => false,
    acknowledges: false,
  };
}

/**
 * AblationRelay (ablation-relay.ts) with the Room pieces in `mode` switched on (e.g. "validate,reserialize"):
 * the Room's client frames; with "reserialize" frames carry a seq and the client acks like a Room client.
 */
export function ablationDialect(baseUrl: string, mode: string): Dialect {
  const wsBase = baseUrl.replace(/^http/, "ws");
  return {
    name: `ablation:${mode || "none"}`,
    url: async (group, index) => `${wsBase}/bench/ablation/${group}/ws?peer=p${index}&mode=${mode}`,
    peerIdFromWelcome(frame) {
      if (frame.type === "welcome" && typeof frame.peerId === "string") return frame.peerId;
      throw new Error(`ablation relay sent no welcome: ${JSON.stringify(frame).slice(0, 200)}`);
    },
    signal: (to, data) => JSON.stringify({ type: "signal", to, data }),
    broadcast: (data) => [JSON.stringify({ type: "broadcast", data })],
    payload: relayedData,
    isError: () => false,
    acknowledges: mode.split(",").includes("reserialize"),
  };
}

/** The PeerJS dialect: ids are `<group>-<index>`, each client with a random PeerJS token. */
export function peerJsDialect(port: number, key: string): Dialect {
  return {
    name: "peerjs",
    async url(group, index) {
      const id = `${group}-${index}`;
      return `ws://127.0.0.1:${port}/peerjs?key=${key}&id=${id}&token=${randomBytes(6).toString("hex")}`;
    },
    peerIdFromWelcome(frame, url) {
      // PeerJS answers a registration with a bare OPEN; the id is the one the client chose in its URL.
      if (frame.type === "OPEN") return new URL(url).searchParams.get("id") ?? "";
      throw new Error(`PeerJS refused the client: ${JSON.stringify(frame).slice(0, 200)}`);
    },
    signal: (to, data) => JSON.stringify({ type: "CANDIDATE", dst: to, payload: data }),
    broadcast: (data, others) => others.map((to) => JSON.stringify({ type: "CANDIDATE", dst: to, payload: data })),
    payload: (frame) => (frame.type === "CANDIDATE" ? (frame.payload as BenchData) : undefined),
    isError: (frame) => frame.type === "ERROR" || frame.type === "EXPIRE" || frame.type === "ID-TAKEN",
    acknowledges: false,
  };
}

/** `data` of a relayed `signal` or `broadcast` frame (Room and BareRelay alike). */
function relayedData(frame: Frame): BenchData | undefined {
  return frame.type === "signal" || frame.type === "broadcast" ? (frame.data as BenchData) : undefined;
}
