/**
 * One RTCPeerConnection to one remote peer, negotiated with the "perfect negotiation" pattern
 * (W3C webrtc-pc §10.7 example; MDN "Establishing a connection: The WebRTC perfect negotiation pattern"):
 * both sides may offer at any time, the polite peer yields on collision, so simultaneous offers never
 * deadlock. Trickle ICE over room signals, a data channel, media tracks, and ICE restarts that fetch
 * fresh TURN credentials first and steer away from a failed TURN node.
 */
import { SwitchboardError } from "./client-error.ts";
import { Emitter } from "./emitter.ts";
import { type IceConfig, type IceConfigProvider, nodeIdForUrl } from "./ice.ts";
import { QualityMonitor, type QualityReport } from "./quality.ts";

/** What travels in a room `signal` between two PeerConnections. */
export type PeerSignal = { description: RTCSessionDescriptionInit; restart?: RestartHint } | { candidate: RTCIceCandidateInit };

/**
 * Sent with the offer of an ICE restart made because the path failed, so the answering side fetches fresh
 * ICE config too (excluding the same TURN node) instead of answering with candidates from a dead relay.
 */
export interface RestartHint {
  reason: string;
  excludedNodeId?: string;
}

/** Options of a PeerConnection. */
export interface PeerConnectionOptions {
  /** This side's peer id (from the room's welcome). */
  localPeerId: string;
  /** The remote peer's id. */
  remotePeerId: string;
  /** Delivers a signal to the remote peer (e.g. `(data) => room.signal(remotePeerId, data)`). */
  sendSignal: (signal: PeerSignal) => void;
  /** ICE config source: initial servers, renewals (applied with setConfiguration), fresh config for restarts. */
  ice?: IceConfigProvider;
  /** ICE config to start with (default: `ice.current`). */
  iceConfig?: IceConfig;
  /** Relay-only (`iceTransportPolicy: "relay"`): media always goes through TURN. */
  forceRelay?: boolean;
  /** Local media: every track is added with `addTrack`. */
  localStream?: MediaStream;
  /** Open a data channel (negotiated, id 0, on both sides; default true). */
  dataChannel?: boolean;
  /**
   * The polite peer waits this long for the impolite peer's first offer before offering itself
   * (default 5 000 ms).
   */
  initialOfferTimeoutMs?: number;
  /**
   * Re-send an offer that got no answer within this (default 5 000 ms; at most 3 times). Lossless signaling
   * delivers the offer; this covers what it cannot: an offer the room refused (`queue_full`), an answer lost in
   * a server crash, a remote side that failed to answer.
   */
  offerTimeoutMs?: number;
  /** Restart ICE when the connection stays `failed` this long (default 1 000 ms). */
  failedGraceMs?: number;
  /**
   * Restart ICE when the connection stays `disconnected` this long (default 2 500 ms). Chromium reports
   * "disconnected" about 5 s after the path died (consent checks, RFC 7675), so a dead relay is replaced
   * within ~8 s.
   */
  disconnectedTimeoutMs?: number;
  /** After a restart, restart again if not connected within this (default 10 000 ms). */
  restartTimeoutMs?: number;
  /** Give up (error `ice_failed`) after this many restarts without connecting (default 5). */
  maxRestarts?: number;
  /** Quality sampling period in ms (default 1 000; 0 disables sampling). */
  qualityIntervalMs?: number;
  /** Extra RTCConfiguration fields (bundlePolicy, certificates, …). */
  rtcConfiguration?: RTCConfiguration;
}

/** Events of a PeerConnection. */
export interface PeerConnectionEvents {
  [key: string]: unknown;
  /** A remote media track arrived. */
  track: { track: MediaStreamTrack; streams: readonly MediaStream[] };
  /** connectionState or iceConnectionState changed. */
  state: { connectionState: RTCPeerConnectionState; iceConnectionState: RTCIceConnectionState };
  /** A quality sample (every second while open). */
  quality: QualityReport;
  /** The data channel opened. */
  "channel-open": undefined;
  /** A data channel message arrived. */
  message: { data: unknown };
  /** An ICE restart began: why, and which TURN node (if any) was excluded. */
  restart: { reason: string; excludedNodeId?: string; attempt: number };
  /**
   * A STUN/TURN server could not be used while gathering (webrtc-pc `icecandidateerror`): code 701 means
   * unreachable, 401 means refused credentials.
   */
  "ice-server-error": { url: string; errorCode: number; errorText: string };
  /** Something went wrong (a failed negotiation step, ICE failing for good). */
  error: SwitchboardError;
}

