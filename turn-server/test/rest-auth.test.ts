/**
 * REST credentials end to end (coturn `use-auth-secret`): expired and forged credentials are refused at
 * Allocate; an allocation outlives its credential (Refresh, CreatePermission, ChannelBind keep working,
 * RFC 8656 §5 "the key stored in the allocation"); rotating a secret out breaks no live call; and the
 * per-address failure limiter silences a guesser without touching other addresses.
 */
import { describe, expect, it } from "vitest";
import { mintTurnCredential } from "../../protocol/turn-credentials.ts";
import { restAuthHandler } from "../src/auth.ts";
import type { AuthHandler } from "../src/handlers.ts";
import { MessageClass, Method } from "../src/stun/constants.ts";
import { errorCodeOf, TestClient, TestPeer } from "./helpers/stun-client.ts";
import { manualClock, type TestServer, useTestServers } from "./helpers/test-server.ts";

const { defer, started: startedWith } = useTestServers();

function started(auth: AuthHandler, clock: () => number): Promise<TestServer> {
  return startedWith({ auth, clock });
}

async function client(relay: TestServer, localAddress?: string): Promise<TestClient> {
  const created = await TestClient.connect("udp", relay.udp, localAddress);
  defer(() => created.close());
  return created;
}

describe("REST credentials", () => {
  it("refuses expired and forged credentials at Allocate", async () => {
    const clock = manualClock();
    const relay = await started(restAuthHandler(["secret-1"], { clock: clock.now }), clock.now);
    const failures = relay.record("auth-failure");
    const now = Math.floor(clock.now() / 1000);
    const expired = await mintTurnCredential("secret-1", "eve", 60, now - 120);
    const forged = await mintTurnCredential("not-the-secret", "eve", 600, now);
    const good = await mintTurnCredential("secret-1", "eve", 600, now);
    expect(errorCodeOf((await (await client(relay)).allocate({ username: expired.username, password: expired.credential })).response)).toBe(
      401,
    );
    expect(errorCodeOf((await (await client(relay)).allocate({ username: forged.username, password: forged.credential })).response)).toBe(
      401,
    );
    expect((await (await client(relay)).allocate({ username: good.username, password: good.credential })).relay).not.toBeNull();
    expect(failures.map((failure) => failure.reason)).toEqual(["refused", "bad-integrity"]);
  });

  it("an allocation made before its credential expired keeps refreshing, permitting and binding after", async () => {
    const clock = manualClock();
    const relay = await started(restAuthHandler(["secret-1"], { clock: clock.now }), clock.now);
    const now = Math.floor(clock.now() / 1000);
    const credential = await mintTurnCredential("secret-1", "frank", 30, now);
    const turn = await client(relay);
    const peer = await TestPeer.bind();
    defer(() => peer.close());
    await turn.allocate({ username: credential.username, password: credential.credential });
    clock.advance(300_000);
    expect((await turn.refresh(600)).messageClass).toBe(MessageClass.SuccessResponse);
    expect((await turn.createPermission(peer.endpoint)).messageClass).toBe(MessageClass.SuccessResponse);
    expect((await turn.channelBind(0x4444, peer.endpoint)).messageClass).toBe(MessageClass.SuccessResponse);
    turn.sendChannelData(0x4444, Buffer.from("still here"));
    expect((await peer.received.take(2000, "relayed after expiry")).data.toString()).toBe("still here");
    // The same, now expired, credential cannot start a new allocation.
    const late = await client(relay);
    expect(errorCodeOf((await late.allocate({ username: credential.username, password: credential.credential })).response)).toBe(401);
  });

  it("rotating a secret out breaks no live allocation; new ones need the new secret", async () => {
    const clock = manualClock();
    let current = restAuthHandler(["secret-new", "secret-old"], { clock: clock.now });
    const relay = await started((username, realm, source) => current(username, realm, source), clock.now);
    const now = Math.floor(clock.now() / 1000);
    const oldCredential = await mintTurnCredential("secret-old", "grace", 3600, now);
    const turn = await client(relay);
    await turn.allocate({ username: oldCredential.username, password: oldCredential.credential });
    current = restAuthHandler(["secret-new"], { clock: clock.now });
    expect((await turn.refresh(600)).messageClass).toBe(MessageClass.SuccessResponse);
    const other = await client(relay);
    expect(errorCodeOf((await other.allocate({ username: oldCredential.username, password: oldCredential.credential })).response)).toBe(
      401,
    );
  });
});

describe("failure limiter", () => {
  it("silences an address after repeated failed credentials; other addresses are unaffected", async () => {
    const clock = manualClock();
    const relay = await started(restAuthHandler(["secret-1"], { clock: clock.now }), clock.now);
    const guesser = await client(relay, "127.0.0.9");
    guesser.credentials = { username: `${Math.floor(clock.now() / 1000) + 600}:x`, password: "guess" };
    let answered = 0;
    let silenced = 0;
    for (let attempt = 0; attempt < 40; attempt++) {
      try {
        const response = await guesser.authenticated(Method.Allocate, (builder) => builder.addUint32(0x0019, 17 << 24));
        expect(errorCodeOf(response)).toBe(401);
        answered++;
      } catch {
        silenced++;
        break;
      }
    }
    expect(answered).toBeGreaterThanOrEqual(10);
    expect(silenced).toBe(1);
    const good = await mintTurnCredential("secret-1", "honest", 600, Math.floor(clock.now() / 1000));
    const honest = await client(relay, "127.0.0.1");
    expect((await honest.allocate({ username: good.username, password: good.credential })).relay).not.toBeNull();
  });
});
