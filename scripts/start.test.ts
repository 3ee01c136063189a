/**
 * `npm start` end to end: the real script, real wrangler dev and a real TURN node on this brief's fixed
 * test ports, then Ctrl-C (SIGINT) and a check that nothing it started is left listening.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { createSocket } from "node:dgram";
import { once } from "node:events";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { verifyRoomToken } from "../protocol/room-token.ts";
import { readDevVars } from "./dev-vars.ts";
import { type PortNeed, portProblem } from "./start-ports.ts";

const repoRoot = resolve(import.meta.dirname, "..");
const script = join(repoRoot, "scripts", "start.ts");
const persistRoot = mkdtempSync(join(tmpdir(), "switchboard-start-"));
afterAll(() => rmSync(persistRoot, { recursive: true, force: true }));

/** Bounded waits (the machine is shared: wrangler's first build can take a while). */
const READY_TIMEOUT_MS = 150_000;
const EXIT_TIMEOUT_MS = 45_000;

/** A running `node scripts/start.ts` with its output collected line by line. */
interface StartRun {
  child: ChildProcess;
  lines: string[];
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Resolves with the first line matching `pattern`; rejects on exit or timeout, with the output so far. */
  waitForLine(pattern: RegExp, timeoutMs: number): Promise<string>;
}

const runs: StartRun[] = [];
afterEach(async () => {
  // A failed assertion must not leave the stack running: SIGKILL its process groups as a last resort.
  for (const run of runs.splice(0)) {
    if (run.child.exitCode === null && run.child.signalCode === null) {
      run.child.kill("SIGINT");
      await Promise.race([run.exited, new Promise((r) => setTimeout(r, EXIT_TIMEOUT_MS))]);
      for (const pid of startedPids(run.lines)) killGroup(pid);
      run.child.kill("SIGKILL");
    }
  }
});

function startStack(args: string[]): StartRun {
  const env = { ...process.env };
  for (const name of Object.keys(env)) if (name.startsWith("SWITCHBOARD_")) delete env[name];
  const child = spawn(process.execPath, [script, ...args], { cwd: repoRoot, env, stdio: ["ignore", "pipe", "pipe"] });
  const lines: string[] = [];
  const waiters = new Set<() => void>();
  for (const stream of [child.stdout, child.stderr]) {
    createInterface({ input: stream }).on("line", (line) => {
      lines.push(line);
      for (const wake of waiters) wake();
    });
  }
  const exited = once(child, "exit").then(([code, signal]) => ({ code: code as number | null, signal: signal as NodeJS.Signals | null }));
  void exited.then(() => {
    for (const wake of waiters) wake();
  });
  const run: StartRun = {
    child,
    lines,
    exited,
    waitForLine(pattern, timeoutMs) {
      return new Promise((resolveLine, reject) => {
        const timer = setTimeout(
          () => finish(new Error(`no line matching ${pattern} within ${timeoutMs} ms:\n${lines.join("\n")}`)),
          timeoutMs,
        );
        const check = (): void => {
          const found = lines.find((line) => pattern.test(line));
          if (found !== undefined) finish(undefined, found);
          else if (child.exitCode !== null || child.signalCode !== null) {
            finish(new Error(`npm start exited (${child.exitCode ?? child.signalCode}) before ${pattern}:\n${lines.join("\n")}`));
          }
        };
        const finish = (error?: Error, line?: string): void => {
          clearTimeout(timer);
          waiters.delete(check);
          if (error) reject(error);
          else resolveLine(line!);
        };
        waiters.add(check);
        check();
      });
    },
  };
  runs.push(run);
  return run;
}

/** Pids the supervisor printed ("name | started (pid N)"). */
function startedPids(lines: string[]): number[] {
  return lines.flatMap((line) => {
    const match = /\| started \(pid (\d+)\)/.exec(line);
    return match ? [Number(match[1])] : [];
  });
}

