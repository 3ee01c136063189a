/**
 * A small facade for a full-mesh call: one Room, one IceConfigProvider, one PeerConnection per remote
 * peer, and quality reports shared with the room each second. The demo page and the browser tests use it;
 * apps with other topologies can compose Room, IceConfigProvider and PeerConnection themselves.
 */
import type { Metadata } from "../../protocol/messages.ts";
import { SwitchboardError } from "./client-error.ts";
import { Emitter } from "./emitter.ts";
import { type IceConfig, IceConfigProvider } from "./ice.ts";
import { PeerConnection, type PeerConnectionOptions, type PeerSignal } from "./peer-connection.ts";
import type { QualityReport } from "./quality.ts";
import { Room, type RoomOptions, type RoomPeer, type RoomState, type RoomWelcome } from "./room.ts";
import type { TokenSource } from "./token-source.ts";

/** Options of `joinCall`. */
export interface JoinCallOptions {
  /** Worker origin (the demo uses `location.origin`). */
  baseUrl: string;
  /** Room name. */
  room: string;
  /** Room token, or a function returning a fresh one. Also authorises `/v1/ice`. */
  token: TokenSource;
  /** Camera/microphone (or any) stream sent to every peer. Omit to only receive. */
  localStream?: MediaStream;
  /** Relay-only: every connection goes through TURN (`iceTransportPolicy: "relay"`). */
  forceRelay?: boolean;
  /** Metadata announced to the room after joining (e.g. `{ name: "Ada" }`). */
  metadata?: Metadata;
  /** A custom ICE config source (default: `/v1/ice` of baseUrl with the room token). */
  ice?: IceConfigProvider;
  /** Share each connection's quality with the room every second (default true). */
  shareQuality?: boolean;
  /** Extra Room options (backoff, ack batching, …). */
  roomOptions?: Partial<Omit<RoomOptions, "baseUrl" | "room" | "token">>;
  /** Extra PeerConnection options (timeouts, rtcConfiguration, …). */
  peerOptions?: Partial<
    Pick<
      PeerConnectionOptions,
      | "disconnectedTimeoutMs"
      | "relayDisconnectedTimeoutMs"
      | "stallTimeoutMs"
      | "restartRequestTimeoutMs"
      | "failedGraceMs"
      | "restartTimeoutMs"
      | "maxRestarts"
      | "offerTimeoutMs"
      | "initialOfferTimeoutMs"
      | "qualityIntervalMs"
      | "rtcConfiguration"
    >
  >;
}

/** A remote participant of a call. */
export interface CallPeer {
  peerId: string;
  /** Presence info from the room (name, userId, metadata). */
  info: RoomPeer | undefined;
  /** Connection generation: bumped when either side rebuilds the connection (relay switch). */
  epoch: number;
  /** The current connection (replaced on a reset). */
  connection: PeerConnection;
  /** Every remote track of this peer, in one stream (attach to a <video>). */
  stream: MediaStream;
  /** Our latest quality sample of the connection to this peer. */
  quality: QualityReport | undefined;
  /** This peer's own latest samples, as it shared them with the room (keyed by the peer each is about). */
  sharedQuality: Map<string, QualityReport>;
}

/** Events of a Call. Per-peer events carry `peerId`. */
export interface CallEvents {
  [key: string]: unknown;
  welcome: RoomWelcome;
  "room-state": RoomState;
  "peer-joined": CallPeer;
  "peer-updated": CallPeer;
  /** The connection to this peer was rebuilt (relay switch on either side): expect new tracks. */
  "peer-reset": CallPeer;
  "peer-reconnecting": { peerId: string };
  "peer-resumed": { peerId: string };
  "peer-left": { peerId: string; reason: string };
  track: { peerId: string; track: MediaStreamTrack; stream: MediaStream };
  state: { peerId: string; connectionState: RTCPeerConnectionState; iceConnectionState: RTCIceConnectionState };
  /** Our own measurement of the connection to `peerId`. */
  quality: QualityReport;
  /** Quality reports another peer shared: `from` measured its connections to `reports[i].peerId`. */
  "remote-quality": { from: string; reports: QualityReport[] };
  restart: { peerId: string; reason: string; excludedNodeId?: string; attempt: number };
  /** We found the path to `peerId` broken and asked that (impolite) peer to restart ICE. */
  "restart-request": { peerId: string; reason: string; excludedNodeId?: string };
  message: { peerId: string; data: unknown };
  /** A non-fatal problem to show: `no_turn_nodes`, `ice_unavailable`, `turn_unreachable`, `turn_refused`. */
  warning: { code: string; message: string };
  error: SwitchboardError & { peerId?: string };
}

