/**
 * The TURN REST credential scheme of protocol/turn-credentials.ts (what /v1/ice mints and TURN nodes
 * check), held against independent implementations: Node's own HMAC (node:crypto) and coturn itself
 * (`turnserver --use-auth-secret`), which is what "compatible with coturn" has to mean.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { createHmac } from "node:crypto";
import { createSocket } from "node:dgram";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mintTurnCredential, parseSecretList, turnPassword, turnUsernameExpiry } from "../protocol/turn-credentials.ts";

/** The check a TURN node makes (coturn use-auth-secret): unexpired, and the password of any configured secret. */
function nodeAccepts(secrets: string, username: string, password: string, now: number): boolean {
  const expiry = turnUsernameExpiry(username);
  if (expiry === null || expiry < now) return false;
  return parseSecretList(secrets).some((secret) => createHmac("sha1", secret).update(username).digest("base64") === password);
}

describe("TURN REST credentials against node:crypto", () => {
  it("computes base64(HMAC-SHA1(secret, username)) exactly as node:crypto does", async () => {
    const cases: [string, string][] = [
      ["test-turn-secret-1", "1700000000:alice"],
      ["a much longer secret than the sixty-four bytes of an HMAC-SHA1 block, so it is hashed first", "1:x"],
      ["ünïcødé secret", "1700000000:用户"],
      ["s", "1700000000"],
    ];
    for (const [secret, username] of cases) {
      expect(await turnPassword(secret, username)).toBe(createHmac("sha1", secret).update(username).digest("base64"));
    }
  });

  it("mints username <unix expiry>:<user> and the matching password", async () => {
    const credential = await mintTurnCredential("secret", "alice", 3600, 1_700_000_000);
    expect(credential).toEqual({
      username: "1700003600:alice",
      credential: createHmac("sha1", "secret").update("1700003600:alice").digest("base64"),
      expiresAt: 1_700_003_600,
    });
  });

  it("expires: a node accepts the credential until its expiry and refuses it after", async () => {
    const now = 1_700_000_000;
    const { username, credential } = await mintTurnCredential("secret", "alice", 60, now);
    expect(nodeAccepts("secret", username, credential, now + 60)).toBe(true);
    expect(nodeAccepts("secret", username, credential, now + 61)).toBe(false);
    expect(nodeAccepts("secret", username, "forged", now)).toBe(false);
  });

  it("rotates: the first secret signs, nodes accept any listed secret, a removed secret stops working", async () => {
    const now = 1_700_000_000;
    // Before rotation the worker signs with "old".
    const before = await mintTurnCredential(parseSecretList("old")[0]!, "alice", 3600, now);
    // Step 1: nodes learn "new,old" first; step 2: the worker signs with "new".
    const after = await mintTurnCredential(parseSecretList("new,old")[0]!, "bob", 3600, now);
    expect(after.credential).toBe(createHmac("sha1", "new").update(after.username).digest("base64"));
    expect(nodeAccepts("new,old", before.username, before.credential, now)).toBe(true);
    expect(nodeAccepts("new,old", after.username, after.credential, now)).toBe(true);
    // Step 3, once every "old" credential has expired: nodes drop it.
    expect(nodeAccepts("new", before.username, before.credential, now)).toBe(false);
    expect(nodeAccepts("new", after.username, after.credential, now)).toBe(true);
  });
});

/** A free UDP port on 127.0.0.1 (bound and released; the kernel does not hand it out again at once). */
async function freeUdpPort(): Promise<number> {
  const socket = createSocket("udp4");
  await new Promise<void>((resolve) => socket.bind(0, "127.0.0.1", () => resolve()));
  const { port } = socket.address();
  await new Promise<void>((resolve) => socket.close(() => resolve()));
  return port;
}

describe("TURN REST credentials against coturn (use-auth-secret)", () => {
  const secret = "coturn-shared-secret";
  let coturn: ChildProcess | undefined;
  let port = 0;
  let workDir = "";

  beforeAll(async () => {
    port = await freeUdpPort();
    workDir = mkdtempSync(join(tmpdir(), "switchboard-coturn-"));
    const relayLow = 20_000 + (port % 40_000);
    coturn = spawn(
      "turnserver",
      [
        "-n",
        "--listening-ip=127.0.0.1",
        `--listening-port=${port}`,
        "--relay-ip=127.0.0.1",
        `--min-port=${relayLow}`,
        `--max-port=${relayLow + 40}`,
        "--use-auth-secret",
        `--static-auth-secret=${secret}`,
        "--realm=switchboard",
        "--allow-loopback-peers",
        "--no-cli",
        "--no-tls",
        "--no-dtls",
        "-m",
        "1",
        "--log-file=stdout",
        `--pidfile=${join(workDir, "turnserver.pid")}`,
        `--userdb=${join(workDir, "turndb")}`,
      ],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    // Ready once it reports its servers (bounded by the hook timeout).
    await new Promise<void>((resolve, reject) => {
      let output = "";
      coturn!.stdout!.on("data", (chunk: Buffer) => {
        output += chunk.toString();
        if (output.includes("Total General servers")) resolve();
      });
      coturn!.once("exit", (code) => reject(new Error(`turnserver exited with ${code}: ${output.slice(-500)}`)));
    });
  });

  afterAll(() => {
    coturn?.kill();
    if (workDir) rmSync(workDir, { recursive: true, force: true });
  });

  /** Runs coturn's own client: one allocation pair and a packet through it. True when allocation succeeded. */
  function allocates(username: string, password: string): boolean {
    const result = spawnSync(
      "turnutils_uclient",
      ["-p", String(port), "-u", username, "-w", password, "-y", "-c", "-m", "1", "-n", "1", "-l", "64", "127.0.0.1"],
      {
        timeout: 20_000,
        encoding: "utf8",
      },
    );
    return result.status === 0 && !result.stdout.includes("Cannot complete Allocation");
  }

  it("allocates with a minted credential and refuses a wrong or expired one", async () => {
    const now = Math.floor(Date.now() / 1000);
    const fresh = await mintTurnCredential(secret, "alice", 600, now);
    expect(allocates(fresh.username, fresh.credential)).toBe(true);
    expect(allocates(fresh.username, (await mintTurnCredential("another-secret", "alice", 600, now)).credential)).toBe(false);
    const expired = await mintTurnCredential(secret, "alice", 60, now - 120);
    expect(allocates(expired.username, expired.credential)).toBe(false);
  });
});
