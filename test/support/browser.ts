/**
 * Headless Debian Chromium for WebRTC tests (flags from ../shared/TOOLCHAIN.md), optionally inside a
 * network namespace through a wrapper script, and the e2e call page (test/e2e/pages) opened at a worker's
 * origin: Playwright answers `/__e2e/*` from the test's own bundle, everything else goes to the worker.
 */
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { build } from "esbuild";
import { type Browser, type BrowserContext, chromium, type Page } from "playwright-core";
import type { CallSnapshot, E2eHandle, JoinOptions, PageEvent, PeerSnapshot } from "../e2e/pages/call-api.ts";
import { REPO_ROOT } from "./repo.ts";
import { eventually } from "./wait.ts";

/** Chromium flags that run WebRTC headless as root with a fake camera. */
export const CHROMIUM_ARGS: readonly string[] = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--use-fake-device-for-media-stream",
  "--use-fake-ui-for-media-stream",
  // Hidden tabs would throttle the page's timers (quality sampling, restarts); nothing here is hidden, but be sure.
  "--disable-background-timer-throttling",
  "--disable-renderer-backgrounding",
];

/** Where screenshots go (gitignored). */
export const SCREENSHOT_DIR = join(REPO_ROOT, "test-results", "screenshots");

const PAGE_DIR = join(REPO_ROOT, "test", "e2e", "pages");
let bundle: Promise<string> | undefined;

/** The page script, bundled once per test process from test/e2e/pages/call.ts (it imports client/src). */
function pageBundle(): Promise<string> {
  bundle ??= build({
    entryPoints: [join(PAGE_DIR, "call.ts")],
    bundle: true,
    format: "esm",
    target: "es2022",
    write: false,
    sourcemap: "inline",
    logLevel: "silent",
  }).then((result) => {
    const output = result.outputFiles[0];
    if (!output) throw new Error("esbuild produced no output for the e2e page");
    return output.text;
  });
  return bundle;
}

/** Options of `launchChromium`. */
export interface LaunchOptions {
  /** Run Chromium inside this namespace through a wrapper script (written to `netns.workDir`) around `ip netns exec`. */
  netns?: { name: string; workDir: string };
  /** Flags on top of CHROMIUM_ARGS. */
  extraArgs?: string[];
}

/** Launches headless Chromium (Playwright gives it a fresh temporary profile). */
export async function launchChromium(options: LaunchOptions = {}): Promise<Browser> {
  let executablePath = "/usr/bin/chromium";
  if (options.netns) {
    // Playwright talks to Chromium over inherited pipes; `ip netns exec` keeps them (it execs the command).
    executablePath = join(options.netns.workDir, `chromium-in-${options.netns.name}.sh`);
    writeFileSync(executablePath, `#!/bin/sh\nexec ip netns exec ${options.netns.name} /usr/bin/chromium "$@"\n`);
    chmodSync(executablePath, 0o755);
  }
  return chromium.launch({ executablePath, headless: true, args: [...CHROMIUM_ARGS, ...(options.extraArgs ?? [])], timeout: 60_000 });
}

/** What the page adds to its global object (functions passed to page.evaluate run there, not in Node). */
interface PageGlobals {
  e2e: E2eHandle;
}

/** One line about a connection: state, selected pair, frames. */
export function describePeer(peer: PeerSnapshot | undefined): string {
  if (!peer) return "no connection yet";
  const { local, remote } = peer.selected ?? {};
  const end = (candidate: typeof local) =>
    candidate
      ? `${candidate.candidateType}${candidate.relayProtocol ? `/${candidate.relayProtocol}` : ""} ${candidate.address}:${candidate.port}`
      : "?";
  return `${peer.connectionState}/${peer.iceConnectionState}, selected ${end(local)} ↔ ${end(remote)}, ${peer.framesDecoded} frames decoded, ${peer.restarts} restarts`;
}

/** The e2e call page in one browser context, driven from the test. */
export class CallPage {
  readonly page: Page;
  readonly context: BrowserContext;
  readonly label: string;

  private constructor(context: BrowserContext, page: Page, label: string) {
    this.context = context;
    this.page = page;
    this.label = label;
  }

  /** Opens the call page at `origin` in a new context of `browser`. */
  static async open(browser: Browser, origin: string, label: string): Promise<CallPage> {
    const context = await browser.newContext({ viewport: { width: 1000, height: 620 } });
    const html = readFileSync(join(PAGE_DIR, "call.html"), "utf8");
    const script = await pageBundle();
    await context.route(`${origin}/__e2e/**`, (route) => {
      const path = new URL(route.request().url()).pathname;
      if (path === "/__e2e/call.js") return route.fulfill({ status: 200, contentType: "text/javascript; charset=utf-8", body: script });
      return route.fulfill({ status: 404, body: "not found" });
    });
    const page = await context.newPage();
    const callPage = new CallPage(context, page, label);
    page.on("console", (message) => {
      if (message.type() === "error") callPage.consoleErrors.push(message.text());
    });
    page.on("pageerror", (error) => callPage.consoleErrors.push(String(error)));
    // The document must come from the worker itself: Chromium's Local Network Access checks treat a
    // document Playwright fulfilled as public, and then refuse its WebSocket to 127.0.0.1 / 10.77.x.y
    // (net::ERR_BLOCKED_BY_LOCAL_NETWORK_ACCESS_CHECKS). So load a real worker URL, then write the page
    // into that document (same origin and address space); its script comes from the route above.
    await page.goto(`${origin}/healthz`, { timeout: 30_000 });
    await page.setContent(html, { timeout: 30_000 });
    await page.waitForFunction("document.body.dataset.ready === '1' && 'e2e' in window", undefined, { timeout: 30_000 });
    return callPage;
  }

