/**
 * The demo page in real Chromium against the real worker (`wrangler dev`): two browser contexts join one
 * room through the lobby, the call connects and video frames are decoded on both sides; and each failure
 * the page must explain (camera refused, token refused, no development token route, room full) shows
 * its message. Screenshots land in test-results/screenshots/.
 */
import { mkdirSync } from "node:fs";
import { resolve } from "node:path";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { Room } from "../../client/src/room.ts";
import { launchChromium } from "../support/browser.ts";
import { devToken } from "../support/dev-token.ts";
import { acquireE2eLock } from "../support/e2e-lock.ts";
import { eventually } from "../support/wait.ts";
import { type RunningWorker, startWorker } from "../support/worker.ts";

const SCREENSHOTS = resolve(import.meta.dirname, "../../test-results/screenshots");

/** What the page's `window.switchboard.stats()` returns (client/demo/main.ts DemoStats), as far as tests read it. */
interface PeerStats {
  peerId: string;
  name?: string;
  connectionState: string;
  quality?: { framesDecoded: number; path: string; localCandidateType?: string; inboundKbps: number; rttMs?: number };
}
interface DemoStats {
  state: string;
  peerId?: string;
  roomState?: string;
  localSource?: string;
  peers: PeerStats[];
}
interface DemoWindow {
  switchboard: { stats: () => Promise<DemoStats>; log: string[] };
}

let dev: RunningWorker;
let browser: Browser;
let release: (() => void) | undefined;
const contexts: BrowserContext[] = [];

beforeAll(async () => {
  // One browser scenario at a time on this 2-core machine (shared with the other e2e files).
  release = await acquireE2eLock("demo-call");
  mkdirSync(SCREENSHOTS, { recursive: true });
  // Port 0: wrangler picks free ports, so this file never collides with other wrangler instances.
  // Two peers per room at most, so the room-full message can be provoked.
  dev = await startWorker({ port: 0, inspectorPort: 0, vars: { MAX_PEERS_PER_ROOM: "2" }, readyTimeoutMs: 90_000 });
  browser = await launchChromium();
}, 720_000);

afterEach(async () => {
  for (const context of contexts.splice(0)) await context.close().catch(() => {});
});

afterAll(async () => {
  await browser?.close().catch(() => {});
  await dev?.stop();
  release?.();
});

async function newPage(options: { refuseCamera?: boolean } = {}): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, permissions: ["camera", "microphone"] });
  contexts.push(context);
  if (options.refuseCamera) {
    // As if the person clicked "Block": getUserMedia rejects with NotAllowedError (W3C Media Capture §9.2).
    await context.addInitScript({
      content: 'navigator.mediaDevices.getUserMedia = () => Promise.reject(new DOMException("Permission denied", "NotAllowedError"));',
    });
  }
  const page = await context.newPage();
  page.on("pageerror", (error) => console.error(`page error: ${error.message}`));
  return page;
}

function stats(page: Page): Promise<DemoStats> {
  return page.evaluate(() => (globalThis as unknown as DemoWindow).switchboard.stats());
}

let roomCounter = 0;
function roomName(): string {
  return `demo-e2e-${Date.now().toString(36)}-${roomCounter++}`;
}

/** Waits until the page's only peer is connected and has decoded at least `frames` frames. */
async function decoding(page: Page, frames: number): Promise<PeerStats> {
  return eventually(
    `frames decoded > ${frames}`,
    async () => {
      const { peers } = await stats(page);
      const peer = peers[0];
      return peer && peer.connectionState === "connected" && (peer.quality?.framesDecoded ?? 0) > frames ? peer : undefined;
    },
    { timeoutMs: 30_000, intervalMs: 500 },
  );
}

