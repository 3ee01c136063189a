/**
 * The namespaces of the blocked-direct-path test, built and removed by test/netns/setup.sh and
 * teardown.sh: browsers A and B in their own namespaces, the worker and a TURN node in a third, a router
 * between them whose nftables drop A↔B. Needs root, iproute2 and nftables.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { join } from "node:path";
import { REPO_ROOT } from "./repo.ts";

const SCRIPTS = join(REPO_ROOT, "test", "netns");

/** Namespace names and addresses (setup.sh). */
export const TEST_NETWORK = {
  prefix: "sbe2e",
  a: { name: "sbe2e-a", address: "10.77.1.2" },
  b: { name: "sbe2e-b", address: "10.77.2.2" },
  turn: { name: "sbe2e-turn", address: "10.77.3.2" },
  router: { name: "sbe2e-router" },
  /** Every address of the test network: the range the TURN node may relay to. */
  range: "10.77.0.0/16",
} as const;

/** Why the namespace test cannot run here, or undefined when it can. */
export function netnsUnavailable(): string | undefined {
  if (process.getuid?.() !== 0) return "network namespaces need root (this run is not root)";
  for (const [command, args] of [
    ["ip", ["netns", "list"]],
    ["nft", ["--version"]],
  ] as const) {
    const result = spawnSync(command, args, { stdio: "ignore", timeout: 10_000 });
    if (result.error || result.status !== 0)
      return `\`${command} ${args.join(" ")}\` is unavailable (${result.error?.message ?? `exit ${result.status}`})`;
  }
  return undefined;
}

/** Builds the test network (removing leftovers of an earlier run first). */
export function setUpTestNetwork(): void {
  execFileSync("sh", [join(SCRIPTS, "setup.sh"), TEST_NETWORK.prefix], { stdio: ["ignore", "pipe", "pipe"], timeout: 30_000 });
}

/** Deletes the test network's namespaces (and with them every interface and rule). */
export function tearDownTestNetwork(): void {
  execFileSync("sh", [join(SCRIPTS, "teardown.sh"), TEST_NETWORK.prefix], { stdio: ["ignore", "pipe", "pipe"], timeout: 30_000 });
}

/** The namespaces that exist now, of the test network. */
export function testNamespaces(): string[] {
  const listed = execFileSync("ip", ["netns", "list"], { encoding: "utf8" });
  return listed
    .split("\n")
    .map((line) => line.split(" ")[0] ?? "")
    .filter((name) => name.startsWith(`${TEST_NETWORK.prefix}-`));
}

/** Packets the router dropped between A and B so far, per direction (nftables counters). */
export function droppedBetweenBrowsers(): { aToB: number; bToA: number } {
  const json = execFileSync("ip", ["netns", "exec", TEST_NETWORK.router.name, "nft", "-j", "list", "ruleset"], { encoding: "utf8" });
  const counts = { aToB: 0, bToA: 0 };
  for (const item of (JSON.parse(json) as { nftables: Record<string, unknown>[] }).nftables) {
    const rule = item.rule as { comment?: string; expr?: Record<string, unknown>[] } | undefined;
    const counter = rule?.expr?.find((expr) => "counter" in expr)?.counter as { packets?: number } | undefined;
    if (rule?.comment === "a-to-b") counts.aToB = counter?.packets ?? 0;
    if (rule?.comment === "b-to-a") counts.bToA = counter?.packets ?? 0;
  }
  return counts;
}
