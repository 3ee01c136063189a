/**
 * The e2e call page: joins a room with the client library's `Call` (client/src), shows the local and
 * remote video with the live path, and exposes `window.e2e` (call-api.ts) for the tests. Served by the
 * tests themselves at the worker's origin (Playwright routes `/__e2e/*`), so the page, `/v1/ice`,
 * `/dev/token` and the room socket share one origin and nothing is added to the demo's assets.
 */
import { Call, IceConfigProvider } from "../../../client/src/index.ts";
import type { IceConfigResponse, IceServer } from "../../../protocol/ice.ts";
import type { CallSnapshot, CandidateInfo, E2eHandle, JoinOptions, PageEvent, PairInfo, PeerSnapshot, TurnTransport } from "./call-api.ts";

declare global {
  interface Window {
    e2e: E2eHandle;
  }
}

const events: PageEvent[] = [];
const iceRequests: string[] = [];
const restarts = new Map<string, number>();
let call: Call | undefined;
let localStream: MediaStream | undefined;

function record(kind: string, detail: string): void {
  events.push({ at: Date.now(), kind, detail });
  if (events.length > 2000) events.shift();
}

function byId<T extends HTMLElement>(id: string): T {
  const element = document.getElementById(id);
  if (!element) throw new Error(`#${id} is missing`);
  return element as T;
}

/** Whether a TURN/STUN URL is one the test asked for. */
function keepUrl(url: string, transport: TurnTransport): boolean {
  if (transport === "all") return true;
  const lower = url.toLowerCase();
  if (transport === "tls") return lower.startsWith("turns:");
  if (!lower.startsWith("turn:")) return false;
  const query = /[?&]transport=(udp|tcp)/.exec(lower)?.[1] ?? "udp";
  return query === transport;
}

function filterServers(servers: IceServer[], transport: TurnTransport): IceServer[] {
  return servers
    .map((server) => ({ ...server, urls: server.urls.filter((url) => keepUrl(url, transport)) }))
    .filter((server) => server.urls.length > 0);
}

/** fetch for the ICE provider: records each request and keeps only the wanted TURN URLs of the answer. */
function iceFetch(transport: TurnTransport): typeof fetch {
  return async (input, init) => {
    const url = input instanceof Request ? input.url : String(input);
    iceRequests.push(url);
    record("ice-request", url);
    const response = await fetch(input, init);
    if (!response.ok || transport === "all") return response;
    const body = (await response.json()) as IceConfigResponse;
    const filtered: IceConfigResponse = {
      ...body,
      iceServers: filterServers(body.iceServers, transport),
      ...(body.backup ? { backup: { ...body.backup, iceServers: filterServers(body.backup.iceServers, transport) } } : {}),
    };
    return new Response(JSON.stringify(filtered), { status: response.status, headers: { "content-type": "application/json" } });
  };
}

async function devToken(room: string, user: string): Promise<string> {
  const response = await fetch(`/dev/token?room=${encodeURIComponent(room)}&user=${encodeURIComponent(user)}`);
  if (!response.ok) throw new Error(`GET /dev/token answered ${response.status}: ${await response.text()}`);
  return ((await response.json()) as { token: string }).token;
}

async function join(options: JoinOptions): Promise<{ peerId: string }> {
  if (call) throw new Error("already in a call");
  byId("title").textContent = `${options.user} in ${options.room}${options.forceRelay ? " · relay only" : ""} · TURN ${options.transport}`;
  const token = await devToken(options.room, options.user);
  localStream = await navigator.mediaDevices.getUserMedia({ video: { width: 320, height: 240, frameRate: 15 }, audio: false });
  byId<HTMLVideoElement>("local").srcObject = localStream;
  const ice = new IceConfigProvider({ baseUrl: location.origin, token, room: options.room, fetch: iceFetch(options.transport) });
  // Built and subscribed before start(), so nothing the room sends right after the welcome goes unrecorded.
  const joined = new Call({
    baseUrl: location.origin,
    room: options.room,
    token,
    localStream,
    forceRelay: options.forceRelay,
    ice,
    metadata: { name: options.user },
    // Reconnect quickly: the signaling-drop test measures the resume, not the backoff.
    roomOptions: { backoff: { initialDelayMs: 100, maxDelayMs: 1000 } },
    ...(options.peerOptions ? { peerOptions: options.peerOptions } : {}),
  });
  const room = joined.room;
  room.on("state", ({ state, previous }) => record("room-state", `${previous}->${state}`));
  room.on("welcome", (welcome) => record("welcome", JSON.stringify({ resumed: welcome.resumed, sessionReset: welcome.sessionReset })));
  room.on("error", (error) => record("room-error", `${error.code}: ${error.message}`));
  room.on("signal", ({ from, data }) => record("signal-in", `${from} ${signalKind(data)}`));
  joined.on("peer-joined", ({ peerId }) => record("peer-joined", peerId));
  joined.on("peer-left", ({ peerId, reason }) => record("peer-left", `${peerId} ${reason}`));
  joined.on("state", ({ peerId, connectionState, iceConnectionState }) =>
    record("pc-state", `${peerId} ${connectionState}/${iceConnectionState}`),
  );
  joined.on("restart", ({ peerId, reason, excludedNodeId, attempt }) => {
    restarts.set(peerId, (restarts.get(peerId) ?? 0) + 1);
    record("restart", `${peerId} #${attempt} ${reason}${excludedNodeId ? ` exclude=${excludedNodeId}` : ""}`);
  });
  joined.on("warning", ({ code, message }) => record("warning", `${code}: ${message}`));
  joined.on("error", (error) => record("error", `${error.code}: ${error.message}`));
  joined.on("track", ({ peerId, stream }) => showRemote(peerId, stream));
  joined.on("peer-joined", (peer) => watchSignaling(peer.peerId, peer.connection.pc));
  call = joined;
  await joined.start();
  // Peers already in the room when we joined (created from the welcome).
  for (const peer of joined.peers.values()) watchSignaling(peer.peerId, peer.connection.pc);
  record("joined", joined.peerId ?? "?");
  return { peerId: joined.peerId ?? "" };
}

