/**
 * Makes sure coturn's `turnserver` and `turnutils_uclient` are on PATH: installs Debian's `coturn` package
 * when they are missing and we run as root, otherwise fails with a message that says how to install it.
 */
import { execFileSync, spawnSync } from "node:child_process";

/** True when `command` resolves on PATH. */
function onPath(command: string): boolean {
  return spawnSync("sh", ["-c", `command -v ${command}`], { stdio: "ignore", timeout: 5_000 }).status === 0;
}

/** Ensures coturn's tools exist; returns the coturn version string (e.g. "4.6.1"). */
export function ensureCoturn(): string {
  if (!onPath("turnserver") || !onPath("turnutils_uclient")) {
    if (process.getuid?.() !== 0) {
      throw new Error("coturn is not installed (turnserver / turnutils_uclient missing): run `sudo apt-get install -y coturn`, then retry");
    }
    process.stdout.write("coturn missing: apt-get install -y coturn …\n");
    const install = spawnSync("apt-get", ["install", "-y", "coturn"], {
      stdio: "inherit",
      timeout: 300_000,
      env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" },
    });
    if (install.status !== 0 || !onPath("turnserver") || !onPath("turnutils_uclient")) {
      throw new Error("apt-get install -y coturn failed; install coturn by hand (try `apt-get update` first), then retry");
    }
  }
  return execFileSync("turnserver", ["--version"], { encoding: "utf8", timeout: 10_000 }).trim().split("\n").pop() ?? "unknown";
}