/** The label of the negotiated data channel. */
export const DATA_CHANNEL_LABEL = "switchboard";

/**
 * Decides politeness by comparing peer ids (lexicographic, so both sides agree without a message):
 * the peer with the smaller id is polite and rolls back its own offer on collision.
 */
export function isPolite(localPeerId: string, remotePeerId: string): boolean {
  return localPeerId < remotePeerId;
}

/** A perfect-negotiation RTCPeerConnection to one remote peer. */
export class PeerConnection extends Emitter<PeerConnectionEvents> {
  readonly remotePeerId: string;
  readonly polite: boolean;
  readonly pc: RTCPeerConnection;
  readonly quality: QualityMonitor;
  readonly #options: PeerConnectionOptions;
  #channel: RTCDataChannel | undefined;
  #forceRelay: boolean;
  // Perfect negotiation state (names as in the W3C/MDN pattern).
  #makingOffer = false;
  #ignoreOffer = false;
  #isSettingRemoteAnswerPending = false;
  /** The polite peer adds its tracks and channel once the first offer arrived (see #setUpLocalMedia). */
  #localMediaAdded = false;
  #initialOfferTimer: ReturnType<typeof setTimeout> | undefined;
  /** Re-sends an unanswered offer (see offerTimeoutMs: losses the signaling layer cannot prevent). */
  #offerTimer: ReturnType<typeof setTimeout> | undefined;
  /** Signals are handled one at a time, in arrival order. */
  #signalChain: Promise<void> = Promise.resolve();
  #disconnectedTimer: ReturnType<typeof setTimeout> | undefined;
  #restartWatchdog: ReturnType<typeof setTimeout> | undefined;
  #restarting: Promise<void> | undefined;
  #restarts = 0;
  #everConnected = false;
  /** The TURN node of the last selected relay pair (known from quality samples, kept after failure). */
  #relayNodeId: string | undefined;
  /** Configs applied recently, newest first: maps a relay candidate's URL to its node. */
  #configs: IceConfig[] = [];
  #configRefresh: Promise<void> | undefined;
  /** Attached to the next offer: it is an ICE restart after a failure. */
  #restartHint: RestartHint | undefined;
  #offConfig: (() => void) | undefined;
  #closed = false;

  constructor(options: PeerConnectionOptions) {
    super();
    this.#options = options;
    this.remotePeerId = options.remotePeerId;
    this.polite = isPolite(options.localPeerId, options.remotePeerId);
    this.#forceRelay = options.forceRelay ?? false;
    const config = options.iceConfig ?? options.ice?.current;
    if (config) this.#configs.unshift(config);
    this.pc = new RTCPeerConnection({
      ...options.rtcConfiguration,
      iceServers: config?.iceServers ?? options.rtcConfiguration?.iceServers ?? [],
      iceTransportPolicy: this.#forceRelay ? "relay" : "all",
    });
    this.quality = new QualityMonitor(this.pc, options.remotePeerId, { intervalMs: options.qualityIntervalMs || 1000 });
    this.#wire();
    if (this.polite) {
      // Only the impolite side makes the first offer. Perfect negotiation would survive both offering at
      // once, but Chromium sometimes gathers no candidates at all after rolling back an initial offer
      // (seen here with Chromium 14x: both ends stay "new"); later collisions reuse existing transports.
      this.#initialOfferTimer = setTimeout(() => this.#setUpLocalMedia(), options.initialOfferTimeoutMs ?? 5000);
    } else {
      this.#setUpLocalMedia();
    }
    if (options.ice) this.#offConfig = options.ice.on("config", (fresh) => this.#applyConfig(fresh));
    if (options.qualityIntervalMs !== 0) this.quality.start();
  }

  /** Whether the connection is relay-only. */
  get forceRelay(): boolean {
    return this.#forceRelay;
  }

  /** The open data channel, if any. */
  get channel(): RTCDataChannel | undefined {
    return this.#channel;
  }

