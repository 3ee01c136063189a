/**
 * `npm test`: makes sure the system packages the tests use are there, builds the relay's native UDP addon,
 * runs every vitest project
 * (workerd and Node), and ends with the plain line `N passed, N failed[, N skipped]` counted from
 * vitest's JSON report, so a run that executed no test is visible. Extra arguments go to vitest.
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, readFileSync } from "node:fs";
import { ensureSystemDependencies } from "./system-deps.ts";

const major = Number(process.versions.node.split(".")[0]);
if (major < 22) {
  console.error(`Node ${process.versions.node} is too old: run through npm (npm test), which uses the Node 22 from node_modules/.bin.`);
  process.exit(1);
}

ensureSystemDependencies();
// The relay's batched UDP addon: the "turn-native" project and the e2e tests run on it, so build it (or fail) now.
const built = spawnSync(process.execPath, ["scripts/build-native.ts"], { stdio: "inherit" });
if (built.status !== 0) process.exit(built.status ?? 1);
mkdirSync("test-results", { recursive: true });
const report = "test-results/vitest.json";
const result = spawnSync(
  "vitest",
  ["run", "--reporter=default", "--reporter=json", `--outputFile.json=${report}`, ...process.argv.slice(2)],
  {
    stdio: "inherit",
  },
);

interface VitestJsonReport {
  numPassedTests: number;
  numFailedTests: number;
  numPendingTests: number;
  numTodoTests: number;
  numTotalTests: number;
}

let summary: VitestJsonReport | undefined;
try {
  summary = JSON.parse(readFileSync(report, "utf8")) as VitestJsonReport;
} catch {
  console.error(`no vitest report at ${report}`);
}
if (summary) {
  const skipped = summary.numPendingTests + summary.numTodoTests;
  console.log(`${summary.numPassedTests} passed, ${summary.numFailedTests} failed, ${skipped} skipped`);
  if (summary.numTotalTests === 0) {
    console.error("no test ran");
    process.exit(1);
  }
}
process.exit(result.status ?? 1);
