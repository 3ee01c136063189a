/**
 * `node bench/signaling/hot-path.ts` — µs per frame of the JavaScript the Room runs for one relayed signal,
 * outside workerd (same V8 engine, no runtime around it): what validation and re-serialisation cost next to
 * the relay's whole latency (run.ts). zod runs jitless, as in Workers, where code generation from strings
 * (`new Function`) is disallowed (https://developers.cloudflare.com/workers/runtime-apis/web-standards/) and
 * zod v4 falls back to its interpreted path. Imports the Room's own frame functions (worker/room/frames.ts).
 */
import { performance } from "node:perf_hooks";
import { z } from "zod";

// Before any schema is built: zod decides JIT vs interpreted per schema at construction.
z.config({ jitless: true });
const { checkClientFrame, durablePrefix, withSeq } = await import("../../worker/room/frames.ts");
const { benchData } = await import("./targets.ts");

const ITERATIONS = 100_000;
const WARM_UP = 20_000;
/** Each step is timed this many times; the fastest repetition is reported (others were disturbed by other work). */
const REPETITIONS = 7;
const signalText = JSON.stringify({ type: "signal", to: "k3J9xQw2pLm8Rt0a", data: benchData(0, 123) });
const ackText = '{"type":"ack","seq":12345}';
const data = benchData(0, 123);

/** µs per call of `work`: the lowest mean over REPETITIONS runs of ITERATIONS calls, after WARM_UP calls. */
function microseconds(work: (iteration: number) => unknown): number {
  for (let iteration = 0; iteration < WARM_UP; iteration++) work(iteration);
  let best = Number.POSITIVE_INFINITY;
  for (let repetition = 0; repetition < REPETITIONS; repetition++) {
    const startedAt = performance.now();
    for (let iteration = 0; iteration < ITERATIONS; iteration++) work(iteration);
    best = Math.min(best, ((performance.now() - startedAt) * 1000) / ITERATIONS);
  }
  return best;
}

const rows: [string, number][] = [
  ["JSON.parse of the signal frame (all BareRelay does)", microseconds(() => JSON.parse(signalText))],
  ["checkClientFrame(signal): size + JSON.parse + zod", microseconds(() => checkClientFrame(signalText, 65_536))],
  ["checkClientFrame(ack)", microseconds(() => checkClientFrame(ackText, 65_536))],
  [
    "durablePrefix + withSeq (outbound signal text)",
    microseconds((iteration) => withSeq(durablePrefix({ type: "signal", from: "k3J9xQw2pLm8Rt0a", data }), iteration)),
  ],
];
process.stdout.write(
  `best of ${REPETITIONS} × ${ITERATIONS} iterations, Node ${process.version}, zod jitless\n\n| step | µs per frame |\n|---|---:|\n`,
);
for (const [step, us] of rows) process.stdout.write(`| ${step} | ${us.toFixed(2)} |\n`);
