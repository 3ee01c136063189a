import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { verifyRoomToken } from "../protocol/room-token.ts";

const script = resolve(import.meta.dirname, "token.ts");
const workDir = mkdtempSync(join(tmpdir(), "switchboard-token-"));
afterAll(() => rmSync(workDir, { recursive: true, force: true }));

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

// Runs the real command in `cwd` with ROOM_TOKEN_SECRET removed unless given, so the host's env cannot leak in.
function runToken(args: string[], options: { cwd?: string; secretEnv?: string } = {}): Run {
  const env = { ...process.env };
  delete env.ROOM_TOKEN_SECRET;
  if (options.secretEnv !== undefined) env.ROOM_TOKEN_SECRET = options.secretEnv;
  const result = spawnSync(process.execPath, [script, ...args], { cwd: options.cwd ?? workDir, env, encoding: "utf8", timeout: 20_000 });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe("npm run token", () => {
  it("prints only a token that verifies for the room, with the asked claims", async () => {
    const before = Math.floor(Date.now() / 1000);
    const run = runToken(["--room", "standup", "--user", "u_42", "--name", "Ada", "--ttl", "600", "--admin", "--secret", "s3cret-flag"]);
    expect(run.status).toBe(0);
    const token = run.stdout.trim();
    expect(token.split(".")).toHaveLength(3);
    expect(run.stdout).toBe(`${token}\n`);

    const check = await verifyRoomToken("s3cret-flag", token, "standup");
    if (!check.ok) throw new Error(`refused: ${check.code}`);
    expect(check.claims).toMatchObject({ room: "standup", sub: "u_42", name: "Ada", grants: { admin: true } });
    expect(check.claims.exp).toBeGreaterThanOrEqual(before + 600);
    expect(check.claims.exp).toBeLessThanOrEqual(before + 600 + 10);
    expect(await verifyRoomToken("another-secret", token)).toMatchObject({ ok: false, code: "token_invalid" });
  });

  it("signs with env ROOM_TOKEN_SECRET before .dev.vars, and with .dev.vars when the env has none", async () => {
    const dir = mkdtempSync(join(workDir, "devvars-"));
    writeFileSync(join(dir, ".dev.vars"), '# local\nENVIRONMENT=development\nROOM_TOKEN_SECRET="from-dev-vars"\n');

    const fromEnv = runToken(["--room", "r1", "--user", "a"], { cwd: dir, secretEnv: "from-env" });
    expect(fromEnv.status).toBe(0);
    expect((await verifyRoomToken("from-env", fromEnv.stdout.trim())).ok).toBe(true);

    const fromFile = runToken(["--room", "r1", "--user", "a", "--json", "--receive-only"], { cwd: dir });
    expect(fromFile.status).toBe(0);
    expect(fromFile.stderr).toContain(".dev.vars");
    const answer = JSON.parse(fromFile.stdout) as { token: string; room: string; userId: string; expiresAt: string };
    expect(answer).toMatchObject({ room: "r1", userId: "a" });
    const check = await verifyRoomToken("from-dev-vars", answer.token, "r1");
    if (!check.ok) throw new Error(`refused: ${check.code}`);
    expect(check.claims.grants).toEqual({ canPublishData: false });
    expect(Date.parse(answer.expiresAt) / 1000).toBe(check.claims.exp);
  });

  it("prints help with exit code 0", () => {
    const run = runToken(["--help"]);
    expect(run.status).toBe(0);
    expect(run.stdout).toContain("--room");
    expect(run.stdout).toContain("ROOM_TOKEN_SECRET");
  });

  it("refuses bad input with a clear message, exit code 2 and nothing on stdout", () => {
    const cases: Array<[string[], string]> = [
      [["--user", "a", "--secret", "s"], "--room is required"],
      [["--room", "r", "--secret", "s"], "--user is required"],
      [["--room", ".hidden", "--user", "a", "--secret", "s"], "may not start with '.'"],
      [["--room", "r", "--user", "a", "--ttl", "0", "--secret", "s"], "--ttl must be"],
      [["--room", "r", "--user", "a", "--ttl", "1h", "--secret", "s"], "--ttl must be"],
      [["--room", "r", "--user", "a", "--frobnicate"], "Unknown option '--frobnicate'"],
      [["--room", "r", "--user", "a"], "no signing secret"],
    ];
    for (const [args, message] of cases) {
      const run = runToken(args);
      expect(run.status, args.join(" ")).toBe(2);
      expect(run.stderr, args.join(" ")).toContain(message);
      expect(run.stdout, args.join(" ")).toBe("");
    }
  });
});