describe("demo page", () => {
  it("two people join a room from the lobby and see each other's video", async () => {
    const room = roomName();
    const ada = await newPage();
    await ada.goto(`${dev.origin}/`);
    await ada.waitForSelector("form.lobby-form");
    await ada.fill("#name", "Ada Lovelace");
    await ada.fill("#room", room);
    await ada.screenshot({ path: `${SCREENSHOTS}/demo-lobby.png`, animations: "disabled" });
    await ada.click("#join");
    await ada.waitForSelector('body[data-state="in-call"]', { timeout: 20_000 });
    await ada.waitForSelector(".empty-hint:not([hidden])");
    expect(await ada.textContent(".room-name")).toBe(room);

    const grace = await newPage();
    await grace.goto(`${dev.origin}/?room=${room}&name=${encodeURIComponent("Grace Hopper")}&autojoin=1`);
    await grace.waitForSelector('body[data-state="in-call"]', { timeout: 20_000 });

    const [adaSees, graceSees] = await Promise.all([decoding(ada, 30), decoding(grace, 30)]);
    expect(adaSees.name).toBe("Grace Hopper");
    expect(graceSees.name).toBe("Ada Lovelace");
    for (const peer of [adaSees, graceSees]) {
      expect(peer.quality?.path).toBe("direct");
      expect(peer.quality?.inboundKbps).toBeGreaterThan(0);
    }
    // The tile shows the remote name and its path badge; the quality table lists both directions.
    const tile = ada.locator(`.tile[data-peer-id="${adaSees.peerId}"]`);
    await expect.poll(() => tile.locator(".tile-name").textContent()).toBe("Grace Hopper");
    await expect.poll(() => tile.locator(".badge").textContent()).toMatch(/^Direct · /);
    await expect.poll(() => ada.locator(".quality-table tbody tr").count(), { timeout: 10_000 }).toBe(2);
    // A few seconds of samples make the charts worth looking at.
    await decoding(ada, 150);
    await ada.screenshot({ path: `${SCREENSHOTS}/demo-call-ada.png`, animations: "disabled" });
    await grace.screenshot({ path: `${SCREENSHOTS}/demo-call-grace.png`, animations: "disabled" });

    await ada.click("#leave");
    await ada.waitForSelector('body[data-state="lobby"]');
    await eventually("Grace to see Ada leave", async () => ((await stats(grace)).peers.length === 0 ? true : undefined), {
      timeoutMs: 10_000,
    });
    await grace.waitForSelector(".empty-hint:not([hidden])");
  });

  it("falls back to a test pattern when the camera is refused, and says so", async () => {
    const room = roomName();
    const page = await newPage({ refuseCamera: true });
    await page.goto(`${dev.origin}/?room=${room}&name=Linus&autojoin=1`);
    await page.waitForSelector('body[data-state="in-call"]', { timeout: 20_000 });
    const notice = page.locator('.notice[data-key="media"]');
    await expect.poll(() => notice.textContent()).toContain("sending a test pattern");
    expect(await notice.textContent()).toContain("camera access was refused");
    expect((await stats(page)).localSource).toBe("test-pattern");

    // The pattern really is sent: a second participant decodes it.
    const viewer = await newPage();
    await viewer.goto(`${dev.origin}/?room=${room}&name=Viewer&autojoin=1`);
    await decoding(viewer, 30);
    await page.screenshot({ path: `${SCREENSHOTS}/demo-test-pattern.png`, animations: "disabled" });
  });

  it("explains a refused token", async () => {
    const page = await newPage();
    await page.goto(`${dev.origin}/?room=${roomName()}&name=Mallory#token=not-a-valid-token`);
    await page.waitForSelector("form.lobby-form");
    await page.click("#join");
    const notice = page.locator(".notice-error");
    await expect.poll(() => notice.textContent(), { timeout: 15_000 }).toContain("The room token was refused.");
    expect(await page.getAttribute("body", "data-state")).toBe("lobby");
    await page.screenshot({ path: `${SCREENSHOTS}/demo-token-refused.png`, animations: "disabled" });
  });

  it("tells people to bring a token where the development token route does not exist", async () => {
    const page = await newPage();
    // Production answers /dev/* with the app's 404; emulate that on this development server.
    await page.route("**/dev/token**", (route) =>
      route.fulfill({ status: 404, contentType: "application/problem+json", body: '{"code":"not_found","status":404}' }),
    );
    await page.goto(`${dev.origin}/?room=${roomName()}&name=Ada`);
    await page.click("#join");
    const notice = page.locator(".notice-error");
    await expect.poll(() => notice.textContent(), { timeout: 15_000 }).toContain("No development tokens here.");
    expect(await notice.textContent()).toContain("#token=");
  });

  it("says the room is full", async () => {
    const room = roomName();
    const occupants = await Promise.all(
      ["first", "second"].map(async (user) => {
        const client = new Room({ baseUrl: dev.origin, room, token: await devToken(dev.origin, room, user) });
        await client.connect();
        return client;
      }),
    );
    try {
      const page = await newPage();
      await page.goto(`${dev.origin}/?room=${room}&name=Late&autojoin=1`);
      const notice = page.locator(".notice-error");
      await expect.poll(() => notice.textContent(), { timeout: 20_000 }).toContain("This room is full.");
      expect(await page.getAttribute("body", "data-state")).toBe("lobby");
      await page.screenshot({ path: `${SCREENSHOTS}/demo-room-full.png`, animations: "disabled" });
    } finally {
      await Promise.all(occupants.map((client) => client.leave()));
    }
  });
});
