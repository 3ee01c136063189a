/**
 * Demo page entry: lobby → call. URL parameters: `?room=&name=&forceRelay=1&autojoin=1`, and
 * `#token=<room token>` (required where the development token route is absent, i.e. production).
 * Exposes `window.switchboard` (see DebugHandle) for browser tests and curious people.
 */
import * as lib from "../src/index.ts";
import { Call, type QualityReport, SwitchboardError } from "../src/index.ts";
import { CallView } from "./call-view.ts";
import { explainFailure } from "./explain.ts";
import { type Lobby, type LobbyChoice, rememberedName, rememberJoin, renderLobby } from "./lobby.ts";
import { getLocalMedia, type LocalMedia } from "./media.ts";
import { decodeTokenClaims, fetchDevToken, TokenUnavailable, tokenFromHash } from "./token.ts";

/** What `window.switchboard.stats()` returns: enough for a test to assert a call works. */
export interface DemoStats {
  state: DemoState;
  room?: string;
  peerId?: string;
  roomState?: string;
  forceRelay?: boolean;
  localSource?: LocalMedia["source"];
  iceNodeId?: string;
  peers: {
    peerId: string;
    name?: string;
    connectionState: string;
    iceConnectionState: string;
    /** Fresh getStats() summary (framesDecoded, path, relayProtocol, rtt, …). */
    quality?: QualityReport;
  }[];
}

/** Page states (also on `<body data-state>`). */
export type DemoState = "lobby" | "joining" | "in-call" | "left";

/** The debug handle on `window.switchboard`. */
export interface DebugHandle {
  /** The client library itself (joinCall, Room, …) for test pages. */
  lib: typeof lib;
  state: DemoState;
  /** The running call, if any. */
  call?: Call;
  /** Warnings and errors shown so far (code: message), newest last. */
  log: string[];
  /** Joins like the lobby form does. */
  join: (choice: LobbyChoice) => Promise<void>;
  /** Leaves the call and returns to the lobby. */
  leave: () => Promise<void>;
  /** Switches relay-only on or off for every connection (rebuilt on both ends). */
  setForceRelay: (forceRelay: boolean) => void;
  /** Samples every connection now. */
  stats: () => Promise<DemoStats>;
}

declare global {
  interface Window {
    switchboard: DebugHandle;
  }
}

const root = document.getElementById("app") ?? document.body;
const params = new URLSearchParams(location.search);
const hashToken = tokenFromHash();
const hashClaims = hashToken ? decodeTokenClaims(hashToken) : undefined;

let lobby: Lobby | undefined;
let view: CallView | undefined;
let media: LocalMedia | undefined;
let current: { room: string; name: string } | undefined;

const handle: DebugHandle = {
  lib,
  state: "lobby",
  log: [],
  join,
  leave,
  setForceRelay: (forceRelay) => {
    handle.call?.setForceRelay(forceRelay);
  },
  stats,
};
window.switchboard = handle;

function setState(state: DemoState): void {
  handle.state = state;
  document.body.dataset.state = state;
}

function log(entry: string): void {
  handle.log.push(entry);
  if (handle.log.length > 100) handle.log.shift();
}

function showLobby(initial: Partial<LobbyChoice> = {}): void {
  view?.dispose();
  view = undefined;
  setState("lobby");
  lobby = renderLobby(root, {
    initial: {
      room: params.get("room") ?? hashClaims?.room ?? undefined,
      name: params.get("name") ?? hashClaims?.name ?? rememberedName(),
      forceRelay: params.get("forceRelay") === "1",
      ...initial,
    },
    tokenRoom: hashClaims?.room,
    onJoin: join,
  });
}

/** A token source for the dev route that reuses a token until a minute before it expires. */
function devTokenSource(room: string, userId: string, name: string, first: string): () => Promise<string> {
  let token = first;
  return async () => {
    const exp = decodeTokenClaims(token)?.exp;
    if (exp !== undefined && exp * 1000 - Date.now() < 60_000) token = await fetchDevToken(room, userId, name);
    return token;
  };
}

