/**
 * Issue 5, e2e 4: TURN node failover. Two nodes register; a relay-only call uses the room's node X; X is
 * SIGKILLed (no drain, no goodbye heartbeat). The clients restart ICE with fresh config from
 * `/v1/ice?exclude=X`, relay through the other node, and video flows again within 10 s of the kill — while
 * the registry still lists X as live (TURN_NODE_TTL_SECONDS=60), so the exclusion did it, not the TTL.
 * The client's own defaults (disconnected timeout, restart timeout) are used: this is the product's speed.
 */
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CallPage, launchChromium, withCallPages } from "../support/browser.ts";
import { acquireE2eLock } from "../support/e2e-lock.ts";
import { type Stack, startStack } from "../support/stack.ts";
import type { PeerSnapshot } from "./pages/call-api.ts";

const NODE_IDS = ["e2e-fo-a", "e2e-fo-b"] as const;
/** Budget from the kill until frames flow through the other node (issue 5). */
const FAILOVER_BUDGET_MS = 10_000;

let stack: Stack | undefined;
let release: (() => void) | undefined;
let browser: Browser | undefined;
let pages: CallPage[] = [];

beforeAll(async () => {
  release = await acquireE2eLock("failover");
  stack = await startStack({
    name: "failover",
    workerPort: 8752,
    inspectorPort: 9352,
    // A dead node stays "live" in the registry for a minute: longer than the whole test.
    workerVars: { TURN_NODE_TTL_SECONDS: "60" },
    nodes: [
      { nodeId: NODE_IDS[0], port: 3503, metricsPort: 9662, minRelayPort: 42200, maxRelayPort: 42399 },
      { nodeId: NODE_IDS[1], port: 3504, metricsPort: 9663, minRelayPort: 42400, maxRelayPort: 42599 },
    ],
    allowLoopbackPeers: true,
  });
  browser = await launchChromium();
}, 720_000);

afterAll(async () => {
  await Promise.all(pages.map((page) => page.close()));
  await browser?.close().catch(() => {});
  await stack?.teardown();
  release?.();
}, 60_000);

describe("TURN node failover", () => {
  it("moves a relay-only call to the other node within 10 s of a SIGKILL, before the registry's TTL", async () => {
    const running = stack!;
    const room = `failover-${Date.now().toString(36)}`;
    const alice = await CallPage.open(browser!, running.worker.origin, "alice");
    const bob = await CallPage.open(browser!, running.worker.origin, "bob");
    pages = [alice, bob];
    await withCallPages({ alice, bob }, "failover", async () => {
      await alice.join({ room, user: "alice", forceRelay: true, transport: "udp" });
      await bob.join({ room, user: "bob", forceRelay: true, transport: "udp" });
      for (const page of pages) await page.waitForFrames(10);

      // The room's node: both clients got it from /v1/ice, and both relayed addresses are its.
      const first = await alice.snapshot();
      const failedId = first.iceNodeId;
      expect(NODE_IDS).toContain(failedId);
      expect((await bob.snapshot()).iceNodeId).toBe(failedId);
      const failed = running.node(failedId!);
      const survivor = running.node(NODE_IDS.find((id) => id !== failedId)!);
      for (const page of pages) {
        const peer = (await page.peer())!;
        expect(
          failed.ownsRelayAddress(peer.selected?.local?.address, peer.selected?.local?.port),
          `${page.label} relays through ${failedId}`,
        ).toBe(true);
      }

      const killedAt = Date.now();
      await failed.kill();
      // Within the budget, both sides relay through the survivor and decode new video there: framesDecoded
      // increases (issue 5). Polling every 200 ms, so the measured time errs long, never short.
      const onSurvivor = (snapshot: PeerSnapshot) =>
        snapshot.connectionState === "connected" &&
        survivor.ownsRelayAddress(snapshot.selected?.local?.address, snapshot.selected?.local?.port);
      const recovered = await Promise.all(
        pages.map(async (page) => {
          const peer = await page.waitForNewFrames(`the selected pair relayed by ${survivor.nodeId}`, 1, onSurvivor, FAILOVER_BUDGET_MS);
          return { peer, at: Date.now() };
        }),
      );
      const recoveryMs = Math.max(...recovered.map((entry) => entry.at)) - killedAt;
      // Both sides' timelines (page clocks are this machine's clock): who detected, who restarted, when.
      const timelines: string[] = [];
      for (const [index, page] of pages.entries()) {
        const lines = (await page.events())
          .filter((event) => event.at >= killedAt && event.kind !== "signaling-state")
          .map((event) => `+${event.at - killedAt} ms ${event.kind} ${event.detail}`);
        const frames = recovered[index]!.at - killedAt;
        timelines.push(`${page.label} (new frames seen at +${frames} ms):\n  ${lines.join("\n  ")}`);
      }
      console.info(
        `failover: video flows through ${survivor.nodeId} ${recoveryMs} ms after SIGKILL of ${failedId}; ${timelines.join("\n")}`,
      );
      expect(recoveryMs).toBeLessThanOrEqual(FAILOVER_BUDGET_MS);
      // And it keeps flowing there: a second of video (15 fps) on the same path.
      for (const page of pages) await page.waitForNewFrames(`the selected pair relayed by ${survivor.nodeId}`, 15, onSurvivor, 5_000);
      for (const { peer } of recovered) {
        expect(peer.selected?.local?.candidateType).toBe("relay");
        expect(peer.selected?.remote?.candidateType).toBe("relay");
        expect(survivor.ownsRelayAddress(peer.selected?.remote?.address, peer.selected?.remote?.port)).toBe(true);
      }

      // The registry has not noticed: the failed node is still live, so only ?exclude= moved the call.
      const listed = await running.registry();
      expect(listed.find((node) => node.id === failedId)?.live, "the killed node is still live in the registry").toBe(true);
      // At least one side restarted ICE excluding the failed node, and fetched /v1/ice with ?exclude=.
      const requests = [...(await alice.iceRequests()), ...(await bob.iceRequests())];
      expect(requests.some((url) => new URL(url).searchParams.get("exclude")?.split(",").includes(failedId!))).toBe(true);
      const events = [...(await alice.events()), ...(await bob.events())];
      expect(events.some((event) => event.kind === "restart" && event.detail.includes(`exclude=${failedId}`))).toBe(true);
      for (const page of pages) expect((await page.snapshot()).iceNodeId).toBe(survivor.nodeId);
    });
  }, 120_000);
});
