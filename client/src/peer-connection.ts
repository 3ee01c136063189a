/**
 * One RTCPeerConnection to one remote peer, negotiated with the "perfect negotiation" pattern
 * (W3C webrtc-pc §10.7 example; MDN "Establishing a connection: The WebRTC perfect negotiation pattern"):
 * both sides may offer at any time, the polite peer yields on collision, so simultaneous offers never
 * deadlock. Trickle ICE over room signals, a data channel, media tracks, and ICE restarts that fetch
 * fresh TURN credentials first and steer away from a failed TURN node — started by one side only (the
 * impolite one; the polite side asks), as soon as the quality samples show a dead relay path
 * (ice-recovery.ts), followed by a keyframe so video resumes without waiting for the receiver to ask.
 */
import { SwitchboardError } from "./client-error.ts";
import { Emitter } from "./emitter.ts";
import { type IceConfig, type IceConfigProvider, nodeIdForUrl } from "./ice.ts";
import {
  type FailureSignal,
  honoursRestartRequest,
  type PairSample,
  pathStall,
  receivedBetween,
  recordPairSample,
  recoveryAction,
  restartDelayMs,
} from "./ice-recovery.ts";
import { QualityMonitor, type QualityReport } from "./quality.ts";

/**
 * What travels in a room `signal` between two PeerConnections: a description (with a hint when it is an
 * ICE restart), a trickled candidate, or the polite side's request that the impolite side restart ICE.
 */
export type PeerSignal =
  | { description: RTCSessionDescriptionInit; restart?: RestartHint }
  | { candidate: RTCIceCandidateInit }
  | { restartRequest: RestartHint };

