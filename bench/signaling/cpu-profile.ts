/**
 * Where the worker's time goes: a V8 CPU profile of the worker isolate (Room and BareRelay run in it),
 * taken over wrangler dev's inspector with the Chrome DevTools Protocol (Profiler.start / Profiler.stop,
 * https://chromedevtools.github.io/devtools-protocol/tot/Profiler/), summarised by self time per original
 * source file (through the bundle's source map, node:module SourceMap) and per function.
 * Profiling slows the worker, so it runs after the measured workloads and never overlaps them.
 */
import { readFileSync } from "node:fs";
import { SourceMap } from "node:module";
import { dirname, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import WebSocket from "ws";

/** A profile node as CDP returns it (the fields used here). */
interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number };
}

/** A CDP CPU profile (the fields used here). */
interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

/** Self time of one function or source file, in ms and as a share of the busy (non-idle) time. */
export interface SelfTime {
  name: string;
  ms: number;
  share: number;
}

/** A summarised profile. */
export interface ProfileSummary {
  wallMs: number;
  /** Sampled time that was not "(idle)". */
  busyMs: number;
  /** busyMs per relayed frame (µs). */
  busyUsPerFrame: number;
  byFile: SelfTime[];
  topFunctions: SelfTime[];
}

const CALL_TIMEOUT_MS = 15_000;

/** A minimal CDP session over the inspector WebSocket. */
export class InspectorSession {
  readonly #ws: WebSocket;
  #nextId = 1;
  readonly #waiting = new Map<number, { resolve: (result: unknown) => void; needsResult: boolean }>();

  private constructor(ws: WebSocket) {
    this.#ws = ws;
    ws.on("message", (data) => {
      const message = JSON.parse(String(data)) as { id?: number; result?: unknown; error?: { message: string } };
      if (message.id === undefined) return;
      const waiter = this.#waiting.get(message.id);
      // wrangler's inspector proxy echoes some requests back without a result; wait for the answer that has one.
      if (!waiter || (waiter.needsResult && message.result === undefined && message.error === undefined)) return;
      this.#waiting.delete(message.id);
      waiter.resolve(message.error ? new Error(message.error.message) : message.result);
    });
  }

  /** Connects to `ws://127.0.0.1:<port>/ws` (wrangler dev's inspector proxy). */
  static async connect(port: number): Promise<InspectorSession> {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/ws`, { perMessageDeflate: false });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`inspector on port ${port} did not open`)), CALL_TIMEOUT_MS);
      ws.once("open", () => {
        clearTimeout(timer);
        resolve();
      });
      ws.once("error", (error) => {
        clearTimeout(timer);
        reject(error);
      });
    });
    return new InspectorSession(ws);
  }

  /** Sends one command; resolves with its result (undefined for echoed commands unless `needsResult`). */
  call(method: string, params: Record<string, unknown> = {}, needsResult = false): Promise<unknown> {
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiting.delete(id);
        reject(new Error(`inspector ${method} timed out`));
      }, CALL_TIMEOUT_MS);
      this.#waiting.set(id, {
        needsResult,
        resolve: (result) => {
          clearTimeout(timer);
          if (result instanceof Error) reject(result);
          else resolve(result);
        },
      });
      this.#ws.send(JSON.stringify({ id, method, params }));
    });
  }

  /** Profiles `work` with the given sampling interval (µs). */
  async profile(work: () => Promise<void>, samplingIntervalUs = 100): Promise<CpuProfile> {
    await this.call("Profiler.enable");
    await this.call("Profiler.setSamplingInterval", { interval: samplingIntervalUs });
    await this.call("Profiler.start");
    let failure: unknown;
    try {
      await work();
    } catch (error) {
      failure = error;
    }
    // Stopped even when the work failed, so the worker does not keep profiling.
    const stopped = (await this.call("Profiler.stop", {}, true)) as { profile: CpuProfile };
    if (failure !== undefined) throw failure;
    return stopped.profile;
  }

  /** Closes the session. */
  close(): void {
    this.#ws.close();
  }
}

/** Summarises `profile`: self time by original source file (via the bundle's source map) and by function. */
export function summariseProfile(profile: CpuProfile, bundlePath: string, repoRoot: string, frames: number, top = 12): ProfileSummary {
  let sourceMap: SourceMap | undefined;
  try {
    sourceMap = new SourceMap(JSON.parse(readFileSync(`${bundlePath}.map`, "utf8")));
  } catch {
    sourceMap = undefined;
  }
  const nodes = new Map(profile.nodes.map((node) => [node.id, node]));
  const selfUs = new Map<number, number>();
  profile.samples.forEach((nodeId, index) => {
    selfUs.set(nodeId, (selfUs.get(nodeId) ?? 0) + (profile.timeDeltas[index] ?? 0));
  });
  const byFile = new Map<string, number>();
  const byFunction = new Map<string, number>();
  let busyUs = 0;
  for (const [nodeId, us] of selfUs) {
    const frame = nodes.get(nodeId)?.callFrame;
    if (!frame || frame.functionName === "(idle)") continue;
    busyUs += us;
    const { file, line } = originalLocation(frame, sourceMap, dirname(bundlePath), repoRoot);
    const fnName = frame.functionName || "(anonymous)";
    byFile.set(file, (byFile.get(file) ?? 0) + us);
    const key = line === undefined ? `${fnName} ${file}` : `${fnName} ${file}:${line}`;
    byFunction.set(key, (byFunction.get(key) ?? 0) + us);
  }
  const rank = (entries: Map<string, number>): SelfTime[] =>
    [...entries.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([name, us]) => ({ name, ms: Math.round(us / 100) / 10, share: Math.round((us / busyUs) * 1000) / 10 }));
  return {
    wallMs: Math.round((profile.endTime - profile.startTime) / 1000),
    busyMs: Math.round(busyUs / 1000),
    busyUsPerFrame: Math.round(busyUs / frames),
    byFile: rank(byFile),
    topFunctions: rank(byFunction),
  };
}

/** The original file (repo-relative; node_modules packages by name) and 1-based line of a profiled function. */
function originalLocation(
  frame: ProfileNode["callFrame"],
  sourceMap: SourceMap | undefined,
  bundleDir: string,
  repoRoot: string,
): { file: string; line?: number } {
  // No script: V8's pseudo-frames ("(program)", "(garbage collector)") or native APIs (socket send, SQL exec).
  if (frame.url === "") return { file: frame.functionName.startsWith("(") ? frame.functionName : "(native APIs)" };
  const entry = sourceMap?.findEntry(frame.lineNumber, frame.columnNumber) as
    | { originalSource?: string; originalLine?: number }
    | undefined;
  if (!entry?.originalSource) return { file: frame.url.split("/").pop() ?? frame.url, line: frame.lineNumber + 1 };
  // Sources in the map are relative to the bundle's directory (a temp dir): make them repo-relative.
  const original = entry.originalSource.startsWith("file://") ? fileURLToPath(entry.originalSource) : entry.originalSource;
  const source = relative(repoRoot, resolve(bundleDir, original));
  const pkg = /(?:^|\/)node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(source)?.[1];
  return pkg ? { file: `npm:${pkg}`, line: undefined } : { file: source, line: (entry.originalLine ?? 0) + 1 };
}