const watched = new WeakSet<RTCPeerConnection>();

function watchSignaling(peerId: string, pc: RTCPeerConnection): void {
  if (watched.has(pc)) return;
  watched.add(pc);
  pc.addEventListener("signalingstatechange", () => record("signaling-state", `${peerId} ${pc.signalingState}`));
}

/** "offer", "answer", "candidate" or "other", for the event log. */
function signalKind(data: unknown): string {
  const signal = data as { description?: { type?: string }; candidate?: unknown };
  if (signal?.description?.type) return signal.description.type;
  return signal?.candidate ? "candidate" : "other";
}

function showRemote(peerId: string, stream: MediaStream): void {
  let tile = document.getElementById(`peer-${peerId}`);
  if (!tile) {
    tile = document.createElement("figure");
    tile.id = `peer-${peerId}`;
    tile.className = "tile";
    const video = document.createElement("video");
    video.autoplay = true;
    video.muted = true;
    video.playsInline = true;
    const caption = document.createElement("figcaption");
    caption.textContent = `peer ${peerId}`;
    tile.append(video, caption);
    byId("remotes").append(tile);
  }
  const video = tile.querySelector("video");
  if (video && video.srcObject !== stream) video.srcObject = stream;
}

function candidateInfo(stat: Record<string, unknown> | undefined): CandidateInfo | undefined {
  if (!stat) return undefined;
  const pick = <T>(key: string, type: "string" | "number"): T | undefined => (typeof stat[key] === type ? (stat[key] as T) : undefined);
  return {
    candidateType: pick("candidateType", "string"),
    address: pick("address", "string"),
    port: pick("port", "number"),
    protocol: pick("protocol", "string"),
    relayProtocol: pick("relayProtocol", "string"),
    url: pick("url", "string"),
  };
}

async function peerSnapshot(peerId: string, pc: RTCPeerConnection): Promise<PeerSnapshot> {
  const stats = await pc.getStats();
  const byStatId = new Map<string, Record<string, unknown>>();
  for (const stat of stats.values() as Iterable<Record<string, unknown>>) byStatId.set(String(stat.id), stat);
  const pairInfo = (pair: Record<string, unknown>): PairInfo => ({
    state: typeof pair.state === "string" ? pair.state : undefined,
    nominated: pair.nominated === true,
    local: candidateInfo(byStatId.get(String(pair.localCandidateId))),
    remote: candidateInfo(byStatId.get(String(pair.remoteCandidateId))),
    requestsSent: typeof pair.requestsSent === "number" ? pair.requestsSent : undefined,
    responsesReceived: typeof pair.responsesReceived === "number" ? pair.responsesReceived : undefined,
  });
  let selected: PairInfo | undefined;
  const pairs: PairInfo[] = [];
  const localCandidates: CandidateInfo[] = [];
  let framesDecoded = 0;
  for (const stat of byStatId.values()) {
    if (stat.type === "transport" && typeof stat.selectedCandidatePairId === "string") {
      const pair = byStatId.get(stat.selectedCandidatePairId);
      if (pair) selected = pairInfo(pair);
    } else if (stat.type === "candidate-pair") {
      pairs.push(pairInfo(stat));
    } else if (stat.type === "local-candidate") {
      const info = candidateInfo(stat);
      if (info) localCandidates.push(info);
    } else if (stat.type === "inbound-rtp" && stat.kind === "video" && typeof stat.framesDecoded === "number") {
      framesDecoded += stat.framesDecoded;
    }
  }
  return {
    peerId,
    connectionState: pc.connectionState,
    iceConnectionState: pc.iceConnectionState,
    signalingState: pc.signalingState,
    ...(selected ? { selected } : {}),
    pairs,
    localCandidates,
    framesDecoded,
    restarts: restarts.get(peerId) ?? 0,
  };
}

async function snapshot(): Promise<CallSnapshot> {
  if (!call) return { peers: [] };
  const peers = await Promise.all([...call.peers.values()].map((peer) => peerSnapshot(peer.peerId, peer.connection.pc)));
  return { peerId: call.peerId, roomState: call.room.state, iceNodeId: call.iceConfig?.nodeId, peers };
}

/** Keeps the status line current, so screenshots show what the test saw. */
async function renderStatus(): Promise<void> {
  const state = await snapshot();
  const lines = [`room ${state.roomState ?? "-"} · me ${state.peerId ?? "-"} · ICE node ${state.iceNodeId ?? "-"}`];
  for (const peer of state.peers) {
    const local = peer.selected?.local;
    const remote = peer.selected?.remote;
    lines.push(
      `${peer.peerId}: ${peer.connectionState} · ${local?.candidateType ?? "?"}${local?.relayProtocol ? `/${local.relayProtocol}` : ""} ` +
        `${local?.address ?? ""}:${local?.port ?? ""} ↔ ${remote?.candidateType ?? "?"} ${remote?.address ?? ""}:${remote?.port ?? ""} · ` +
        `${peer.framesDecoded} frames decoded · ${peer.restarts} restarts`,
    );
  }
  byId("status").textContent = lines.join("\n");
}

async function leave(): Promise<void> {
  const current = call;
  call = undefined;
  await current?.leave();
  for (const track of localStream?.getTracks() ?? []) track.stop();
}

window.e2e = { join, snapshot, leave, events, iceRequests };
setInterval(() => void renderStatus().catch(() => {}), 500);
document.body.dataset.ready = "1";
