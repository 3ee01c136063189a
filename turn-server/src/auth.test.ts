/** REST-credential and static-user AuthHandlers. */
import { describe, expect, it } from "vitest";
import { mintTurnCredential, turnPassword } from "../../protocol/turn-credentials.ts";
import { restAuthHandler, staticUsersAuthHandler } from "./auth.ts";
import { longTermKey } from "./stun/integrity.ts";

const source = { address: "127.0.0.1", port: 1, transport: "udp" as const };
const NOW = 1_900_000_000_000;

describe("restAuthHandler", () => {
  it("grants MD5(username:realm:base64(HMAC-SHA1(secret, username))) and the user after the colon", async () => {
    const credential = await mintTurnCredential("s3cret", "room42-peer7", 3600, NOW / 1000);
    const grant = await restAuthHandler(["s3cret"], { clock: () => NOW })(credential.username, "realm", source);
    expect(grant?.user).toBe("room42-peer7");
    expect(Buffer.from(grant!.key)).toEqual(longTermKey(credential.username, "realm", credential.credential));
    expect(grant?.alternateKeys).toBeUndefined();
  });

  it("refuses expired and malformed usernames", async () => {
    const handler = restAuthHandler(["s3cret"], { clock: () => NOW });
    expect(await handler(`${NOW / 1000 - 1}:bob`, "realm", source)).toBeNull();
    expect(await handler(`${NOW / 1000}:bob`, "realm", source)).toBeNull();
    expect(await handler("bob", "realm", source)).toBeNull();
    expect(await handler("12ab:bob", "realm", source)).toBeNull();
    expect(await handler(`${NOW / 1000 + 10}`, "realm", source)).not.toBeNull();
  });

  it("offers one key per secret during rotation, in order", async () => {
    const username = `${NOW / 1000 + 60}:carol`;
    const grant = await restAuthHandler(["new", "old"], { clock: () => NOW })(username, "r", source);
    expect(Buffer.from(grant!.key)).toEqual(longTermKey(username, "r", await turnPassword("new", username)));
    expect(grant!.alternateKeys!.map((key) => Buffer.from(key))).toEqual([longTermKey(username, "r", await turnPassword("old", username))]);
  });

  it("needs at least one secret", () => {
    expect(() => restAuthHandler([])).toThrow(/secret/);
  });
});

describe("staticUsersAuthHandler", () => {
  it("knows its users only", async () => {
    const handler = staticUsersAuthHandler(new Map([["alice", "pw"]]));
    expect(await handler("alice", "r", source)).toEqual({ key: longTermKey("alice", "r", "pw"), user: "alice" });
    expect(await handler("bob", "r", source)).toBeNull();
  });
});
