/** Latency summaries for the results file: nearest-rank percentiles over samples in milliseconds. */

/** A latency distribution, in milliseconds. */
export interface LatencySummary {
  count: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  mean: number;
}

/** Nearest-rank percentile `p` (0–100) of ascending `sorted`; NaN for no samples. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1] as number;
}

/** Summarises latency samples (ms), rounded to microseconds. */
export function summarise(samples: readonly number[]): LatencySummary {
  const sorted = [...samples].sort((a, b) => a - b);
  let total = 0;
  for (const sample of sorted) total += sample;
  return {
    count: sorted.length,
    p50: round3(percentile(sorted, 50)),
    p90: round3(percentile(sorted, 90)),
    p99: round3(percentile(sorted, 99)),
    max: round3(sorted.length === 0 ? Number.NaN : (sorted[sorted.length - 1] as number)),
    mean: round3(sorted.length === 0 ? Number.NaN : total / sorted.length),
  };
}

/** The median of `values` (NaN for none). */
export function median(values: readonly number[]): number {
  return percentile(
    [...values].sort((a, b) => a - b),
    50,
  );
}

/** Rounds to 3 decimals (µs resolution for milliseconds). */
export function round3(value: number): number {
  return Math.round(value * 1000) / 1000;
}
