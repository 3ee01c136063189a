/**
 * Summarises a V8 `.cpuprofile` (written by `node --cpu-prof`): self time per function and per source file,
 * as shares of the busy (non-idle) time, so the hot spots of the relay can be named in BENCHMARKS.md.
 */
import { readFileSync } from "node:fs";

const repoRootUrl = new URL("../../", import.meta.url).href;

/** One row of the summary. */
export interface HotSpot {
  name: string;
  selfMs: number;
  /** Percent of busy time (samples not in "(idle)"). */
  percent: number;
}

/** Top functions and files by self time. */
export interface ProfileSummary {
  busyMs: number;
  idleMs: number;
  functions: HotSpot[];
  files: HotSpot[];
}

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/**
 * Reads `path` and returns the `top` hottest functions and files, ignoring the first `skipMs` of the
 * profile (process start-up: module loading and type stripping, which a long-running relay pays once).
 */
export function summariseCpuProfile(path: string, top = 15, skipMs = 0): ProfileSummary {
  const profile = JSON.parse(readFileSync(path, "utf8")) as CpuProfile;
  const byId = new Map<number, ProfileNode>();
  for (const node of profile.nodes) byId.set(node.id, node);
  const selfMicros = new Map<number, number>();
  // Each sample's time delta is the time since the previous sample: charge it to the sampled node.
  let elapsedMicros = 0;
  for (let index = 0; index < profile.samples.length; index += 1) {
    const delta = profile.timeDeltas[index] ?? 0;
    elapsedMicros += delta;
    if (elapsedMicros < skipMs * 1000) continue;
    const id = profile.samples[index]!;
    selfMicros.set(id, (selfMicros.get(id) ?? 0) + delta);
  }
  const functions = new Map<string, number>();
  const files = new Map<string, number>();
  let idle = 0;
  let busy = 0;
  for (const [id, micros] of selfMicros) {
    const frame = byId.get(id)?.callFrame;
    if (!frame) continue;
    if (frame.functionName === "(idle)") {
      idle += micros;
      continue;
    }
    busy += micros;
    const file = shortUrl(frame.url) || frame.functionName; // "(program)", "(garbage collector)" have no url
    const name = `${frame.functionName || "(anonymous)"}${frame.url ? ` ${shortUrl(frame.url)}:${frame.lineNumber + 1}` : ""}`;
    functions.set(name, (functions.get(name) ?? 0) + micros);
    files.set(file, (files.get(file) ?? 0) + micros);
  }
  const rank = (table: Map<string, number>): HotSpot[] =>
    [...table]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([name, micros]) => ({ name, selfMs: round(micros / 1000), percent: round((100 * micros) / Math.max(busy, 1)) }));
  return { busyMs: round(busy / 1000), idleMs: round(idle / 1000), functions: rank(functions), files: rank(files) };
}

/** Repository-relative path for our files, "node:…" for Node internals, the last segments otherwise. */
function shortUrl(url: string): string {
  if (!url) return "";
  if (url.startsWith(repoRootUrl)) return url.slice(repoRootUrl.length);
  const nodeModules = url.lastIndexOf("node_modules/");
  if (nodeModules >= 0) return url.slice(nodeModules);
  return url.replace(/^file:\/\//, "");
}

function round(value: number): number {
  return Math.round(value * 10) / 10;
}
