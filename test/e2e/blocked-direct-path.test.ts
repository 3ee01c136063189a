/**
 * Issue 5, e2e 3: the direct path is blocked and the call still connects, through the relay. Two Chromium
 * instances run in their own network namespaces (A, B); the worker and a TURN node run in a third; a router
 * namespace forwards between them, and its nftables drop every packet between A and B
 * (test/netns/setup.sh). The call uses `iceTransportPolicy: "all"` with every URL of /v1/ice, so the
 * browsers do try the direct path: mDNS host-candidate obfuscation is off (a `.local` name from another
 * namespace can never be resolved, and no direct check would even be sent), and the router's drop counters
 * prove the direct checks were sent and dropped. The TURN node opens exactly the test range as peers
 * (`--allowed-peer-ip=10.77.0.0/16`). Skipped, saying why, when not root or without `ip netns`/`nft`.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CallPage, launchChromium, withCallPages } from "../support/browser.ts";
import { acquireE2eLock } from "../support/e2e-lock.ts";
import {
  droppedBetweenBrowsers,
  netnsUnavailable,
  setUpTestNetwork,
  TEST_NETWORK,
  tearDownTestNetwork,
  testNamespaces,
} from "../support/netns.ts";
import { type Stack, startStack } from "../support/stack.ts";

const WORKER_PORT = 8756;
const NODE_ID = "e2e-netns";
const unavailable = netnsUnavailable();

let stack: Stack | undefined;
let release: (() => void) | undefined;
let browsers: Browser[] = [];
let scratch: string | undefined;

describe.skipIf(unavailable !== undefined)(
  `direct path blocked between two namespaces${unavailable ? ` (skipped: ${unavailable})` : ""}`,
  () => {
    beforeAll(async () => {
      release = await acquireE2eLock("blocked-direct-path");
      setUpTestNetwork();
      scratch = mkdtempSync(join(tmpdir(), "sb-e2e-netns-"));
      stack = await startStack({
        name: "blocked-direct-path",
        workerPort: WORKER_PORT,
        inspectorPort: 9356,
        netns: { name: TEST_NETWORK.turn.name, host: TEST_NETWORK.turn.address },
        nodes: [{ nodeId: NODE_ID, port: 3507, metricsPort: 9666, minRelayPort: 43000, maxRelayPort: 43199 }],
        allowedPeerIps: [TEST_NETWORK.range],
      });
      const browserArgs = [
        // getUserMedia needs a secure context, and http://10.77.x.y is not one.
        `--unsafely-treat-insecure-origin-as-secure=${stack.worker.origin}`,
        // Real host addresses as candidates instead of mDNS `.local` names no other namespace can resolve.
        "--disable-features=WebRtcHideLocalIpsWithMdns",
      ];
      for (const side of [TEST_NETWORK.a, TEST_NETWORK.b]) {
        browsers.push(await launchChromium({ netns: { name: side.name, workDir: scratch }, extraArgs: browserArgs }));
      }
    }, 720_000);

    afterAll(async () => {
      await Promise.all(browsers.map((browser) => browser.close().catch(() => {})));
      browsers = [];
      await stack?.teardown();
      tearDownTestNetwork();
      if (scratch) rmSync(scratch, { recursive: true, force: true });
      release?.();
    }, 60_000);

    it('connects through the TURN node with iceTransportPolicy "all" when A and B cannot reach each other', async () => {
      const running = stack!;
      const node = running.node(NODE_ID);
      const room = `netns-${Date.now().toString(36)}`;
      const alice = await CallPage.open(browsers[0]!, running.worker.origin, "alice (namespace A)");
      const bob = await CallPage.open(browsers[1]!, running.worker.origin, "bob (namespace B)");
      const sides = [
        { page: alice, address: TEST_NETWORK.a.address, otherAddress: TEST_NETWORK.b.address },
        { page: bob, address: TEST_NETWORK.b.address, otherAddress: TEST_NETWORK.a.address },
      ];
      await withCallPages(
        { alice, bob },
        "blocked-direct-path",
        async () => {
          await alice.join({ room, user: "alice", forceRelay: false, transport: "all" });
          await bob.join({ room, user: "bob", forceRelay: false, transport: "all" });
          for (const { page, address, otherAddress } of sides) {
            const peer = await page.waitForFrames(10, 30_000);
            const { local, remote } = peer.selected ?? {};
            // Relay on at least one end (relay↔host is fine: the relay reaches the other browser's host address).
            expect(
              [local?.candidateType, remote?.candidateType],
              `${page.label}: selected pair ${JSON.stringify(peer.selected)}`,
            ).toContain("relay");
            if (local?.candidateType === "relay") expect(node.ownsRelayAddress(local.address, local.port)).toBe(true);
            if (remote?.candidateType === "relay") expect(node.ownsRelayAddress(remote.address, remote.port)).toBe(true);
            // The browser offered its real namespace address (no mDNS name) …
            expect(peer.localCandidates.some((candidate) => candidate.candidateType === "host" && candidate.address === address)).toBe(
              true,
            );
            // … and tried the direct pair, which never succeeded.
            const direct = peer.pairs.filter((pair) => pair.local?.address === address && pair.remote?.address === otherAddress);
            expect(direct.length, `${page.label}: direct candidate pairs ${JSON.stringify(peer.pairs)}`).toBeGreaterThan(0);
            expect(direct.every((pair) => pair.state !== "succeeded" && (pair.responsesReceived ?? 0) === 0)).toBe(true);
            await page.waitForFrames(peer.framesDecoded + 15, 15_000);
          }
          // The router dropped direct packets both ways: the blocked path was really tried.
          const dropped = droppedBetweenBrowsers();
          expect(dropped.aToB, "packets A→B dropped by the router").toBeGreaterThan(0);
          expect(dropped.bToA, "packets B→A dropped by the router").toBeGreaterThan(0);
          expect(await node.metric("turn_relayed_packets_total", { direction: "peer_to_client" })).toBeGreaterThan(0);
        },
        { close: true },
      );
    }, 120_000);

    it("leaves no namespace behind once torn down", async () => {
      // Runs after the call: tear down early (afterAll repeats it harmlessly) and look.
      await Promise.all(browsers.map((browser) => browser.close().catch(() => {})));
      browsers = [];
      await stack?.teardown();
      tearDownTestNetwork();
      expect(testNamespaces()).toEqual([]);
    }, 60_000);
  },
);