async function join(choice: LobbyChoice): Promise<void> {
  if (handle.state === "joining" || handle.state === "in-call") return;
  if (!lobby) showLobby(choice);
  const form = lobby!;
  setState("joining");
  form.notices.clear();
  form.setBusy(true, "Getting a room token…");
  // A unique user id per tab: the same person in two tabs is two participants.
  const userId = `${
    choice.name
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, "-")
      .slice(0, 24) || "guest"
  }-${crypto.randomUUID().slice(0, 8)}`;
  let token: string | (() => Promise<string>);
  try {
    token = hashToken ?? devTokenSource(choice.room, userId, choice.name, await fetchDevToken(choice.room, userId, choice.name));
  } catch (error) {
    const title =
      error instanceof TokenUnavailable && error.kind === "production" ? "No development tokens here." : "Could not get a room token.";
    form.notices.show("token", "error", title, error instanceof Error ? error.message : String(error));
    log(`token: ${String(error)}`);
    form.setBusy(false);
    setState("lobby");
    return;
  }

  form.setBusy(true, "Starting camera…");
  media = await getLocalMedia(choice.name);
  form.setBusy(true, "Joining…");
  // Built and subscribed before start(): warnings raised while joining (no TURN node) are logged too.
  const call = new Call({
    baseUrl: location.origin,
    room: choice.room,
    token,
    localStream: media.stream,
    forceRelay: choice.forceRelay,
    metadata: { name: choice.name },
  });
  call.on("warning", ({ code, message }) => log(`warning: ${code}: ${message}`));
  call.on("error", (error) => log(`error: ${error.code}: ${error.message}`));
  call.on("restart", ({ peerId, reason, excludedNodeId }) =>
    log(`restart: ${peerId}: ${reason}${excludedNodeId ? ` (excluding ${excludedNodeId})` : ""}`),
  );
  try {
    await call.start();
  } catch (error) {
    media.stop();
    media = undefined;
    const code = error instanceof SwitchboardError ? error.code : "internal";
    const { title, detail, technical } = explainFailure(code, error instanceof Error ? error.message : String(error));
    form.notices.show("join", "error", title, detail, undefined, technical);
    log(`join: ${code}: ${String(error)}`);
    form.setBusy(false);
    setState("lobby");
    return;
  }
  handle.call = call;
  current = { room: choice.room, name: choice.name };
  rememberJoin(choice.room, choice.name);
  const url = new URL(location.href);
  url.searchParams.set("room", choice.room);
  url.searchParams.delete("autojoin");
  history.replaceState(null, "", url);
  lobby = undefined;
  view = new CallView(root, { call, room: choice.room, name: choice.name, media, onLeave: () => void leave() });
  setState("in-call");
}

async function leave(): Promise<void> {
  const call = handle.call;
  handle.call = undefined;
  await call?.leave();
  media?.stop();
  media = undefined;
  setState("left");
  showLobby(current ?? {});
  lobby?.notices.show("left", "info", "You left the room.", "Join again whenever you like.", 5000);
}

async function stats(): Promise<DemoStats> {
  const call = handle.call;
  if (!call) return { state: handle.state, peers: [] };
  const reports = await call.sampleQuality();
  return {
    state: handle.state,
    room: current?.room,
    peerId: call.peerId,
    roomState: call.room.state,
    forceRelay: call.forceRelay,
    localSource: media?.source,
    iceNodeId: call.iceConfig?.nodeId,
    peers: [...call.peers.values()].map((peer) => ({
      peerId: peer.peerId,
      name: typeof peer.info?.metadata.name === "string" ? peer.info.metadata.name : peer.info?.name,
      connectionState: peer.connection.pc.connectionState,
      iceConnectionState: peer.connection.pc.iceConnectionState,
      quality: reports.find((report) => report.peerId === peer.peerId) ?? peer.quality,
    })),
  };
}

// A closing tab says goodbye at once (the socket's 1001 would too; the leave frame is explicit).
addEventListener("pagehide", () => void handle.call?.room.leave());

showLobby();
if (params.get("autojoin") === "1") {
  const room = params.get("room") ?? hashClaims?.room;
  const name = params.get("name") ?? hashClaims?.name ?? "guest";
  if (room) void join({ room, name, forceRelay: params.get("forceRelay") === "1" });
}