function killGroup(pid: number): void {
  try {
    process.kill(-pid, "SIGKILL");
  } catch {
    // already gone
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Sends an RFC 8489 §6 Binding request over UDP; resolves with the XOR-MAPPED-ADDRESS port, retrying (UDP may drop). */
async function stunBinding(host: string, port: number): Promise<{ mappedPort: number; localPort: number }> {
  const socket = createSocket("udp4");
  await new Promise<void>((resolveBind) => socket.bind(0, "127.0.0.1", resolveBind));
  const transactionId = randomBytes(12);
  const request = Buffer.alloc(20);
  request.writeUInt16BE(0x0001, 0); // Binding request
  request.writeUInt16BE(0, 2); // no attributes
  request.writeUInt32BE(0x2112a442, 4); // magic cookie
  transactionId.copy(request, 8);
  try {
    for (let attempt = 0; attempt < 6; attempt++) {
      socket.send(request, port, host);
      const reply = await Promise.race([
        once(socket, "message").then(([message]) => message as Buffer),
        new Promise<undefined>((r) => setTimeout(() => r(undefined), 500 * (attempt + 1))),
      ]);
      if (!reply) continue;
      expect(reply.readUInt16BE(0)).toBe(0x0101); // Binding success response
      expect(reply.subarray(8, 20).equals(transactionId)).toBe(true);
      // Walk the attributes for XOR-MAPPED-ADDRESS (0x0020), RFC 8489 §14.2.
      let offset = 20;
      while (offset + 4 <= reply.length) {
        const type = reply.readUInt16BE(offset);
        const length = reply.readUInt16BE(offset + 2);
        if (type === 0x0020) return { mappedPort: reply.readUInt16BE(offset + 6) ^ 0x2112, localPort: socket.address().port };
        offset += 4 + Math.ceil(length / 4) * 4;
      }
      throw new Error("Binding success without XOR-MAPPED-ADDRESS");
    }
    throw new Error(`no STUN answer from ${host}:${port}/udp`);
  } finally {
    socket.close();
  }
}

async function expectPortsFree(needs: PortNeed[]): Promise<void> {
  for (const need of needs) expect(await portProblem(need), `${need.protocol}/${need.port}`).toBeNull();
}

function needs(worker: number, inspector: number, turn: number, metrics: number): PortNeed[] {
  const need = (protocol: "tcp" | "udp", port: number): PortNeed => ({ protocol, host: "127.0.0.1", port, owner: "test", flag: "-" });
  return [need("tcp", worker), need("tcp", inspector), need("udp", turn), need("tcp", turn), need("tcp", metrics)];
}

const turnCliExists = existsSync(join(repoRoot, "turn-server", "bin", "switchboard-turn.js"));

describe("npm start", () => {
  it("prints help and refuses bad flags naming them", async () => {
    const help = startStack(["--help"]);
    expect((await help.exited).code).toBe(0);
    expect(help.lines.join("\n")).toContain("--turn-port");

    const bad = startStack(["--nodes", "9"]);
    expect((await bad.exited).code).toBe(2);
    expect(bad.lines.join("\n")).toMatch(/--nodes must be a whole number from 0 to 4/);
  });

  it("names a taken port and the flag that moves it, and starts nothing", async () => {
    const blocker = createServer();
    await new Promise<void>((r) => blocker.listen(8743, "127.0.0.1", r));
    const udpBlocker = createSocket("udp4");
    await new Promise<void>((r) => udpBlocker.bind(3493, "127.0.0.1", r));
    try {
      const run = startStack(["--port", "8743", "--inspector-port", "9343", "--turn-port", "3493", "--metrics-port", "9647"]);
      const { code } = await run.exited;
      const output = run.lines.join("\n");
      expect(code).toBe(1);
      expect(output).toContain("port 8743/tcp for the worker (wrangler dev) on 127.0.0.1 is in use");
      expect(output).toContain("--port <port>");
      expect(output).toContain("port 3493/udp for the TURN node local-1 on 127.0.0.1 is in use");
      expect(output).toContain("--turn-port <port>");
      expect(startedPids(run.lines)).toEqual([]);
    } finally {
      blocker.close();
      udpBlocker.close();
    }
  });

  it.skipIf(!turnCliExists)(
    "runs the worker and a TURN node that answers STUN and registers, then stops everything on SIGINT",
    async () => {
      const persist = mkdtempSync(join(persistRoot, "state-"));
      const run = startStack([
        "--port",
        "8741",
        "--inspector-port",
        "9341",
        "--turn-port",
        "3491",
        "--metrics-port",
        "9645",
        "--persist-to",
        persist,
      ]);
      await run.waitForLine(/ready: http:\/\/127\.0\.0\.1:8741\//, READY_TIMEOUT_MS);
      const output = run.lines.join("\n");
      expect(output).toContain("--allow-loopback-peers");
      expect(output).toContain("curl -s -H 'Authorization: Bearer");
      expect(output).toContain("/dev/token?room=demo&user=alice");
      expect(output).toContain("http://127.0.0.1:9645/metrics");
      expect(output).toMatch(/^turn-1 +\| /m);
      expect(output).toMatch(/^wrangler +\| /m);

      const health = await fetch("http://127.0.0.1:8741/healthz", { signal: AbortSignal.timeout(5000) });
      expect(await health.json()).toEqual({ ok: true });

      // The dev token route is on (ENVIRONMENT=development in .dev.vars) and signs with its secret.
      const devVars = readDevVars(repoRoot) ?? {};
      const tokenAnswer = (await (
        await fetch("http://127.0.0.1:8741/dev/token?room=start-test&user=tester", { signal: AbortSignal.timeout(5000) })
      ).json()) as { token: string };
      expect((await verifyRoomToken(devVars.ROOM_TOKEN_SECRET ?? "", tokenAnswer.token, "start-test")).ok).toBe(true);

      const binding = await stunBinding("127.0.0.1", 3491);
      expect(binding.mappedPort).toBe(binding.localPort);

      const metrics = await fetch("http://127.0.0.1:9645/metrics", { signal: AbortSignal.timeout(5000) });
      expect(metrics.status).toBe(200);

      // The node's heartbeat reached the registry: start.ts waited for it and said so; check it ourselves too.
      expect(output).toContain("registry lists local-1");
      const nodes = await fetch("http://127.0.0.1:8741/v1/turn/nodes", {
        headers: { authorization: `Bearer ${devVars.ADMIN_TOKEN}` },
        signal: AbortSignal.timeout(5000),
      });
      expect(nodes.status).toBe(200);
      expect(await nodes.text()).toContain('"local-1"');

      const pids = startedPids(run.lines);
      expect(pids).toHaveLength(2);
      run.child.kill("SIGINT");
      const exit = await Promise.race([run.exited, new Promise<"timeout">((r) => setTimeout(() => r("timeout"), EXIT_TIMEOUT_MS))]);
      expect(exit).toEqual({ code: 0, signal: null });
      expect(run.lines.join("\n")).toMatch(/^turn-1 +\| stopped/m);
      expect(run.lines.join("\n")).toMatch(/^wrangler +\| stopped/m);
      for (const pid of pids) expect(isAlive(pid), `pid ${pid}`).toBe(false);
      await expectPortsFree(needs(8741, 9341, 3491, 9645));
    },
    READY_TIMEOUT_MS + EXIT_TIMEOUT_MS + 30_000,
  );

  it.skipIf(!turnCliExists)(
    "stops the rest and exits non-zero when a child dies",
    async () => {
      const persist = mkdtempSync(join(persistRoot, "state-"));
      const run = startStack([
        "--port",
        "8742",
        "--inspector-port",
        "9342",
        "--turn-port",
        "3492",
        "--metrics-port",
        "9646",
        "--persist-to",
        persist,
      ]);
      await run.waitForLine(/ready: http:\/\/127\.0\.0\.1:8742\//, READY_TIMEOUT_MS);
      const turnLine = run.lines.find((line) => /^turn-1 +\| started \(pid \d+\)/.test(line));
      const turnPid = Number(/pid (\d+)/.exec(turnLine ?? "")?.[1]);
      expect(turnPid).toBeGreaterThan(0);
      process.kill(turnPid, "SIGKILL");

      const exit = await Promise.race([run.exited, new Promise<"timeout">((r) => setTimeout(() => r("timeout"), EXIT_TIMEOUT_MS))]);
      expect(exit).toEqual({ code: 1, signal: null });
      expect(run.lines.join("\n")).toContain("turn-1 exited unexpectedly (SIGKILL); stopping the rest");
      expect(run.lines.join("\n")).toMatch(/^wrangler +\| stopped/m);
      for (const pid of startedPids(run.lines)) expect(isAlive(pid), `pid ${pid}`).toBe(false);
      await expectPortsFree(needs(8742, 9342, 3492, 9646));
    },
    READY_TIMEOUT_MS + EXIT_TIMEOUT_MS + 30_000,
  );
});