  /** Feeds a signal received from the remote peer (room `signal` event's `data`). */
  handleSignal(signal: unknown): Promise<void> {
    this.#signalChain = this.#signalChain
      .then(() => this.#onSignal(signal as Partial<PeerSignal>))
      .catch((error: unknown) => this.#report("signal", error));
    return this.#signalChain;
  }

  /** Sends data on the data channel; returns false when it is not open. */
  send(data: string | ArrayBuffer | Blob | ArrayBufferView): boolean {
    const channel = this.#channel;
    if (channel?.readyState !== "open") return false;
    channel.send(data as string);
    return true;
  }

  /**
   * Restarts ICE with fresh credentials: fetches a new ICE config first — excluding the TURN node the
   * failed relay pair used, so the registry hands out another without waiting for that node's TTL —
   * applies it with setConfiguration, then calls restartIce() (which triggers negotiation).
   */
  restartIce(reason = "manual"): Promise<void> {
    this.#restarting ??= this.#restart(reason).finally(() => {
      this.#restarting = undefined;
    });
    return this.#restarting;
  }

  /**
   * Sends our current offer again if it is still unanswered. Needed after a resume only with a server that
   * does not acknowledge client frames (`Room.acknowledgesClientFrames` false, protocol v1 without cseq):
   * there a frame sent just before the drop may never have reached the room. With cseq the Room re-sends
   * unacknowledged frames itself, and a second copy would only draw a second answer. Harmless otherwise:
   * the remote side answers the offer again.
   */
  resendPendingOffer(): void {
    const description = this.pc.localDescription;
    if (this.#closed || this.pc.signalingState !== "have-local-offer" || !description) return;
    this.#options.sendSignal({ description: description.toJSON() });
  }

  /** Closes the connection and stops every timer. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.quality.stop();
    this.#clearTimers();
    this.#offConfig?.();
    this.#channel?.close();
    this.pc.close();
    this.emit("state", { connectionState: "closed", iceConnectionState: "closed" });
  }

  // ---------- negotiation ----------

  #wire(): void {
    const pc = this.pc;
    pc.onnegotiationneeded = async () => {
      try {
        this.#makingOffer = true;
        // Parameterless setLocalDescription creates the right offer (webrtc-pc §4.4.1.5).
        await pc.setLocalDescription();
        const restart = this.#restartHint;
        this.#restartHint = undefined;
        if (pc.localDescription) this.#options.sendSignal({ description: pc.localDescription.toJSON(), ...(restart ? { restart } : {}) });
        this.#watchOffer(0);
      } catch (error) {
        this.#report("offer", error);
      } finally {
        this.#makingOffer = false;
      }
    };
    pc.onicecandidate = ({ candidate }) => {
      // Trickle ICE (RFC 8838): each candidate goes out as soon as it is gathered. The null
      // end-of-gathering marker is not needed by the remote side.
      if (candidate) this.#options.sendSignal({ candidate: candidate.toJSON() });
    };
    pc.ontrack = ({ track, streams }) => this.emit("track", { track, streams });
    pc.onicecandidateerror = (event) => {
      const { url, errorCode, errorText } = event as RTCPeerConnectionIceErrorEvent;
      this.emit("ice-server-error", { url: url ?? "", errorCode, errorText });
    };
    pc.onconnectionstatechange = () => this.#onStateChange();
    pc.onsignalingstatechange = () => {
      if (pc.signalingState === "stable" && this.#offerTimer !== undefined) {
        clearTimeout(this.#offerTimer);
        this.#offerTimer = undefined;
      }
    };
    pc.oniceconnectionstatechange = () => this.#onStateChange();
    this.quality.on("report", (report) => this.#onQuality(report));
  }

  async #onSignal(signal: Partial<PeerSignal>): Promise<void> {
    if (this.#closed) return;
    const pc = this.pc;
    if ("description" in signal && signal.description) {
      const description = signal.description;
      // An offer collides unless we are stable (or only waiting for our answer to be applied) and not making one.
      const readyForOffer = !this.#makingOffer && (pc.signalingState === "stable" || this.#isSettingRemoteAnswerPending);
      const offerCollision = description.type === "offer" && !readyForOffer;
      this.#ignoreOffer = !this.polite && offerCollision;
      if (this.#ignoreOffer) return;
      const hint = "restart" in signal ? signal.restart : undefined;
      if (description.type === "offer" && (hint || this.#needsFreshConfig())) {
        // The remote side restarts ICE because the path failed: answer with fresh credentials too, or our
        // answer would gather candidates from the TURN node that just failed (possibly before we noticed).
        await this.#refreshConfig(hint?.excludedNodeId ?? this.#failedNodeId());
      }
      this.#isSettingRemoteAnswerPending = description.type === "answer";
      try {
        // For the polite peer in a collision this rolls back its own offer first (implicit rollback,
        // webrtc-pc §4.4.1.6: "if description is an offer and signalingState is have-local-offer").
        await pc.setRemoteDescription(description);
      } finally {
        this.#isSettingRemoteAnswerPending = false;
      }
      if (description.type === "offer") {
        // The first offer's m-lines now exist: our tracks join them (addTrack reuses a matching transceiver,
        // webrtc-pc §5.1 addTrack step 7) and the answer carries them — no second round trip.
        this.#setUpLocalMedia();
        await pc.setLocalDescription();
        if (pc.localDescription) this.#options.sendSignal({ description: pc.localDescription.toJSON() });
      }
    } else if ("candidate" in signal && signal.candidate) {
      try {
        await pc.addIceCandidate(signal.candidate);
      } catch (error) {
        // Candidates of an offer we ignored fail to apply: expected, not an error.
        if (!this.#ignoreOffer) throw error;
      }
    }
  }

  // ---------- ICE health and restarts ----------

  #onStateChange(): void {
    const { connectionState, iceConnectionState } = this.pc;
    this.emit("state", { connectionState, iceConnectionState });
    if (this.#closed) return;
    if (connectionState === "connected") {
      this.#everConnected = true;
      this.#restarts = 0;
      this.#clearTimers();
      return;
    }
    const failed = connectionState === "failed" || iceConnectionState === "failed";
    const disconnected = connectionState === "disconnected" || iceConnectionState === "disconnected";
    if ((failed || disconnected) && this.#disconnectedTimer === undefined) {
      // "disconnected" often heals by itself (a lost burst of consent checks, RFC 7675), and Chromium may
      // report "failed" for a moment when the first pairs fail before the remote's relay candidates
      // arrive. Check again after a short wait (1 s for failed, 2.5 s for disconnected) before restarting.
      this.#disconnectedTimer = setTimeout(
        () => {
          this.#disconnectedTimer = undefined;
          const pc = this.pc;
          if (this.#closed || pc.connectionState === "connected") return;
          const stillFailed = pc.connectionState === "failed" || pc.iceConnectionState === "failed";
          const stillDisconnected = pc.connectionState === "disconnected" || pc.iceConnectionState === "disconnected";
          if (stillFailed) void this.restartIce("connection failed");
          else if (stillDisconnected) void this.restartIce("disconnected too long");
        },
        failed ? (this.#options.failedGraceMs ?? 1000) : (this.#options.disconnectedTimeoutMs ?? 2500),
      );
    }
  }

  async #restart(reason: string): Promise<void> {
    if (this.#closed) return;
    const maxRestarts = this.#options.maxRestarts ?? 5;
    if (this.#restarts >= maxRestarts) {
      this.emit("error", new SwitchboardError("ice_failed", `no connection to ${this.remotePeerId} after ${maxRestarts} ICE restarts`));
      return;
    }
    this.#restarts++;
    const excludedNodeId = this.#failedNodeId();
    this.emit("restart", { reason, attempt: this.#restarts, ...(excludedNodeId ? { excludedNodeId } : {}) });
    await this.#refreshConfig(excludedNodeId);
    if (this.#closed) return;
    this.#restartHint = { reason, ...(excludedNodeId ? { excludedNodeId } : {}) };
    this.pc.restartIce();
    if (this.#restartWatchdog !== undefined) clearTimeout(this.#restartWatchdog);
    this.#restartWatchdog = setTimeout(() => {
      this.#restartWatchdog = undefined;
      if (!this.#closed && this.pc.connectionState !== "connected") void this.restartIce("restart did not connect");
    }, this.#options.restartTimeoutMs ?? 10_000);
  }

  /** Fetches a fresh config (excluding `nodeId`) and applies it; concurrent callers share one fetch. */
  #refreshConfig(nodeId = this.#failedNodeId()): Promise<void> {
    this.#configRefresh ??= this.#fetchConfig(nodeId).finally(() => {
      this.#configRefresh = undefined;
    });
    return this.#configRefresh;
  }

  /** Fetches and applies a fresh config; on failure falls back to the backup node or keeps the current one. */
  async #fetchConfig(nodeId: string | undefined): Promise<void> {
    const ice = this.#options.ice;
    if (!ice) return;
    try {
      const config = await ice.renew(nodeId ? { exclude: nodeId } : {});
      // renew() emits `config`, which #applyConfig already handled; apply again in case no listener ran.
      this.#applyConfig(config);
    } catch (error) {
      // The worker is unreachable: try the backup node of the last config, if any, rather than nothing.
      const backup = ice.current?.backup;
      if (backup && backup.nodeId !== ice.current?.nodeId && nodeId === ice.current?.nodeId) this.#setConfiguration(backup.iceServers);
      this.#report("ice-config", error);
    }
  }

  /** Whether our own path is down, so an incoming (restart) offer should be answered with fresh credentials. */
  #needsFreshConfig(): boolean {
    const state = this.pc.iceConnectionState;
    return this.#everConnected && (state === "failed" || state === "disconnected") && this.#options.ice !== undefined;
  }

  /**
   * The TURN node to avoid: the one our last relay pair used; or, when relay-only never connected, the
   * node we were given (its relay may be unreachable).
   */
  #failedNodeId(): string | undefined {
    if (this.#relayNodeId) return this.#relayNodeId;
    if (this.#forceRelay && !this.#everConnected) return this.#options.ice?.current?.nodeId;
    return undefined;
  }

  #onQuality(report: QualityReport): void {
    if (report.localCandidateType === "relay" && report.connectionState === "connected") {
      let nodeId: string | undefined;
      for (const config of this.#configs) nodeId ??= nodeIdForUrl(config, report.relayUrl);
      this.#relayNodeId = nodeId ?? this.#configs[0]?.nodeId;
    } else if (report.path === "direct" && report.connectionState === "connected") {
      this.#relayNodeId = undefined;
    }
    this.emit("quality", report);
  }

  #applyConfig(config: IceConfig): void {
    if (this.#closed) return;
    if (this.#configs[0] !== config) this.#configs = [config, ...this.#configs].slice(0, 4);
    this.#setConfiguration(config.iceServers);
  }

  #setConfiguration(iceServers: RTCIceServer[] | undefined): void {
    try {
      // setConfiguration may change iceServers and iceTransportPolicy mid-call (webrtc-pc §4.4.1.4);
      // new values apply to the next gathering, i.e. the next ICE restart.
      this.pc.setConfiguration({
        ...this.pc.getConfiguration(),
        ...(iceServers ? { iceServers } : {}),
        iceTransportPolicy: this.#forceRelay ? "relay" : "all",
      });
    } catch (error) {
      this.#report("setConfiguration", error);
    }
  }

  /** Re-sends the offer if no answer came within offerTimeoutMs, up to 3 times. */
  #watchOffer(resends: number): void {
    if (this.#offerTimer !== undefined) clearTimeout(this.#offerTimer);
    this.#offerTimer = setTimeout(() => {
      this.#offerTimer = undefined;
      if (this.#closed || this.pc.signalingState !== "have-local-offer" || resends >= 3) return;
      this.resendPendingOffer();
      this.#watchOffer(resends + 1);
    }, this.#options.offerTimeoutMs ?? 5000);
  }

  /** Adds the local tracks and the data channel (once); each may trigger negotiation. */
  #setUpLocalMedia(): void {
    if (this.#localMediaAdded || this.#closed) return;
    this.#localMediaAdded = true;
    if (this.#initialOfferTimer !== undefined) clearTimeout(this.#initialOfferTimer);
    this.#initialOfferTimer = undefined;
    const { localStream, dataChannel } = this.#options;
    if (dataChannel ?? true) {
      // Negotiated with a fixed id on both sides: symmetric, nobody waits for an ondatachannel event.
      this.#attachChannel(this.pc.createDataChannel(DATA_CHANNEL_LABEL, { negotiated: true, id: 0 }));
    }
    if (localStream) for (const track of localStream.getTracks()) this.pc.addTrack(track, localStream);
  }

  #attachChannel(channel: RTCDataChannel): void {
    this.#channel = channel;
    channel.onopen = () => this.emit("channel-open", undefined);
    channel.onmessage = (event) => this.emit("message", { data: event.data });
  }

  #clearTimers(): void {
    if (this.#disconnectedTimer !== undefined) clearTimeout(this.#disconnectedTimer);
    if (this.#restartWatchdog !== undefined) clearTimeout(this.#restartWatchdog);
    if (this.#initialOfferTimer !== undefined && this.#closed) clearTimeout(this.#initialOfferTimer);
    if (this.#offerTimer !== undefined && this.#closed) clearTimeout(this.#offerTimer);
    this.#disconnectedTimer = this.#restartWatchdog = undefined;
  }

  #report(step: string, error: unknown): void {
    if (this.#closed) return;
    const message = error instanceof Error ? error.message : String(error);
    const code = error instanceof SwitchboardError ? error.code : "internal";
    this.emit("error", new SwitchboardError(code, `${step} with ${this.remotePeerId}: ${message}`));
  }
}
