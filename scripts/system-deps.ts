/**
 * Debian packages the tests and benchmarks need (headless Chromium, coturn's test tools, nftables for
 * the blocked-path test, a C compiler for the relay's UDP addon). Installed with apt-get when missing and running as root; otherwise a clear error.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";

/** A binary and the Debian package that ships it. */
export interface SystemDependency {
  binary: string;
  debianPackage: string;
}

/** What `npm test` needs. */
export const TEST_DEPENDENCIES: SystemDependency[] = [
  { binary: "/usr/bin/chromium", debianPackage: "chromium" },
  { binary: "/usr/bin/turnserver", debianPackage: "coturn" },
  { binary: "/usr/sbin/nft", debianPackage: "nftables" },
  { binary: "/usr/bin/openssl", debianPackage: "openssl" },
  { binary: "/usr/bin/ip", debianPackage: "iproute2" },
  // The relay's batched UDP addon (scripts/build-native.ts): a C compiler and the C library's headers.
  { binary: "/usr/bin/cc", debianPackage: "gcc" },
  { binary: "/usr/include/x86_64-linux-gnu/sys/socket.h", debianPackage: "libc6-dev" },
];

/** Installs the missing packages with apt-get (root only); throws with the command to run otherwise. */
export function ensureSystemDependencies(dependencies: SystemDependency[] = TEST_DEPENDENCIES): void {
  const missing = dependencies.filter((dependency) => !existsSync(dependency.binary) && !onPath(dependency.binary));
  if (missing.length === 0) return;
  const packages = [...new Set(missing.map((dependency) => dependency.debianPackage))];
  if (process.getuid?.() !== 0) {
    throw new Error(`missing system packages: ${packages.join(", ")}; install them with: sudo apt-get install -y ${packages.join(" ")}`);
  }
  console.log(`installing system packages: ${packages.join(", ")} (apt-get)`);
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  execFileSync("apt-get", ["update", "-qq"], { stdio: "inherit", env });
  execFileSync("apt-get", ["install", "-y", "-qq", "--no-install-recommends", ...packages], { stdio: "inherit", env });
}

function onPath(binary: string): boolean {
  const name = binary.split("/").pop() ?? binary;
  return spawnSync("sh", ["-c", `command -v ${name}`], { stdio: "ignore" }).status === 0;
}
