/** A small live chart of RTT (line) and bitrate (filled area) on a canvas, each series on its own scale. */

/** One chart point. */
export interface ChartSample {
  rttMs?: number;
  kbps: number;
}

const RTT_COLOR = "#38bdf8";
const BITRATE_COLOR = "#a78bfa";

/** Keeps the last `capacity` samples and redraws on each `push`. */
export class QualityChart {
  readonly canvas: HTMLCanvasElement;
  readonly #samples: ChartSample[] = [];
  readonly #capacity: number;

  constructor(capacity = 60) {
    this.#capacity = capacity;
    this.canvas = document.createElement("canvas");
    this.canvas.className = "chart";
    this.canvas.setAttribute("role", "img");
    this.canvas.setAttribute("aria-label", "round-trip time and bitrate over the last minute");
  }

  /** Adds a sample and redraws. */
  push(sample: ChartSample): void {
    this.#samples.push(sample);
    if (this.#samples.length > this.#capacity) this.#samples.shift();
    this.draw();
  }

  /** Redraws at the canvas's CSS size × devicePixelRatio (crisp on HiDPI screens). */
  draw(): void {
    const canvas = this.canvas;
    const ratio = globalThis.devicePixelRatio || 1;
    const width = Math.max(1, Math.round(canvas.clientWidth * ratio));
    const height = Math.max(1, Math.round(canvas.clientHeight * ratio));
    if (canvas.width !== width || canvas.height !== height) {
      canvas.width = width;
      canvas.height = height;
    }
    const context = canvas.getContext("2d");
    if (!context) return;
    context.clearRect(0, 0, width, height);
    const samples = this.#samples;
    if (samples.length < 2) return;
    const step = width / (this.#capacity - 1);
    const offset = (this.#capacity - samples.length) * step;
    const pad = 2 * ratio;
    // The legend sits in the top-right corner: keep the plot below it.
    const top = 16 * ratio;
    const maxKbps = Math.max(100, ...samples.map((sample) => sample.kbps)) * 1.15;
    const maxRtt = Math.max(20, ...samples.map((sample) => sample.rttMs ?? 0)) * 1.25;
    const y = (value: number, max: number) => height - pad - (value / max) * (height - pad - top);

    // Gridlines at a quarter and half height.
    context.strokeStyle = "rgba(148,163,184,0.12)";
    context.lineWidth = ratio;
    for (const fraction of [0.25, 0.5, 0.75]) {
      context.beginPath();
      context.moveTo(0, Math.round(height * fraction) + 0.5);
      context.lineTo(width, Math.round(height * fraction) + 0.5);
      context.stroke();
    }

    const gradient = context.createLinearGradient(0, 0, 0, height);
    gradient.addColorStop(0, "rgba(167,139,250,0.45)");
    gradient.addColorStop(1, "rgba(167,139,250,0.02)");
    context.beginPath();
    context.moveTo(offset, height);
    samples.forEach((sample, index) => {
      context.lineTo(offset + index * step, y(sample.kbps, maxKbps));
    });
    context.lineTo(offset + (samples.length - 1) * step, height);
    context.closePath();
    context.fillStyle = gradient;
    context.fill();
    context.beginPath();
    samples.forEach((sample, index) => {
      const x = offset + index * step;
      if (index === 0) context.moveTo(x, y(sample.kbps, maxKbps));
      else context.lineTo(x, y(sample.kbps, maxKbps));
    });
    context.strokeStyle = BITRATE_COLOR;
    context.lineWidth = 1.5 * ratio;
    context.stroke();

    context.beginPath();
    let drawing = false;
    samples.forEach((sample, index) => {
      if (sample.rttMs === undefined) {
        drawing = false;
        return;
      }
      const x = offset + index * step;
      if (drawing) context.lineTo(x, y(sample.rttMs, maxRtt));
      else context.moveTo(x, y(sample.rttMs, maxRtt));
      drawing = true;
    });
    context.strokeStyle = RTT_COLOR;
    context.lineWidth = 2 * ratio;
    context.lineJoin = "round";
    context.stroke();
  }
}