/**
 * What a Call puts in room signals: a PeerSignal tagged with the connection epoch, or a bare reset
 * (`{ epoch, reset: true }`) telling the other side to rebuild its connection at that epoch.
 */
export type CallSignal = (PeerSignal & { epoch: number }) | { epoch: number; reset: true };

/** The shape of the `report` of the quality frames a Call shares. */
export interface SharedQuality {
  reports: QualityReport[];
}

/** Joins `room` and connects to every other peer; resolves once the room welcomed us. */
export async function joinCall(options: JoinCallOptions): Promise<Call> {
  const call = new Call(options);
  await call.start();
  return call;
}

/** A running full-mesh call. Create with `joinCall`. */
export class Call extends Emitter<CallEvents> {
  readonly room: Room;
  readonly ice: IceConfigProvider;
  readonly peers = new Map<string, CallPeer>();
  readonly #options: JoinCallOptions;
  readonly #warnings = new Map<string, string>();
  #forceRelay: boolean;
  #localStream: MediaStream | undefined;
  #shareTimer: ReturnType<typeof setInterval> | undefined;
  #left = false;

  /** Prefer `joinCall`; the constructor does not connect. */
  constructor(options: JoinCallOptions) {
    super();
    this.#options = options;
    this.#forceRelay = options.forceRelay ?? false;
    this.#localStream = options.localStream;
    this.ice = options.ice ?? new IceConfigProvider({ baseUrl: options.baseUrl, token: options.token, room: options.room });
    this.room = new Room({ ...options.roomOptions, baseUrl: options.baseUrl, room: options.room, token: options.token });
    this.#wireRoom();
    this.ice.on("warning", ({ code }) => this.#warn(code, iceWarningMessage(code)));
    this.ice.on("error", (error) => {
      if (error.code === "no_turn_nodes") this.#warn("no_turn_nodes", iceWarningMessage("no_turn_nodes"));
      else this.#warn("ice_unavailable", `could not renew TURN credentials: ${error.message}`);
    });
  }

  /** Warnings raised so far (each code once), for views created after they fired. */
  get warnings(): { code: string; message: string }[] {
    return [...this.#warnings].map(([code, message]) => ({ code, message }));
  }

  /** Our peer id in the room. */
  get peerId(): string | undefined {
    return this.room.peerId;
  }

  /** Whether connections are relay-only. */
  get forceRelay(): boolean {
    return this.#forceRelay;
  }

  /** The local stream sent to peers. */
  get localStream(): MediaStream | undefined {
    return this.#localStream;
  }

  /** Fetches ICE config, then connects to the room. Called by `joinCall`. */
  async start(): Promise<void> {
    try {
      await this.ice.get();
    } catch (error) {
      // Without /v1/ice the call can still connect directly (host/srflx); say so instead of failing.
      if (error instanceof SwitchboardError && error.code === "no_turn_nodes")
        this.#warn("no_turn_nodes", iceWarningMessage("no_turn_nodes"));
      else
        this.#warn(
          "ice_unavailable",
          `could not get TURN credentials (${String(error instanceof Error ? error.message : error)}); only direct connections can work`,
        );
      if (error instanceof SwitchboardError && (error.status === 401 || error.status === 403)) throw error;
    }
    this.ice.start();
    if (this.#options.metadata) this.room.setMetadata(this.#options.metadata);
    try {
      await this.room.connect();
    } catch (error) {
      this.#stop();
      throw error;
    }
    if (this.#options.shareQuality ?? true) this.#shareTimer = setInterval(() => this.#shareQuality(), 1000);
  }

  /**
   * Switches every connection to relay-only (or back): each connection is rebuilt with the new policy and
   * negotiated afresh; the other side rebuilds its end too (peers see `peer-reset`, not a leave/join).
   */
  setForceRelay(forceRelay: boolean): void {
    if (this.#forceRelay === forceRelay) return;
    this.#forceRelay = forceRelay;
    // An ICE restart would not do: Chromium keeps using the previous generation's working host pair after
    // restartIce() whatever the new iceTransportPolicy. Both ends start a fresh connection instead: the
    // reset signal carries a higher epoch, the other side rebuilds its connection to us on seeing it.
    for (const peer of this.peers.values()) {
      const epoch = peer.epoch + 1;
      this.#resetPeer(peer, epoch);
      this.room.signal(peer.peerId, { epoch, reset: true } satisfies CallSignal);
    }
  }

  /** Sends `data` on the data channel to one peer, or to all when `peerId` is omitted; returns how many got it. */
  send(data: string, peerId?: string): number {
    let sent = 0;
    for (const peer of this.peers.values()) {
      if (peerId !== undefined && peer.peerId !== peerId) continue;
      if (peer.connection.send(data)) sent++;
    }
    return sent;
  }

  /** The raw RTCStatsReport of the connection to `peerId`. */
  getStats(peerId: string): Promise<RTCStatsReport> {
    const peer = this.peers.get(peerId);
    if (!peer) return Promise.reject(new SwitchboardError("unknown_peer", `no peer ${peerId} in this call`));
    return peer.connection.pc.getStats();
  }

  /** Samples every connection now and returns the reports (tests and the demo's debug handle). */
  async sampleQuality(): Promise<QualityReport[]> {
    const reports = await Promise.all([...this.peers.values()].map((peer) => peer.connection.quality.sample()));
    return reports.filter((report): report is QualityReport => report !== undefined);
  }

  /** The ICE config currently in use (nodeId, expiry, servers without credentials for display). */
  get iceConfig(): IceConfig | undefined {
    return this.ice.current;
  }

  /** Leaves the room (others see peer-left at once) and closes every connection. */
  async leave(): Promise<void> {
    if (this.#left) return;
    this.#stop();
    await this.room.leave();
  }

  // ---------- room → peers ----------

  #wireRoom(): void {
    const room = this.room;
    room.on("welcome", (welcome) => {
      if (welcome.sessionReset || !welcome.resumed) {
        // A new session (first join, or a failed resume with a new peerId): connections start over.
        for (const peerId of [...this.peers.keys()]) this.#removePeer(peerId, "session reset");
        for (const peer of welcome.peers) this.#addPeer(peer.peerId);
      } else {
        // Resumed: the room re-sends our unacknowledged frames itself (cseq); only an older server, which does
        // not acknowledge client frames, needs an unanswered offer sent again. If the server says retained
        // frames may be lost (it restarted), renegotiate all — one side restarting, as both sides see this.
        for (const peer of this.peers.values()) {
          if (welcome.lossPossible) peer.connection.requestIceRestart("signaling frames may have been lost");
          else if (!room.acknowledgesClientFrames) peer.connection.resendPendingOffer();
        }
      }
      this.emit("welcome", welcome);
    });
    room.on("state", ({ state }) => this.emit("room-state", state));
    room.on("peer-joined", ({ peerId }) => {
      const peer = this.#addPeer(peerId);
      if (peer) this.emit("peer-joined", peer);
    });
    room.on("peer-left", ({ peerId, reason }) => {
      if (this.#removePeer(peerId, reason)) this.emit("peer-left", { peerId, reason });
    });
    room.on("peer-updated", ({ peerId }) => {
      const peer = this.peers.get(peerId);
      if (!peer) return;
      peer.info = room.peers.get(peerId);
      this.emit("peer-updated", peer);
    });
    room.on("peer-reconnecting", ({ peerId }) => this.emit("peer-reconnecting", { peerId }));
    room.on("peer-resumed", ({ peerId }) => this.emit("peer-resumed", { peerId }));
    room.on("signal", ({ from, data }) => {
      const signal = data as { epoch?: unknown; reset?: unknown };
      const epoch = typeof signal.epoch === "number" ? signal.epoch : 0;
      const peer = this.peers.get(from) ?? this.#addPeer(from, epoch);
      if (!peer || epoch < peer.epoch) return; // from a connection already replaced
      if (epoch > peer.epoch) this.#resetPeer(peer, epoch);
      if (signal.reset !== true) void peer.connection.handleSignal(signal);
    });
    room.on("quality", ({ from, report }) => {
      const reports = (report as Partial<SharedQuality>).reports;
      if (!Array.isArray(reports)) return;
      const peer = this.peers.get(from);
      if (peer) for (const entry of reports) peer.sharedQuality.set(entry.peerId, entry);
      this.emit("remote-quality", { from, reports });
    });
    room.on("error", (error) => {
      this.emit("error", error);
      if (error.fatal) this.#stop();
    });
  }

  #addPeer(peerId: string, epoch = 0): CallPeer | undefined {
    const localPeerId = this.room.peerId;
    if (this.#left || !localPeerId || peerId === localPeerId) return undefined;
    const existing = this.peers.get(peerId);
    if (existing) return existing;
    const peer: CallPeer = {
      peerId,
      info: this.room.peers.get(peerId),
      epoch,
      connection: this.#connect(peerId, localPeerId, () => peer),
      stream: new MediaStream(),
      quality: undefined,
      sharedQuality: new Map(),
    };
    this.peers.set(peerId, peer);
    return peer;
  }

  /** Replaces a peer's connection with a fresh one at `epoch` (relay switch, or the other side's reset). */
  #resetPeer(peer: CallPeer, epoch: number): void {
    const localPeerId = this.room.peerId;
    if (this.#left || !localPeerId) return;
    peer.connection.close();
    for (const track of peer.stream.getTracks()) peer.stream.removeTrack(track);
    peer.epoch = epoch;
    peer.stream = new MediaStream();
    peer.quality = undefined;
    peer.connection = this.#connect(peer.peerId, localPeerId, () => peer);
    this.emit("peer-reset", peer);
  }

  /** Builds a PeerConnection to `peerId`; its events are forwarded while it is the peer's current one. */
  #connect(peerId: string, localPeerId: string, peerOf: () => CallPeer): PeerConnection {
    const connection = new PeerConnection({
      ...this.#options.peerOptions,
      localPeerId,
      remotePeerId: peerId,
      sendSignal: (signal) => {
        if (this.room.state === "closed" || this.room.state === "failed") return;
        this.room.signal(peerId, { ...signal, epoch: peerOf().epoch } satisfies CallSignal);
      },
      ice: this.ice,
      forceRelay: this.#forceRelay,
      localStream: this.#localStream,
    });
    const current = () => peerOf().connection === connection;
    connection.on("track", ({ track }) => {
      const peer = peerOf();
      if (!current()) return;
      if (!peer.stream.getTracks().includes(track)) peer.stream.addTrack(track);
      this.emit("track", { peerId, track, stream: peer.stream });
    });
    connection.on("state", (state) => {
      if (current()) this.emit("state", { peerId, ...state });
    });
    connection.on("quality", (report) => {
      if (!current()) return;
      peerOf().quality = report;
      this.emit("quality", report);
    });
    connection.on("restart", (restart) => {
      if (current()) this.emit("restart", { peerId, ...restart });
    });
    connection.on("restart-request", (request) => {
      if (current()) this.emit("restart-request", { peerId, ...request });
    });
    connection.on("message", ({ data }) => this.emit("message", { peerId, data }));
    connection.on("ice-server-error", ({ url, errorCode, errorText }) => {
      if (!/^turns?:/.test(url)) return;
      if (errorCode === 401) this.#warn("turn_refused", `the TURN server ${url} refused the credentials (${errorText})`);
      else if (errorCode === 701) this.#warn("turn_unreachable", `the TURN server ${url} is unreachable`);
    });
    connection.on("error", (error) => {
      if (current()) this.emit("error", Object.assign(error, { peerId }));
    });
    return connection;
  }

  #removePeer(peerId: string, _reason: string): boolean {
    const peer = this.peers.get(peerId);
    if (!peer) return false;
    peer.connection.close();
    for (const track of peer.stream.getTracks()) peer.stream.removeTrack(track);
    this.peers.delete(peerId);
    return true;
  }

  #shareQuality(): void {
    if (this.room.state !== "connected") return;
    const reports: QualityReport[] = [];
    for (const peer of this.peers.values()) if (peer.quality) reports.push(peer.quality);
    if (reports.length === 0) return;
    const shared: SharedQuality = { reports };
    this.room.sendQuality(shared as unknown as Record<string, unknown>);
  }

  #warn(code: string, message: string): void {
    // Each kind of warning once per call: the demo shows it as a banner, not a stream of them.
    if (this.#warnings.has(code)) return;
    this.#warnings.set(code, message);
    this.emit("warning", { code, message });
  }

  #stop(): void {
    this.#left = true;
    if (this.#shareTimer !== undefined) clearInterval(this.#shareTimer);
    this.#shareTimer = undefined;
    this.ice.stop();
    for (const peerId of [...this.peers.keys()]) this.#removePeer(peerId, "left");
  }
}

function iceWarningMessage(code: string): string {
  if (code === "no_turn_nodes")
    return "calls connect only where a direct path exists; relay-only calls will fail until a TURN node registers";
  return `ICE configuration warning: ${code}`;
}
