/** One participant's tile in the video grid: video, name, path badge, live numbers and a chart. */
import type { QualityReport } from "../src/index.ts";
import { QualityChart } from "./chart.ts";
import { append, h } from "./dom.ts";
import { formatBitrate, hueFor, initials, pathLabel } from "./format.ts";

/** Options of a tile. */
export interface TileOptions {
  peerId: string;
  name: string;
  /** The local participant: muted video, mirrored, a source badge instead of a path badge. */
  local?: boolean;
}

/** A video tile. */
export class Tile {
  readonly element: HTMLElement;
  readonly peerId: string;
  readonly #video: HTMLVideoElement;
  readonly #name: HTMLElement;
  readonly #badge: HTMLElement;
  readonly #status: HTMLElement;
  readonly #stats: HTMLElement;
  readonly #avatar: HTMLElement;
  readonly #chart: QualityChart | undefined;
  readonly #local: boolean;

  constructor(options: TileOptions) {
    this.peerId = options.peerId;
    this.#local = options.local ?? false;
    this.#video = h("video", { autoplay: true, playsinline: true, class: "tile-video" });
    this.#video.muted = this.#local;
    this.#avatar = h("div", { class: "tile-avatar" });
    this.#name = h("span", { class: "tile-name" });
    this.#badge = h("span", { class: "badge badge-pending" }, this.#local ? "You" : "Connecting");
    this.#status = h(
      "div",
      { class: "tile-status" },
      h("span", { class: "spinner" }),
      h("span", { class: "tile-status-text" }, "Connecting…"),
    );
    this.#stats = h("div", { class: "tile-stats" });
    this.#chart = new QualityChart();
    this.element = h(
      "article",
      { class: `tile${this.#local ? " tile-local" : ""}`, "data-peer-id": options.peerId, "data-state": this.#local ? "connected" : "new" },
      h("div", { class: "tile-media" }, this.#avatar, this.#video, this.#local ? null : this.#status),
      h("div", { class: "tile-overlay-top" }, this.#name, this.#badge),
      h(
        "footer",
        { class: "tile-footer" },
        this.#stats,
        this.#chart
          ? h(
              "div",
              { class: "tile-chart" },
              this.#chart.canvas,
              h(
                "div",
                { class: "chart-legend" },
                h("span", { class: "legend-rtt" }, "RTT"),
                h("span", { class: "legend-bitrate" }, "bitrate"),
              ),
            )
          : null,
      ),
    );
    this.setName(options.name);
    this.#renderStats(undefined);
  }

  /** Shows `stream` in the tile. */
  setStream(stream: MediaStream): void {
    if (this.#video.srcObject !== stream) this.#video.srcObject = stream;
    this.element.classList.toggle("has-video", stream.getVideoTracks().length > 0);
    // Autoplay can be refused until the person interacts (HTML autoplay policy); joining was a click.
    this.#video.play().catch(() => {});
  }

  /** Updates the display name and avatar. */
  setName(name: string): void {
    this.#name.textContent = this.#local ? `${name} (you)` : name;
    this.#avatar.textContent = initials(name);
    this.#avatar.style.setProperty("--hue", String(hueFor(name)));
  }

  /** The local tile's badge: where the video comes from and whether relay-only is on. */
  setLocalSource(source: "camera" | "test-pattern", forceRelay: boolean): void {
    this.#badge.className = `badge ${forceRelay ? "badge-relay" : "badge-neutral"}`;
    // Mirror only a camera (people expect a mirror); a mirrored test pattern would read backwards.
    this.element.classList.toggle("mirror", source === "camera");
    this.#badge.textContent = `${source === "camera" ? "Camera" : "Test pattern"}${forceRelay ? " · relay only" : ""}`;
  }

  /** Reflects the peer connection state (overlay while not connected). */
  setConnectionState(state: string, signalingReconnecting = false): void {
    this.element.dataset.state = state;
    const text = signalingReconnecting
      ? "Peer reconnecting…"
      : state === "connected"
        ? ""
        : state === "failed"
          ? "Connection failed — retrying…"
          : state === "disconnected"
            ? "Connection interrupted…"
            : "Connecting…";
    this.#status.hidden = text === "";
    const label = this.#status.querySelector(".tile-status-text");
    if (label) label.textContent = text;
  }

  /** Shows a quality sample: badge, numbers, chart. */
  setQuality(report: QualityReport): void {
    if (!this.#local) {
      const path = pathLabel(report);
      this.#badge.className = `badge badge-${path.tone}`;
      this.#badge.textContent = path.text;
      this.#badge.title = path.title;
      this.element.dataset.path = report.path;
    }
    this.#renderStats(report);
    this.#chart?.push({ rttMs: report.rttMs, kbps: report.inboundKbps });
  }

  /** The local tile's footer: what we send, to how many peers, and the average RTT across them. */
  setLocalSummary(summary: { outboundKbps: number; rttMs?: number; peers: number; width?: number; height?: number; fps?: number }): void {
    const item = (label: string, value: string, className = "") => h("span", { class: `stat ${className}` }, h("em", {}, label), value);
    this.#stats.replaceChildren();
    append(
      this.#stats,
      item("RTT avg", summary.rttMs === undefined ? "–" : `${Math.round(summary.rttMs)} ms`, "stat-rtt"),
      item("↑", formatBitrate(summary.outboundKbps), "stat-bitrate"),
      item("to", `${summary.peers} peer${summary.peers === 1 ? "" : "s"}`),
      summary.width && summary.height ? item("video", `${summary.width}×${summary.height}`) : null,
      summary.fps ? item("fps", String(Math.round(summary.fps))) : null,
    );
    this.#chart?.push({ rttMs: summary.rttMs, kbps: summary.outboundKbps });
  }

  /** Redraws the chart (after a layout change). */
  redraw(): void {
    this.#chart?.draw();
  }

  #renderStats(report: QualityReport | undefined): void {
    const item = (label: string, value: string, className = "") => h("span", { class: `stat ${className}` }, h("em", {}, label), value);
    if (this.#local) {
      this.setLocalSummary({ outboundKbps: 0, peers: 0 });
      return;
    }
    this.#stats.replaceChildren(
      item("RTT", report?.rttMs === undefined ? "–" : `${Math.round(report.rttMs)} ms`, "stat-rtt"),
      item("↓", report ? formatBitrate(report.inboundKbps) : "–", "stat-bitrate"),
      item("↑", report ? formatBitrate(report.outboundKbps) : "–"),
      item("loss", report?.packetLossPct === undefined ? "–" : `${report.packetLossPct.toFixed(1)}%`),
      item("fps", report?.framesPerSecond === undefined ? "–" : String(Math.round(report.framesPerSecond))),
    );
  }
}
