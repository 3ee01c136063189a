/** The in-call screen: top bar with controls, notices, the video grid, and the room-wide quality table. */
import type { Call, CallPeer, QualityReport, RoomState } from "../src/index.ts";
import { h, ICONS, icon } from "./dom.ts";
import { explainFailure } from "./explain.ts";
import { formatBitrate, pathLabel } from "./format.ts";
import type { LocalMedia } from "./media.ts";
import { Notices } from "./notices.ts";
import { Tile } from "./tile.ts";

/** Options of the call view. */
export interface CallViewOptions {
  call: Call;
  room: string;
  name: string;
  media: LocalMedia;
  onLeave: () => void;
}

const STATE_LABEL: Record<RoomState, string> = {
  idle: "Starting",
  connecting: "Connecting",
  connected: "Connected",
  reconnecting: "Reconnecting…",
  closed: "Left",
  failed: "Disconnected",
};

/** Renders the call into `root` and keeps it in sync with `call`'s events. */
export class CallView {
  readonly notices: Notices;
  readonly #options: CallViewOptions;
  readonly #tiles = new Map<string, Tile>();
  readonly #grid: HTMLElement;
  readonly #local: Tile;
  readonly #statePill: HTMLElement;
  readonly #count: HTMLElement;
  readonly #qualityBody: HTMLElement;
  readonly #emptyHint: HTMLElement;
  readonly #relaySwitch: HTMLInputElement;
  /** Latest report per "from→to" pair, ours and those others shared. */
  readonly #pairs = new Map<string, { from: string; report: QualityReport }>();
  readonly #reconnectingPeers = new Set<string>();
  readonly #resizeObserver: ResizeObserver;
  #qualityTimer: ReturnType<typeof setInterval> | undefined;

