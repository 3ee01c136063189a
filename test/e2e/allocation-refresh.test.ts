/**
 * Issue 5, e2e 6: a call outlives its TURN allocations' lifetime because Chromium refreshes them. The
 * node caps the allocation lifetime at LIFETIME_SECONDS (Chromium's Allocate carries no LIFETIME; for a
 * lifetime under 2 minutes Chromium refreshes at half of it — WebRTC p2p/base/turn_port.cc
 * ScheduleRefresh), checked first with a raw Allocate. The relay-only call then runs for 2.5 lifetimes and
 * must keep decoding video on the same allocations: same relayed addresses, no ICE restart, no new
 * allocation, none ended as "expired".
 *
 * The node caps the lifetime with coturn's flag name, `--max-allocate-lifetime` (the default lifetime is
 * capped with it, since browsers never ask for one).
 */
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CallPage, launchChromium, withCallPages } from "../support/browser.ts";
import { acquireE2eLock } from "../support/e2e-lock.ts";
import { type Stack, startStack } from "../support/stack.ts";
import { grantedLifetimeSeconds, restCredentials } from "../support/turn-probe.ts";

const NODE_ID = "e2e-refresh";
const TURN_PORT = 3506;
/** Short enough that Chromium refreshes every 5 s; the call runs for 2.5 of these. */
const LIFETIME_SECONDS = 10;
const lifetimeFlag = "--max-allocate-lifetime";

let stack: Stack | undefined;
let release: (() => void) | undefined;
let browser: Browser | undefined;

describe("allocation refresh", () => {
  beforeAll(async () => {
    release = await acquireE2eLock("allocation-refresh");
    stack = await startStack({
      name: "allocation-refresh",
      workerPort: 8755,
      inspectorPort: 9355,
      nodes: [
        {
          nodeId: NODE_ID,
          port: TURN_PORT,
          metricsPort: 9665,
          minRelayPort: 42800,
          maxRelayPort: 42999,
          extraArgs: [`${lifetimeFlag}=${LIFETIME_SECONDS}`],
        },
      ],
      allowLoopbackPeers: true,
    });
    browser = await launchChromium();
  }, 720_000);

  afterAll(async () => {
    await browser?.close().catch(() => {});
    await stack?.teardown();
    release?.();
  }, 60_000);

  it(`grants ${LIFETIME_SECONDS} s to an Allocate without LIFETIME, as Chromium sends it`, async () => {
    const credentials = restCredentials(stack!.worker.vars.TURN_SECRETS!, "lifetime-probe");
    expect(await grantedLifetimeSeconds({ host: "127.0.0.1", port: TURN_PORT }, credentials)).toBe(LIFETIME_SECONDS);
  });

  it("keeps a relay-only call on the same allocations for 2.5 lifetimes", async () => {
    const running = stack!;
    const node = running.node(NODE_ID);
    const room = `refresh-${Date.now().toString(36)}`;
    const alice = await CallPage.open(browser!, running.worker.origin, "alice");
    const bob = await CallPage.open(browser!, running.worker.origin, "bob");
    const pages = [alice, bob];
    await withCallPages(
      { alice, bob },
      "allocation-refresh",
      async () => {
        await alice.join({ room, user: "alice", forceRelay: true, transport: "udp" });
        await bob.join({ room, user: "bob", forceRelay: true, transport: "udp" });
        const start = await Promise.all(pages.map((page) => page.waitForFrames(10)));
        const connectedAt = Date.now();
        const created = await node.metric("turn_allocations_created_total");
        const relayEnds = start.map((peer) => `${peer.selected?.local?.address}:${peer.selected?.local?.port}`);
        for (const peer of start) expect(node.ownsRelayAddress(peer.selected?.local?.address, peer.selected?.local?.port)).toBe(true);

        // Video keeps coming on the very same relayed address, window after window, past 2.5 lifetimes.
        const until = connectedAt + 2.5 * LIFETIME_SECONDS * 1000;
        for (let window = 0; Date.now() < until && window < 20; window++) {
          await Promise.all(
            pages.map((page, index) =>
              page.waitForNewFrames(
                `the call still on ${relayEnds[index]}`,
                20,
                (peer) =>
                  peer.connectionState === "connected" &&
                  `${peer.selected?.local?.address}:${peer.selected?.local?.port}` === relayEnds[index],
                8_000,
              ),
            ),
          );
        }
        expect(Date.now() - connectedAt).toBeGreaterThanOrEqual(2.5 * LIFETIME_SECONDS * 1000);

        for (const page of pages) expect((await page.peer())?.restarts, `${page.label}: ICE restarts`).toBe(0);
        expect(await node.metric("turn_allocations_created_total"), "no allocation was replaced").toBe(created);
        expect(await node.metric("turn_allocations_ended_total", { reason: "expired" }), "allocations that expired").toBe(0);
      },
      { close: true },
    );
  }, 120_000);
});
