/**
 * Issue 5, e2e 5: the signaling socket drops mid-negotiation, and the call still completes. The pages
 * reach the worker through a TCP proxy (test/support/tcp-proxy.ts) that cuts the WebSocket carrying the
 * SDP offer to the answering peer — no close frame, like a network failure:
 * - "swallow": the offer is lost in flight with the socket; the Room client resumes with `lastSeq` and the
 *   room replays it (with the offerer's trickled candidates).
 * - "deliver": the answerer reads the offer, then loses the socket; its answer is written during the
 *   outage and must still reach the offerer after the resume.
 * Both: the answerer resumes its session (same peer id, no reset), the offerer's negotiation spans the
 * drop (have-local-offer before the cut, stable after), and video is decoded on both sides.
 */
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CallPage, launchChromium, withCallPages } from "../support/browser.ts";
import { acquireE2eLock } from "../support/e2e-lock.ts";
import { type Stack, startStack } from "../support/stack.ts";
import { startTcpProxy, type TcpProxy } from "../support/tcp-proxy.ts";
import type { PageEvent } from "./pages/call-api.ts";

const WORKER_PORT = 8753;
const PROXY_PORT = 8754;

let stack: Stack | undefined;
let proxy: TcpProxy | undefined;
let release: (() => void) | undefined;
let browser: Browser | undefined;

beforeAll(async () => {
  release = await acquireE2eLock("signaling-drop");
  stack = await startStack({
    name: "signaling-drop",
    workerPort: WORKER_PORT,
    inspectorPort: 9353,
    nodes: [{ nodeId: "e2e-sig", port: 3505, metricsPort: 9664, minRelayPort: 42600, maxRelayPort: 42799 }],
    allowLoopbackPeers: true,
  });
  proxy = await startTcpProxy(PROXY_PORT, { host: "127.0.0.1", port: WORKER_PORT });
  browser = await launchChromium();
}, 720_000);

afterAll(async () => {
  await browser?.close().catch(() => {});
  await proxy?.close();
  await stack?.teardown();
  release?.();
}, 60_000);

/** The `sub` (user id) of the room token in a WebSocket request line. */
function userOfRequest(requestLine: string): string | undefined {
  const token = /[?&]token=([^&\s]+)/.exec(requestLine)?.[1];
  const payload = token?.split(".")[1];
  if (!payload) return undefined;
  return (JSON.parse(Buffer.from(payload, "base64url").toString("utf8")) as { sub?: string }).sub;
}

/** When the first event of `kind` whose detail contains `detail` happened (page clock = this clock). */
function firstAt(events: PageEvent[], kind: string, detail: string): number | undefined {
  return events.find((event) => event.kind === kind && event.detail.includes(detail))?.at;
}

describe("signaling drop mid-negotiation", () => {
  for (const mode of ["swallow", "deliver"] as const) {
    it(`resumes and completes the call when the offer ${mode === "swallow" ? "is lost with the socket" : "arrives just before the drop"}`, async () => {
      const room = `sigdrop-${mode}-${Date.now().toString(36)}`;
      const alice = await CallPage.open(browser!, proxy!.origin, `alice (${mode})`);
      const bob = await CallPage.open(browser!, proxy!.origin, `bob (${mode})`);
      const pages = { alice, bob };
      await withCallPages(
        { alice, bob },
        `signaling-drop-${mode}`,
        async () => {
          const cutDone = proxy!.cutOnServerText('"type":"offer"', mode);
          const alicePeerId = await alice.join({ room, user: "alice", forceRelay: true, transport: "udp" });
          const bobPeerId = await bob.join({ room, user: "bob", forceRelay: true, transport: "udp" });
          const cut = await Promise.race([cutDone, new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), 15_000))]);
          expect(cut, "the proxy saw an offer on a room socket and cut it").toBeDefined();

          const answererName = userOfRequest(cut!.requestLine) as keyof typeof pages;
          expect(["alice", "bob"]).toContain(answererName);
          const answerer = pages[answererName];
          const offerer = answerer === alice ? bob : alice;
          const offererPeerId = offerer === alice ? alicePeerId : bobPeerId;

          for (const page of [alice, bob]) await page.waitForFrames(10, 25_000);

          // The answerer lost its socket and resumed the same session. (Order by position in the page's event
          // log: a replayed frame and the welcome before it often share a millisecond.)
          const answererEvents = await answerer.events();
          const dropIndex = answererEvents.findIndex((event) => event.kind === "room-state" && event.detail === "connected->reconnecting");
          expect(dropIndex, "the answerer's room noticed the drop").toBeGreaterThanOrEqual(0);
          expect(answererEvents[dropIndex]!.at).toBeGreaterThanOrEqual(cut!.at - 50);
          const resumedIndex = answererEvents.findIndex((event, index) => index > dropIndex && event.kind === "welcome");
          expect(resumedIndex, "a welcome after the drop").toBeGreaterThan(dropIndex);
          expect(JSON.parse(answererEvents[resumedIndex]!.detail)).toEqual({ resumed: true, sessionReset: false });
          expect((await answerer.snapshot()).peers.map((peer) => peer.peerId)).toEqual([offererPeerId]);
          // Exactly one offer reached the answerer (nothing lost, nothing duplicated by the replay) …
          const isOffer = (event: PageEvent) => event.kind === "signal-in" && event.detail === `${offererPeerId} offer`;
          expect(answererEvents.filter(isOffer), "offers the answerer received").toHaveLength(1);
          const offerIndex = answererEvents.findIndex(isOffer);
          if (mode === "swallow") {
            // … after the resume: it was lost with the socket, and the room replayed it.
            expect(offerIndex).toBeGreaterThan(resumedIndex);
          } else {
            // … over the socket that then dropped, not from a replay.
            expect(offerIndex).toBeLessThan(resumedIndex);
          }

          // The negotiation spanned the drop: offer out before the cut, answer applied after it.
          const offererEvents = await offerer.events();
          expect(firstAt(offererEvents, "signaling-state", "have-local-offer")).toBeLessThan(cut!.at);
          expect(firstAt(offererEvents, "signaling-state", "stable")).toBeGreaterThan(cut!.at);
          // Nobody started over: no session reset and no ICE restart was needed.
          for (const page of [alice, bob]) {
            const snapshot = await page.snapshot();
            expect(snapshot.roomState).toBe("connected");
            expect(snapshot.peers).toHaveLength(1);
            expect(snapshot.peers[0]!.selected?.local?.candidateType).toBe("relay");
            expect(snapshot.peers[0]!.restarts).toBe(0);
          }
        },
        { close: true },
      );
    }, 90_000);
  }
});