  /** Errors the page logged (for failure messages). */
  readonly consoleErrors: string[] = [];

  /** Joins the room; resolves with our peer id once the room welcomed us (fails after `timeoutMs`). */
  async join(options: JoinOptions, timeoutMs = 30_000): Promise<string> {
    const joined = this.page.evaluate((joinOptions) => (globalThis as unknown as PageGlobals).e2e.join(joinOptions), options);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${this.label} did not join ${options.room} within ${timeoutMs} ms`)), timeoutMs);
    });
    try {
      return (await Promise.race([joined, timeout])).peerId;
    } catch (error) {
      throw new Error(`${(error as Error).message}\n${await this.describe()}`);
    } finally {
      clearTimeout(timer);
    }
  }

  /** A fresh snapshot of the call (getStats of every connection). */
  snapshot(): Promise<CallSnapshot> {
    return this.page.evaluate(() => (globalThis as unknown as PageGlobals).e2e.snapshot());
  }

  /** The connection to the only other peer (undefined until it exists). */
  async peer(): Promise<PeerSnapshot | undefined> {
    const snapshot = await this.snapshot();
    return snapshot.peers[0];
  }

  /** Every /v1/ice request the page made. */
  iceRequests(): Promise<string[]> {
    return this.page.evaluate(() => [...(globalThis as unknown as PageGlobals).e2e.iceRequests]);
  }

  /** The page's event log. */
  events(): Promise<PageEvent[]> {
    return this.page.evaluate(() => [...(globalThis as unknown as PageGlobals).e2e.events]);
  }

  /**
   * Waits until the connection to the other peer is `connected` and has decoded more than `minFrames`
   * video frames; resolves with that snapshot.
   */
  waitForFrames(minFrames: number, timeoutMs = 30_000): Promise<PeerSnapshot> {
    return this.waitForPeer(
      `more than ${minFrames} decoded video frames`,
      (peer) => peer.connectionState === "connected" && peer.framesDecoded > minFrames,
      timeoutMs,
    );
  }

  /**
   * Waits until at least `minFrames` new video frames were decoded while `accept` held (checked on each
   * sample). framesDecoded is not monotonic: after an ICE restart Chromium may start a new inbound-rtp
   * counter, so a drop counts as a restart from zero, never as negative progress.
   */
  waitForNewFrames(
    what: string,
    minFrames: number,
    accept: (peer: PeerSnapshot) => boolean,
    timeoutMs = 30_000,
    intervalMs = 200,
  ): Promise<PeerSnapshot> {
    let previous: number | undefined;
    let counted = 0;
    return this.waitForPeer(
      `${minFrames} new video frames decoded with ${what}`,
      (peer) => {
        const current = peer.framesDecoded;
        if (previous !== undefined && accept(peer)) counted += current >= previous ? current - previous : current;
        previous = current;
        return counted >= minFrames;
      },
      timeoutMs,
      intervalMs,
    );
  }

  /** Polls the connection to the other peer until `accept` approves a snapshot; the timeout message shows the last one. */
  waitForPeer(what: string, accept: (peer: PeerSnapshot) => boolean, timeoutMs = 30_000, intervalMs = 250): Promise<PeerSnapshot> {
    let last: PeerSnapshot | undefined;
    return eventually(
      `${this.label}: ${what}`,
      async () => {
        last = await this.peer();
        return last && accept(last) ? last : undefined;
      },
      { timeoutMs, intervalMs, lastSeen: () => describePeer(last) },
    );
  }

  /** Saves a screenshot as test-results/screenshots/<name>.png. */
  async screenshot(name: string): Promise<void> {
    mkdirSync(SCREENSHOT_DIR, { recursive: true });
    await this.page.screenshot({ path: join(SCREENSHOT_DIR, `${name}.png`), timeout: 10_000 }).catch(() => {});
  }

  /** A readable dump of the page's events and errors, for assertion messages. */
  async describe(): Promise<string> {
    const events = await this.events().catch(() => []);
    const lines = events.map((event) => `${new Date(event.at).toISOString().slice(11, 23)} ${event.kind} ${event.detail}`);
    return `--- ${this.label} events ---\n${lines.join("\n")}\n--- ${this.label} console errors ---\n${this.consoleErrors.join("\n")}`;
  }

  /** Leaves the room and closes the context. */
  async close(): Promise<void> {
    await this.page.evaluate(() => (globalThis as unknown as PageGlobals).e2e.leave()).catch(() => {});
    await this.context.close().catch(() => {});
  }
}

/**
 * Runs a scenario over call pages: a failure's message gets every page's events and errors; afterwards each
 * page is screenshotted as `<shotPrefix>-<key>` and, with `close`, closed (one page after the other).
 */
export async function withCallPages(
  pages: Readonly<Record<string, CallPage>>,
  shotPrefix: string,
  scenario: () => Promise<void>,
  options: { close?: boolean } = {},
): Promise<void> {
  const entries = Object.entries(pages);
  try {
    await scenario();
  } catch (error) {
    const descriptions: string[] = [];
    for (const [, page] of entries) descriptions.push(await page.describe());
    throw new Error([(error as Error).message, ...descriptions].join("\n"));
  } finally {
    for (const [key, page] of entries) await page.screenshot(`${shotPrefix}-${key}`);
    if (options.close) for (const [, page] of entries) await page.close();
  }
}