  constructor(root: HTMLElement, options: CallViewOptions) {
    this.#options = options;
    const { call, media } = options;
    this.#local = new Tile({ peerId: call.peerId ?? "local", name: options.name, local: true });
    this.#local.setStream(media.stream);
    this.#local.setLocalSource(media.source, call.forceRelay);
    this.#statePill = h("span", { class: "state-pill", "data-state": call.room.state }, STATE_LABEL[call.room.state]);
    this.#count = h("span", { class: "count" });
    this.#relaySwitch = h("input", { type: "checkbox", role: "switch", id: "call-force-relay" });
    this.#relaySwitch.checked = call.forceRelay;
    this.#relaySwitch.addEventListener("change", () => void this.#setForceRelay(this.#relaySwitch.checked));
    this.#emptyHint = h(
      "div",
      { class: "empty-hint" },
      h("div", { class: "pulse" }),
      h("strong", {}, "Waiting for others to join"),
      h("span", { class: "muted" }, "Share the link and they will appear here."),
      h(
        "button",
        { class: "button button-secondary", type: "button", onclick: () => void this.#copyLink() },
        icon(ICONS.link),
        "Copy invite link",
      ),
    );
    this.#grid = h("section", { class: "grid", "aria-label": "Participants" }, this.#local.element, this.#emptyHint);
    this.#qualityBody = h("tbody", {});
    const noticeArea = h("div", { class: "notices notices-call" });
    this.notices = new Notices(noticeArea);

    const audioTrack = media.stream.getAudioTracks()[0];
    const videoTrack = media.stream.getVideoTracks()[0];
    const micButton = this.#toggleButton("Microphone", ICONS.mic, ICONS.micOff, audioTrack);
    const camButton = this.#toggleButton("Camera", ICONS.video, ICONS.videoOff, media.source === "camera" ? videoTrack : undefined);

    root.replaceChildren(
      h(
        "div",
        { class: "call" },
        h(
          "header",
          { class: "topbar" },
          h(
            "div",
            { class: "topbar-left" },
            h("div", { class: "brand-mark small" }, icon(ICONS.users)),
            h("div", { class: "room-title" }, h("strong", { class: "room-name" }, options.room), this.#count),
            this.#statePill,
          ),
          h(
            "div",
            { class: "topbar-controls" },
            micButton,
            camButton,
            h(
              "label",
              { class: "switch-row compact", for: "call-force-relay", title: "Send all media through the TURN relay" },
              this.#relaySwitch,
              h("span", { class: "switch" }),
              h("span", { class: "switch-text" }, "Force relay"),
            ),
            h(
              "button",
              { class: "button button-secondary", type: "button", onclick: () => void this.#copyLink(), title: "Copy invite link" },
              icon(ICONS.link),
              h("span", { class: "hide-narrow" }, "Invite"),
            ),
            h(
              "button",
              { class: "button button-danger", type: "button", id: "leave", onclick: () => options.onLeave() },
              icon(ICONS.leave),
              h("span", { class: "hide-narrow" }, "Leave"),
            ),
          ),
        ),
        noticeArea,
        h("main", { class: "stage" }, this.#grid),
        h(
          "section",
          { class: "card quality-panel" },
          h(
            "header",
            {},
            h("h2", {}, "Connection quality"),
            h("span", { class: "muted" }, "as every participant measures it, shared through the room each second"),
          ),
          h(
            "div",
            { class: "table-wrap" },
            h(
              "table",
              { class: "quality-table" },
              h(
                "thead",
                {},
                h(
                  "tr",
                  {},
                  h("th", {}, "From"),
                  h("th", {}, "To"),
                  h("th", {}, "Path"),
                  h("th", {}, "RTT"),
                  h("th", {}, "Jitter"),
                  h("th", {}, "Loss"),
                  h("th", {}, "In"),
                  h("th", {}, "Out"),
                ),
              ),
              this.#qualityBody,
            ),
          ),
        ),
      ),
    );

    this.#resizeObserver = new ResizeObserver(() => {
      for (const tile of this.#tiles.values()) tile.redraw();
    });
    this.#resizeObserver.observe(this.#grid);
    for (const peer of call.peers.values()) this.#addPeer(peer);
    this.#wire();
    for (const warning of call.warnings) this.#showWarning(warning.code, warning.message);
    this.#updateCount();
    this.#qualityTimer = setInterval(() => this.#renderQuality(), 1000);
    if (media.source === "test-pattern") {
      this.notices.show(
        "media",
        "warning",
        "Camera not used — sending a test pattern.",
        media.fallbackReason ? `Reason: ${media.fallbackReason}.` : undefined,
      );
    }
  }

  /** Stops timers and observers (the view is being replaced). */
  dispose(): void {
    if (this.#qualityTimer !== undefined) clearInterval(this.#qualityTimer);
    this.#resizeObserver.disconnect();
  }

  #wire(): void {
    const call = this.#options.call;
    call.on("peer-joined", (peer) => {
      this.#addPeer(peer);
      // The newcomer announces its display name right after joining (peer-updated): wait a moment for it.
      setTimeout(() => {
        if (this.#tiles.has(peer.peerId))
          this.notices.show(`joined-${peer.peerId}`, "info", `${this.#nameOf(peer.peerId)} joined.`, undefined, 4000);
      }, 600);
    });
    call.on("peer-updated", (peer) => this.#tiles.get(peer.peerId)?.setName(displayName(peer)));
    call.on("peer-reset", (peer) => {
      this.#tiles.get(peer.peerId)?.setConnectionState(peer.connection.pc.connectionState);
      for (const key of [...this.#pairs.keys()]) if (key.includes(peer.peerId)) this.#pairs.delete(key);
    });
    call.on("peer-left", ({ peerId, reason }) => {
      const tile = this.#tiles.get(peerId);
      const name = tile?.element.querySelector(".tile-name")?.textContent ?? "A participant";
      tile?.element.remove();
      this.#tiles.delete(peerId);
      for (const key of [...this.#pairs.keys()]) if (key.includes(peerId)) this.#pairs.delete(key);
      this.#updateCount();
      this.notices.show(`left-${peerId}`, "info", `${name} left${reason === "timeout" ? " (connection lost)" : ""}.`, undefined, 4000);
    });
    call.on("peer-reconnecting", ({ peerId }) => {
      this.#reconnectingPeers.add(peerId);
      this.#tiles.get(peerId)?.setConnectionState(call.peers.get(peerId)?.connection.pc.connectionState ?? "new", true);
    });
    call.on("peer-resumed", ({ peerId }) => {
      this.#reconnectingPeers.delete(peerId);
      this.#tiles.get(peerId)?.setConnectionState(call.peers.get(peerId)?.connection.pc.connectionState ?? "new");
    });
    call.on("track", ({ peerId, stream }) => this.#tiles.get(peerId)?.setStream(stream));
    call.on("state", ({ peerId, connectionState }) => {
      this.#tiles.get(peerId)?.setConnectionState(connectionState, this.#reconnectingPeers.has(peerId));
      if (connectionState === "connected") this.notices.hide(`ice-${peerId}`);
    });
    call.on("quality", (report) => {
      this.#tiles.get(report.peerId)?.setQuality(report);
      if (call.peerId) this.#pairs.set(`${call.peerId}→${report.peerId}`, { from: call.peerId, report });
    });
    call.on("remote-quality", ({ from, reports }) => {
      for (const report of reports) this.#pairs.set(`${from}→${report.peerId}`, { from, report });
    });
    call.on("restart", ({ peerId, excludedNodeId, reason }) => {
      const name = this.#nameOf(peerId);
      this.notices.show(
        `ice-${peerId}`,
        "warning",
        `Reconnecting media with ${name}…`,
        `${capitalize(reason)}; fetching fresh relay credentials${excludedNodeId ? ` and avoiding relay node ${excludedNodeId}` : ""}.`,
      );
    });
    call.on("room-state", (state) => {
      this.#statePill.dataset.state = state;
      this.#statePill.textContent = STATE_LABEL[state];
      if (state === "reconnecting")
        this.notices.show(
          "signaling",
          "warning",
          "Signaling connection lost — reconnecting…",
          "Media keeps flowing; nothing you send is lost.",
        );
      if (state === "connected") this.notices.hide("signaling");
    });
    call.on("welcome", (welcome) => {
      if (welcome.resumed) this.notices.show("signaling", "info", "Signaling resumed.", undefined, 3000);
      if (welcome.sessionReset)
        this.notices.show("signaling", "warning", "Rejoined the room as a new participant.", "The earlier session had expired.");
    });
    call.on("warning", ({ code, message }) => this.#showWarning(code, message));
    call.on("error", (error) => {
      if (error.fatal) {
        const { title, detail, technical } = explainFailure(error.code, error.message);
        this.notices.show("fatal", "error", title, detail, undefined, technical);
        this.#statePill.dataset.state = "failed";
      } else if (error.code === "ice_failed") {
        this.notices.show(`ice-${error.peerId ?? ""}`, "error", "Could not connect media.", error.message);
      }
    });
  }

  #showWarning(code: string, message: string): void {
    const title =
      code === "no_turn_nodes"
        ? "No TURN relay is available right now."
        : code === "turn_unreachable"
          ? "The TURN relay is unreachable."
          : code === "turn_refused"
            ? "The TURN relay refused our credentials."
            : "Relay configuration problem.";
    this.notices.show(`warning-${code}`, "warning", title, `${capitalize(message)}.`);
  }

  #addPeer(peer: CallPeer): void {
    if (this.#tiles.has(peer.peerId)) return;
    const tile = new Tile({ peerId: peer.peerId, name: displayName(peer) });
    this.#tiles.set(peer.peerId, tile);
    this.#grid.insertBefore(tile.element, this.#emptyHint);
    if (peer.stream.getTracks().length > 0) tile.setStream(peer.stream);
    tile.setConnectionState(peer.connection.pc.connectionState);
    this.#updateCount();
  }

  #updateCount(): void {
    const total = this.#tiles.size + 1;
    this.#count.textContent = `${total} participant${total === 1 ? "" : "s"}`;
    this.#grid.dataset.count = String(total);
    this.#emptyHint.hidden = this.#tiles.size > 0;
  }

  async #setForceRelay(forceRelay: boolean): Promise<void> {
    const { call, media } = this.#options;
    call.setForceRelay(forceRelay);
    this.#local.setLocalSource(media.source, forceRelay);
    this.notices.show(
      "relay",
      "info",
      forceRelay ? "Relay only: reconnecting everyone through TURN." : "Direct paths allowed again: reconnecting.",
      undefined,
      4000,
    );
  }

  #toggleButton(label: string, onIcon: string, offIcon: string, track: MediaStreamTrack | undefined): HTMLButtonElement {
    const button = h("button", {
      class: "icon-button round",
      type: "button",
      title: track ? `Turn ${label.toLowerCase()} off` : `${label} unavailable`,
      "aria-pressed": "true",
    });
    button.append(icon(track ? onIcon : offIcon, label));
    if (!track) {
      button.disabled = true;
      return button;
    }
    button.addEventListener("click", () => {
      track.enabled = !track.enabled;
      button.replaceChildren(icon(track.enabled ? onIcon : offIcon, label));
      button.setAttribute("aria-pressed", String(track.enabled));
      button.classList.toggle("off", !track.enabled);
      button.title = `Turn ${label.toLowerCase()} ${track.enabled ? "off" : "on"}`;
    });
    return button;
  }

  async #copyLink(): Promise<void> {
    const url = new URL(location.pathname, location.origin);
    url.searchParams.set("room", this.#options.room);
    try {
      await navigator.clipboard.writeText(url.toString());
      this.notices.show("copied", "info", "Invite link copied.", url.toString(), 3000);
    } catch {
      this.notices.show("copied", "info", "Share this link:", url.toString(), 8000);
    }
  }

  #nameOf(peerId: string): string {
    const call = this.#options.call;
    if (peerId === call.peerId) return this.#options.name;
    const peer = call.peers.get(peerId);
    if (peer) return displayName(peer);
    const info = call.room.peers.get(peerId);
    return (info?.metadata.name as string | undefined) ?? info?.name ?? peerId.slice(0, 6);
  }

  #renderLocalSummary(): void {
    const call = this.#options.call;
    let outboundKbps = 0;
    let rttSum = 0;
    let rttCount = 0;
    for (const peer of call.peers.values()) {
      if (!peer.quality) continue;
      outboundKbps += peer.quality.outboundKbps;
      if (peer.quality.rttMs !== undefined) {
        rttSum += peer.quality.rttMs;
        rttCount++;
      }
    }
    const settings = this.#options.media.stream.getVideoTracks()[0]?.getSettings();
    this.#local.setLocalSummary({
      outboundKbps,
      rttMs: rttCount > 0 ? rttSum / rttCount : undefined,
      peers: call.peers.size,
      width: settings?.width,
      height: settings?.height,
      fps: settings?.frameRate,
    });
  }

  #renderQuality(): void {
    this.#renderLocalSummary();
    const rows = [...this.#pairs.values()].sort((a, b) => a.from.localeCompare(b.from) || a.report.peerId.localeCompare(b.report.peerId));
    const now = Date.now();
    this.#qualityBody.replaceChildren(
      ...(rows.length === 0
        ? [h("tr", {}, h("td", { colspan: 8, class: "muted empty-row" }, "Quality appears here once participants are connected."))]
        : rows.map(({ from, report }) => {
            const path = pathLabel(report);
            const stale = now - report.at > 5000;
            return h(
              "tr",
              { class: stale ? "stale" : "" },
              h("td", {}, this.#nameOf(from)),
              h("td", {}, this.#nameOf(report.peerId)),
              h("td", {}, h("span", { class: `badge badge-${path.tone}`, title: path.title }, path.text)),
              h("td", { class: "num" }, report.rttMs === undefined ? "–" : `${Math.round(report.rttMs)} ms`),
              h("td", { class: "num" }, report.jitterMs === undefined ? "–" : `${report.jitterMs.toFixed(1)} ms`),
              h("td", { class: "num" }, report.packetLossPct === undefined ? "–" : `${report.packetLossPct.toFixed(1)}%`),
              h("td", { class: "num" }, formatBitrate(report.inboundKbps)),
              h("td", { class: "num" }, formatBitrate(report.outboundKbps)),
            );
          })),
    );
  }
}

/** The name to show for a peer: metadata name, token name, or a short id. */
export function displayName(peer: CallPeer): string {
  const name = peer.info?.metadata.name;
  if (typeof name === "string" && name.trim()) return name;
  return peer.info?.name ?? "Guest";
}

function capitalize(text: string): string {
  return text ? `${text[0]?.toUpperCase()}${text.slice(1)}` : text;
}
