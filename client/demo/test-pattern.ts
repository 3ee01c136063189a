/** A moving test pattern drawn on a canvas and captured as a video track — the stand-in for a camera. */

/** A test-pattern stream plus the function that stops drawing it. */
export interface TestPattern {
  stream: MediaStream;
  stop: () => void;
}

/** Draws colour bars, a sweeping bar, the label and a clock at 30 fps into a 640×360 canvas stream. */
export function createTestPattern(label: string): TestPattern {
  const canvas = document.createElement("canvas");
  canvas.width = 640;
  canvas.height = 360;
  const context = canvas.getContext("2d");
  if (!context) throw new Error("canvas 2d context unavailable");
  const colors = ["#e5e7eb", "#facc15", "#22d3ee", "#4ade80", "#e879f9", "#f87171", "#60a5fa"];
  const hue = [...label].reduce((sum, char) => sum + char.charCodeAt(0), 0) % 360;
  let frame = 0;
  const draw = () => {
    frame++;
    const { width, height } = canvas;
    const gradient = context.createLinearGradient(0, 0, width, height);
    gradient.addColorStop(0, `hsl(${hue} 45% 18%)`);
    gradient.addColorStop(1, `hsl(${(hue + 60) % 360} 45% 10%)`);
    context.fillStyle = gradient;
    context.fillRect(0, 0, width, height);
    const barWidth = width / colors.length;
    colors.forEach((color, index) => {
      context.fillStyle = color;
      context.globalAlpha = 0.85;
      context.fillRect(index * barWidth, height * 0.62, barWidth, height * 0.12);
    });
    context.globalAlpha = 1;
    const sweep = (frame * 4) % (width + 80);
    context.fillStyle = "rgba(255,255,255,0.12)";
    context.fillRect(sweep - 80, 0, 80, height);
    context.fillStyle = "#f8fafc";
    context.font = "600 34px system-ui, sans-serif";
    context.textAlign = "center";
    context.fillText(label, width / 2, height * 0.38);
    context.font = "500 20px ui-monospace, monospace";
    context.fillStyle = "rgba(248,250,252,0.75)";
    context.fillText(`test pattern · ${new Date().toLocaleTimeString()} · #${frame}`, width / 2, height * 0.5);
    // Corner markers make scaling and cropping visible.
    context.strokeStyle = "rgba(248,250,252,0.6)";
    context.lineWidth = 3;
    for (const [x, y, dx, dy] of [
      [12, 12, 1, 1],
      [width - 12, 12, -1, 1],
      [12, height - 12, 1, -1],
      [width - 12, height - 12, -1, -1],
    ] as const) {
      context.beginPath();
      context.moveTo(x + dx * 28, y);
      context.lineTo(x, y);
      context.lineTo(x, y + dy * 28);
      context.stroke();
    }
  };
  draw();
  // setInterval, not requestAnimationFrame: a background tab must keep sending frames.
  const timer = setInterval(draw, 1000 / 30);
  const stream = canvas.captureStream(30);
  return {
    stream,
    stop: () => {
      clearInterval(timer);
      for (const track of stream.getTracks()) track.stop();
    },
  };
}