/**
 * Sent with the offer of an ICE restart made because the path failed, so the answering side fetches fresh
 * ICE config too (excluding the same TURN node) instead of answering with candidates from a dead relay.
 * The same shape is the polite side's `restartRequest`: why, and which TURN node it saw fail.
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
   * Restart ICE when the connection stays `disconnected` this long on a direct path (default 2 500 ms): it
   * often heals by itself.
   */
  disconnectedTimeoutMs?: number;
  /**
   * Restart ICE when the connection stays `disconnected` this long on a relay path (default 1 000 ms).
   * Chromium reports "disconnected" ~5 s after the path died (consent checks, RFC 7675), and a relay pair
   * whose TURN node died has no other pair to recover to.
   */
  relayDisconnectedTimeoutMs?: number;
  /**
   * Treat a relay pair as dead when the quality samples see nothing received on it for this long while our
   * connectivity checks go unanswered (default 2 000 ms; 0 turns this off and leaves only the connection
   * states). Usually 2–3 s after a TURN node dies, well before Chromium says "disconnected".
   */
  stallTimeoutMs?: number;
  /**
   * The polite side does not restart ICE on its own detection: it asks the impolite side to (a
   * `restartRequest` signal) and restarts itself only if no restart offer arrived within this
   * (default 4 000 ms). So two restart offers never collide.
   */
  restartRequestTimeoutMs?: number;
  /** After a restart, restart again if the path is not healthy within this (default 10 000 ms). */
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
  /** This (polite) side detected a broken path and asked the remote side to restart ICE. */
  "restart-request": RestartHint;
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
  /** Acts on `failed`/`disconnected` if it still holds after restartDelayMs (and when it is due). */
  #detectionTimer: ReturnType<typeof setTimeout> | undefined;
  #detectionDueAt = 0;
  /** Runs while a restart of ours awaits its result: a restart is "pending" exactly while it is set. */
  #restartWatchdog: ReturnType<typeof setTimeout> | undefined;
  #restarting: Promise<void> | undefined;
  /** Polite side: runs while we wait for the restart we asked for; restarts ourselves when it fires. */
  #requestFallback: ReturnType<typeof setTimeout> | undefined;
  /** Local time the remote's last restart offer arrived. */
  #remoteRestartAt: number | undefined;
  /** Recent samples of the selected pair's counters (stall detection). */
  readonly #pairHistory: PairSample[] = [];
  /** The selected pair found stalled (dead relay), until a sample shows traffic again. */
  #deadPairId: string | undefined;
  #restarts = 0;
  #everConnected = false;
  /** The ICE transport whose selected-pair changes we follow (see #watchIceTransport). */
  #iceTransport: RTCIceTransport | undefined;
  /** The selected pair last seen (stats id or the transport's pair), to notice a path change. */
  #selectedPairKey: string | undefined;
  /** Local time of the last forced keyframe (one per path change, at most one a second). */
  #keyFramesAt = 0;
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
    return this.#restartOnce(reason, this.#ownExclusions());
  }

  /**
   * Restarts ICE the way automatic recovery does, so the two sides never both offer: the impolite side
   * restarts, the polite side asks it to (and restarts itself only if nothing comes within
   * `restartRequestTimeoutMs`). Use this when both sides learn of a problem at once (e.g. a signaling
   * server restart that may have lost frames). Excludes a TURN node only when our own path is down.
   */
  requestIceRestart(reason: string): void {
    this.#recover(reason, this.#ownPathDown() ? this.#ownExclusions() : []);
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
      if (description.type === "offer" && hint) {
        // The remote's restart answers our request (or our own detection to come): no need for ours.
        this.#remoteRestartAt = Date.now();
        this.#clearTimer("requestFallback");
      }
      if (description.type === "offer" && (hint || this.#needsFreshConfig())) {
        // The remote side restarts ICE because the path failed: answer with fresh credentials too, or our
        // answer would gather candidates from the TURN node that just failed (possibly before we noticed).
        const excluded = hint?.excludedNodeId;
        await this.#refreshConfig(excluded ? [excluded] : this.#ownExclusions());
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
    } else if ("restartRequest" in signal && signal.restartRequest) {
      // The polite side found the path broken and leaves the restart offer to us (see ice-recovery.ts).
      // Not awaited: the signal chain must keep flowing (the answer to our restart offer comes through it).
      if (!honoursRestartRequest({ restartPending: this.#restartPending() })) return;
      const request = signal.restartRequest;
      const exclude = new Set<string>();
      if (typeof request.excludedNodeId === "string") exclude.add(request.excludedNodeId);
      if (this.#ownPathDown()) for (const nodeId of this.#ownExclusions()) exclude.add(nodeId);
      void this.#restartOnce(`${String(request.reason)} (asked by ${this.remotePeerId})`, [...exclude]);
    }
  }

  // ---------- ICE health and restarts ----------

  #onStateChange(): void {
    const { connectionState, iceConnectionState } = this.pc;
    this.emit("state", { connectionState, iceConnectionState });
    if (this.#closed) return;
    if (connectionState === "connected") this.#everConnected = true;
    this.#watchIceTransport();
    if (this.#iceConnected()) {
      this.#clearTimer("detection");
      // A stalled relay pair may still be "connected" to Chromium: then only a quality sample showing
      // traffic again ends the episode (#onPairSample).
      if (this.#deadPairId === undefined) this.#markRecovered();
      return;
    }
    const failed = connectionState === "failed" || iceConnectionState === "failed";
    const disconnected = connectionState === "disconnected" || iceConnectionState === "disconnected";
    if (failed || disconnected) this.#scheduleDetection(failed ? "failed" : "disconnected");
  }

  /**
   * Acts on `failed`/`disconnected` if it still holds after restartDelayMs: "disconnected" often heals by
   * itself on a direct path (a lost burst of consent checks, RFC 7675), and Chromium may report "failed" for
   * a moment when the first pairs fail before the remote's relay candidates arrive. A relay path is given
   * less time: a dead TURN node does not come back.
   */
  #scheduleDetection(signal: FailureSignal): void {
    const delayMs = restartDelayMs(signal, this.#relayPath(), this.#options);
    const dueAt = Date.now() + delayMs;
    if (this.#detectionTimer !== undefined && this.#detectionDueAt <= dueAt) return;
    this.#clearTimer("detection");
    this.#detectionDueAt = dueAt;
    this.#detectionTimer = setTimeout(() => {
      this.#detectionTimer = undefined;
      const pc = this.pc;
      if (this.#closed || this.#iceConnected()) return;
      const stillFailed = pc.connectionState === "failed" || pc.iceConnectionState === "failed";
      const stillDisconnected = pc.connectionState === "disconnected" || pc.iceConnectionState === "disconnected";
      if (stillFailed) this.#recover("connection failed", this.#ownExclusions());
      else if (stillDisconnected) this.#recover("disconnected too long", this.#ownExclusions());
    }, delayMs);
  }

  /**
   * One side restarts, the other asks (recoveryAction in ice-recovery.ts): the impolite side restarts ICE
   * now; the polite side sends a `restartRequest`, fetches fresh config meanwhile (so its answer does not
   * wait for it), and restarts itself only if the path is still down when its fallback timer fires.
   */
  #recover(reason: string, exclude: readonly string[]): void {
    if (this.#closed) return;
    const timeoutMs = this.#options.restartRequestTimeoutMs ?? 4000;
    const action = recoveryAction({
      polite: this.polite,
      restartPending: this.#restartPending(),
      requestPending: this.#requestFallback !== undefined,
      msSinceRemoteRestart: this.#remoteRestartAt === undefined ? undefined : Date.now() - this.#remoteRestartAt,
      restartRequestTimeoutMs: timeoutMs,
    });
    if (action.kind === "restart") {
      void this.#restartOnce(reason, exclude);
    } else if (action.kind === "request") {
      const excludedNodeId = exclude[0];
      const request: RestartHint = { reason, ...(excludedNodeId ? { excludedNodeId } : {}) };
      this.emit("restart-request", request);
      this.#options.sendSignal({ restartRequest: request });
      if (exclude.length > 0) void this.#refreshConfig(exclude);
      this.#armRequestFallback(timeoutMs, reason, exclude);
    } else if (action.kind === "await") {
      this.#armRequestFallback(action.fallbackInMs, reason, exclude);
    }
  }

  #armRequestFallback(delayMs: number, reason: string, exclude: readonly string[]): void {
    this.#clearTimer("requestFallback");
    this.#requestFallback = setTimeout(() => {
      this.#requestFallback = undefined;
      if (this.#closed || this.#pathHealthy()) return;
      void this.#restartOnce(`${reason}; no restart from ${this.remotePeerId}`, exclude);
    }, delayMs);
  }

  #restartOnce(reason: string, exclude: readonly string[]): Promise<void> {
    this.#restarting ??= this.#restart(reason, exclude).finally(() => {
      this.#restarting = undefined;
    });
    return this.#restarting;
  }

  async #restart(reason: string, exclude: readonly string[]): Promise<void> {
    if (this.#closed) return;
    const maxRestarts = this.#options.maxRestarts ?? 5;
    if (this.#restarts >= maxRestarts) {
      this.emit("error", new SwitchboardError("ice_failed", `no connection to ${this.remotePeerId} after ${maxRestarts} ICE restarts`));
      return;
    }
    this.#restarts++;
    // We restart ourselves now: a request of ours no longer needs its fallback.
    this.#clearTimer("requestFallback");
    const excludedNodeId = exclude[0];
    this.emit("restart", { reason, attempt: this.#restarts, ...(excludedNodeId ? { excludedNodeId } : {}) });
    await this.#refreshConfig(exclude);
    if (this.#closed) return;
    this.#restartHint = { reason, ...(excludedNodeId ? { excludedNodeId } : {}) };
    this.pc.restartIce();
    this.#clearTimer("restartWatchdog");
    this.#restartWatchdog = setTimeout(() => {
      this.#restartWatchdog = undefined;
      if (this.#closed) return;
      if (this.#pathHealthy()) this.#markRecovered();
      else this.#recover("restart did not connect", this.#ownExclusions());
    }, this.#options.restartTimeoutMs ?? 10_000);
  }

  /** Fetches a fresh config (excluding `nodeIds`) and applies it; concurrent callers share one fetch. */
  #refreshConfig(nodeIds: readonly string[]): Promise<void> {
    this.#configRefresh ??= this.#fetchConfig(nodeIds).finally(() => {
      this.#configRefresh = undefined;
    });
    return this.#configRefresh;
  }

  /** Fetches and applies a fresh config; on failure falls back to the backup node or keeps the current one. */
  async #fetchConfig(nodeIds: readonly string[]): Promise<void> {
    const ice = this.#options.ice;
    if (!ice) return;
    try {
      const config = await ice.renew(nodeIds.length > 0 ? { exclude: nodeIds } : {});
      // renew() emits `config`, which #applyConfig already handled; apply again in case no listener ran.
      this.#applyConfig(config);
    } catch (error) {
      // The worker is unreachable: try the backup node of the last config, if any, rather than nothing.
      const current = ice.current;
      const backup = current?.backup;
      const failedNodeId = current?.nodeId;
      if (backup && failedNodeId !== undefined && backup.nodeId !== failedNodeId && nodeIds.includes(failedNodeId)) {
        this.#setConfiguration(backup.iceServers);
      }
      this.#report("ice-config", error);
    }
  }

  /** A restart of ours is running or awaiting its result. */
  #restartPending(): boolean {
    return this.#restarting !== undefined || this.#restartWatchdog !== undefined;
  }

  /** Both connection states say the path works (ICE may still be on a pair the samples found stalled). */
  #iceConnected(): boolean {
    const { connectionState, iceConnectionState } = this.pc;
    return connectionState === "connected" && (iceConnectionState === "connected" || iceConnectionState === "completed");
  }

  /** Connected, and no stalled pair awaiting traffic. */
  #pathHealthy(): boolean {
    return this.#iceConnected() && this.#deadPairId === undefined;
  }

  /** Our side sees the path down: a failure state, or a stalled pair. */
  #ownPathDown(): boolean {
    const state = this.pc.iceConnectionState;
    return state === "failed" || state === "disconnected" || this.#deadPairId !== undefined;
  }

  /** Whether the selected path goes through a TURN relay (relay-only, or the last sample's pair). */
  #relayPath(): boolean {
    return this.#forceRelay || this.quality.latest?.path === "relay";
  }

  /** The episode is over: the path works again. Restart counting starts afresh; no timer is needed. */
  #markRecovered(): void {
    this.#restarts = 0;
    this.#deadPairId = undefined;
    this.#clearTimer("detection");
    this.#clearTimer("restartWatchdog");
    this.#clearTimer("requestFallback");
  }

  /** Whether our own path is down, so an incoming (restart) offer should be answered with fresh credentials. */
  #needsFreshConfig(): boolean {
    return this.#everConnected && this.#ownPathDown() && this.#options.ice !== undefined;
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

  /** #failedNodeId as a list, for renew({ exclude }). */
  #ownExclusions(): string[] {
    const nodeId = this.#failedNodeId();
    return nodeId ? [nodeId] : [];
  }

  /**
   * Feeds the stall detector with the selected pair's counters: traffic on the pair ends a failure
   * episode; seconds of silence on a relay pair with unanswered checks start one (pathStall).
   */
  #onPairSample(sample: PairSample): void {
    const previous = this.#pairHistory.at(-1);
    recordPairSample(this.#pairHistory, sample);
    if (previous && receivedBetween(previous, sample) && this.#iceConnected()) {
      this.#markRecovered();
      return;
    }
    const silenceMs = this.#options.stallTimeoutMs;
    if (silenceMs === 0 || !this.#everConnected) return;
    const stall = pathStall(this.#pairHistory, silenceMs === undefined ? {} : { silenceMs });
    if (!stall || stall.pairId === this.#deadPairId) return;
    this.#deadPairId = stall.pairId;
    this.#recover(`relay path silent for ${(stall.silentMs / 1000).toFixed(1)} s`, this.#ownExclusions());
  }

  /**
   * Follows the ICE transport's selected pair (webrtc-pc §5.6 RTCIceTransport `selectedcandidatepairchange`),
   * so a new path — the result of an ICE restart — is noticed the moment Chromium switches to it, not at the
   * next quality sample. With bundling there is one transport; it survives ICE restarts.
   */
  #watchIceTransport(): void {
    const transport = this.pc.getSenders().find((sender) => sender.transport)?.transport?.iceTransport;
    if (!transport || transport === this.#iceTransport) return;
    if (this.#iceTransport) this.#iceTransport.onselectedcandidatepairchange = null;
    this.#iceTransport = transport;
    transport.onselectedcandidatepairchange = () => {
      const pair = transport.getSelectedCandidatePair?.();
      if (pair) this.#onSelectedPair(`${pair.local?.candidate ?? ""}|${pair.remote?.candidate ?? ""}`);
    };
  }

  /** A different selected pair after media flowed: the far decoder lost packets on the old path. */
  #onSelectedPair(key: string): void {
    const previous = this.#selectedPairKey;
    this.#selectedPairKey = key;
    if (previous === undefined || previous === key || !this.#everConnected || this.#closed) return;
    void this.#sendKeyFrames();
  }

  /**
   * Makes each video sender start again with a keyframe, by deactivating and reactivating its encodings
   * (webrtc-pc §5.2 setParameters; Chromium has no RTCRtpSender.generateKeyFrame). After a path change
   * the remote decoder lost frames: Chromium's receiver requests a keyframe (PLI) only ~3 s after its last
   * decodable frame, and the request it sent while the path was dead is lost — measured here, video
   * resumed ~2.8 s after the new path carried packets. Sending the keyframe unasked takes ~0.1 s.
   */
  async #sendKeyFrames(): Promise<void> {
    const now = Date.now();
    if (now - this.#keyFramesAt < 1000) return;
    this.#keyFramesAt = now;
    for (const sender of this.pc.getSenders()) {
      if (sender.track?.kind !== "video") continue;
      let active: boolean[];
      try {
        const parameters = sender.getParameters();
        active = parameters.encodings.map((encoding) => encoding.active !== false);
        if (!active.some(Boolean)) continue;
        for (const encoding of parameters.encodings) encoding.active = false;
        await sender.setParameters(parameters);
      } catch {
        // Only a shortcut: without it the receiver asks for a keyframe itself, a few seconds later.
        continue;
      }
      await this.#restoreEncodings(sender, active);
    }
  }

  /** Reactivates the encodings #sendKeyFrames turned off (a second try if something changed them meanwhile). */
  async #restoreEncodings(sender: RTCRtpSender, active: readonly boolean[]): Promise<void> {
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        const parameters = sender.getParameters();
        parameters.encodings.forEach((encoding, index) => {
          encoding.active = active[index] ?? true;
        });
        await sender.setParameters(parameters);
        return;
      } catch (error) {
        if (attempt === 1) this.#report("keyframe", error);
      }
    }
  }

  #onQuality(report: QualityReport): void {
    const pair = this.quality.counters?.selectedPair;
    if (pair && !this.#closed) {
      this.#onPairSample({ ...pair, at: report.at });
      // Browsers without RTCIceTransport events: the sample notices the new pair (within a second).
      if (!this.#iceTransport) this.#onSelectedPair(pair.id);
    }
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

  #clearTimer(name: "detection" | "restartWatchdog" | "requestFallback"): void {
    if (name === "detection") {
      if (this.#detectionTimer !== undefined) clearTimeout(this.#detectionTimer);
      this.#detectionTimer = undefined;
    } else if (name === "restartWatchdog") {
      if (this.#restartWatchdog !== undefined) clearTimeout(this.#restartWatchdog);
      this.#restartWatchdog = undefined;
    } else {
      if (this.#requestFallback !== undefined) clearTimeout(this.#requestFallback);
      this.#requestFallback = undefined;
    }
  }

  #clearTimers(): void {
    this.#clearTimer("detection");
    this.#clearTimer("restartWatchdog");
    this.#clearTimer("requestFallback");
    if (this.#initialOfferTimer !== undefined) clearTimeout(this.#initialOfferTimer);
    if (this.#offerTimer !== undefined) clearTimeout(this.#offerTimer);
    this.#initialOfferTimer = this.#offerTimer = undefined;
  }

  #report(step: string, error: unknown): void {
    if (this.#closed) return;
    const message = error instanceof Error ? error.message : String(error);
    const code = error instanceof SwitchboardError ? error.code : "internal";
    this.emit("error", new SwitchboardError(code, `${step} with ${this.remotePeerId}: ${message}`));
  }
}
