/**
 * Issue 5, e2e 2: relay-only calls (`forceRelay`) between two Chromium contexts through our TURN node on
 * loopback, once per client↔TURN transport: UDP, TCP and TLS. The page keeps only the TURN URL of the
 * transport under test from the /v1/ice answer. Asserts the selected pair is relay↔relay, that both relayed
 * addresses are this node's (listening address, port inside its relay range), the transport Chromium used to
 * reach the node (`relayProtocol`), the node's own allocation counter for that transport, and that decoded
 * video keeps growing.
 */
import type { Browser } from "playwright-core";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { CallPage, launchChromium, withCallPages } from "../support/browser.ts";
import { acquireE2eLock } from "../support/e2e-lock.ts";
import { type Stack, startStack } from "../support/stack.ts";
import type { TurnTransport } from "./pages/call-api.ts";

const NODE_ID = "e2e-relay";
let stack: Stack | undefined;
let release: (() => void) | undefined;
let browser: Browser | undefined;
let pages: CallPage[] = [];

beforeAll(async () => {
  release = await acquireE2eLock("relay-transports");
  stack = await startStack({
    name: "relay-transports",
    workerPort: 8751,
    inspectorPort: 9351,
    nodes: [{ nodeId: NODE_ID, port: 3501, tlsPort: 3502, metricsPort: 9661, minRelayPort: 42000, maxRelayPort: 42199 }],
    allowLoopbackPeers: true,
  });
}, 720_000);

afterEach(async () => {
  await Promise.all(pages.map((page) => page.close()));
  pages = [];
  await browser?.close().catch(() => {});
  browser = undefined;
});

afterAll(async () => {
  await stack?.teardown();
  release?.();
}, 60_000);

const CASES: { transport: Exclude<TurnTransport, "all">; scheme: string }[] = [
  { transport: "udp", scheme: "turn:" },
  { transport: "tcp", scheme: "turn:" },
  { transport: "tls", scheme: "turns:" },
];

describe("relay-only call through our TURN node", () => {
  for (const { transport, scheme } of CASES) {
    it(`connects relay↔relay over TURN-${transport.toUpperCase()} and decodes video`, async () => {
      const running = stack!;
      const node = running.node(NODE_ID);
      const nodeUrl = node.urls.find((url) => url.startsWith(scheme) && (transport === "tls" || url.includes(`transport=${transport}`)));
      expect(nodeUrl, `the node advertises a ${transport} URL (${node.urls.join(", ")})`).toBeDefined();
      const allocationsBefore = await node.metric("turn_allocations_created_total", { transport });

      // Chromium refuses the self-signed certificate of the TLS listener without this flag (TOOLCHAIN.md).
      browser = await launchChromium({ extraArgs: transport === "tls" ? ["--ignore-certificate-errors"] : [] });
      const room = `relay-${transport}-${Date.now().toString(36)}`;
      const alice = await CallPage.open(browser, running.worker.origin, `alice (${transport})`);
      const bob = await CallPage.open(browser, running.worker.origin, `bob (${transport})`);
      pages = [alice, bob];
      await alice.join({ room, user: "alice", forceRelay: true, transport });
      await bob.join({ room, user: "bob", forceRelay: true, transport });

      await withCallPages({ alice, bob }, `relay-${transport}`, async () => {
        for (const page of pages) {
          const peer = await page.waitForFrames(10, 30_000);
          const selected = peer.selected;
          expect(selected?.local?.candidateType, `${page.label}: local candidate`).toBe("relay");
          expect(selected?.remote?.candidateType, `${page.label}: remote candidate`).toBe("relay");
          expect(selected?.local?.relayProtocol, `${page.label}: transport to the TURN node`).toBe(transport);
          expect(selected?.local?.url, `${page.label}: TURN URL of the local relay candidate`).toBe(nodeUrl);
          expect(
            node.ownsRelayAddress(selected?.local?.address, selected?.local?.port),
            `${page.label}: local relayed address ${JSON.stringify(selected?.local)}`,
          ).toBe(true);
          expect(
            node.ownsRelayAddress(selected?.remote?.address, selected?.remote?.port),
            `${page.label}: remote relayed address ${JSON.stringify(selected?.remote)}`,
          ).toBe(true);
          // Every local candidate is a relay of this node over this transport: nothing else was offered.
          expect(
            peer.localCandidates.every((candidate) => candidate.candidateType === "relay" && candidate.relayProtocol === transport),
          ).toBe(true);
          // Frames keep coming: the path carries media, not just the first keyframe.
          await page.waitForFrames(peer.framesDecoded + 15, 15_000);
        }
        // The node saw both browsers allocate over this transport, and relayed their media.
        expect(await node.metric("turn_allocations_created_total", { transport })).toBeGreaterThanOrEqual(allocationsBefore + 2);
        expect(await node.metric("turn_relayed_packets_total", { direction: "peer_to_client" })).toBeGreaterThan(0);
      });
    }, 90_000);
  }
});
