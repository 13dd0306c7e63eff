/**
 * The arithmetic of the fleet benchmark, pure: percentiles, the capacity figures (cameras per core, the
 * decode-only ceiling, CPU shares) and the text rendering of the summary (table and bar chart).
 */

/** Percentile `p` (0..100) by linear interpolation between closest ranks (numpy's default); NaN if empty. */
export function percentile(values: readonly number[], p: number): number {
  if (!(p >= 0 && p <= 100)) throw new RangeError(`percentile must be within 0..100 (got ${p})`);
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = (p / 100) * (sorted.length - 1);
  const lo = Math.floor(rank);
  const hi = Math.ceil(rank);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (rank - lo);
}

export interface LatencySummary {
  count: number;
  p50_ms: number | null;
  p95_ms: number | null;
  max_ms: number | null;
}

export function summarizeLatencies(ms: readonly number[]): LatencySummary {
  if (ms.length === 0) return { count: 0, p50_ms: null, p95_ms: null, max_ms: null };
  return {
    count: ms.length,
    p50_ms: Math.round(percentile(ms, 50)),
    p95_ms: Math.round(percentile(ms, 95)),
    max_ms: Math.round(Math.max(...ms)),
  };
}

/**
 * The first of `sortedTimes` at or after `t`: the capture time of the analysed frame in which an act
 * observed at `t` (interpolated between two frames) was seen. undefined when none is.
 */
export function firstAtOrAfter(sortedTimes: readonly number[], t: number): number | undefined {
  let lo = 0;
  let hi = sortedTimes.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sortedTimes[mid]! < t) lo = mid + 1;
    else hi = mid;
  }
  return sortedTimes[lo];
}

/** Frames processed must reach this share of cameras × analysed fps × duration for a run to count. */
export const SUSTAINED_SHARE = 0.95;

export interface CapacityInput {
  cameras: number;
  /** Frames per second each camera is meant to be analysed at (after the decode mode's limit). */
  analysedFps: number;
  durationS: number;
  framesProcessed: number;
  /** CPU seconds of the system under test over the run (simulated cameras excluded). */
  cpuSeconds: number;
}

export interface Capacity {
  expected_frames: number;
  processed_share: number;
  /** No loss beyond the configured sampling: processed ≥ 95 % of expected. */
  sustained: boolean;
  /** CPU cores busy on average (CPU seconds per second). */
  cores_used: number;
  /** Cameras fully served: all of them when sustained, else the processed frames' worth of cameras. */
  effective_cameras: number;
  /** effective_cameras / cores_used. */
  cameras_per_core: number;
}

/**
 * Cameras per core. When the run kept up (sustained), every camera counts; when it did not, only the
 * cameras' worth of frames actually analysed does, so an overloaded run never claims capacity it lacked.
 */
export function capacity(input: CapacityInput): Capacity {
  const { cameras, analysedFps, durationS, framesProcessed, cpuSeconds } = input;
  if (!(cameras > 0 && analysedFps > 0 && durationS > 0))
    throw new RangeError('cameras, analysedFps and durationS must be > 0');
  const expected = cameras * analysedFps * durationS;
  const share = framesProcessed / expected;
  const sustained = share >= SUSTAINED_SHARE;
  const effective = sustained ? cameras : Math.min(cameras, framesProcessed / (analysedFps * durationS));
  const cores = cpuSeconds / durationS;
  return {
    expected_frames: Math.round(expected),
    processed_share: round(share, 4),
    sustained,
    cores_used: round(cores, 4),
    effective_cameras: round(effective, 3),
    cameras_per_core: cores > 0 ? round(effective / cores, 3) : Number.POSITIVE_INFINITY,
  };
}

/** Cameras one core decodes with these args: cameras / (decode CPU seconds per second). */
export function decodeCamerasPerCore(cameras: number, decodeCpuSeconds: number, durationS: number): number {
  if (!(durationS > 0)) throw new RangeError('durationS must be > 0');
  const cores = decodeCpuSeconds / durationS;
  return cores > 0 ? round(cameras / cores, 3) : Number.POSITIVE_INFINITY;
}

/** Shares of the total CPU: decode (ffmpeg), inference (detector), rest (everything else); sum to 1. */
export function cpuShares(
  totalS: number,
  decodeS: number,
  inferenceS: number,
): { decode: number; inference: number; rest: number } {
  if (!(totalS > 0)) return { decode: 0, inference: 0, rest: 0 };
  const decode = decodeS / totalS;
  const inference = Math.min(inferenceS / totalS, 1 - decode);
  return { decode: round(decode, 4), inference: round(inference, 4), rest: round(1 - decode - inference, 4) };
}

export function round(v: number, digits = 3): number {
  const f = 10 ** digits;
  return Math.round(v * f) / f;
}

/**
 * A horizontal text bar chart: one line per row, bars scaled so that `scaleMax` fills `width` cells
 * (eighth-cell resolution), the value and a note after each bar.
 */
export function barChart(
  rows: readonly { label: string; value: number; note?: string }[],
  opts: { width?: number; scaleMax?: number; unit?: string; decimals?: number } = {},
): string {
  const width = opts.width ?? 40;
  const max = opts.scaleMax ?? Math.max(0, ...rows.map((r) => r.value));
  const labelWidth = Math.max(0, ...rows.map((r) => r.label.length));
  const eighths = ['', '▏', '▎', '▍', '▌', '▋', '▊', '▉'];
  return rows
    .map((r) => {
      const cells = max > 0 ? Math.max(0, Math.min(width, (r.value / max) * width)) : 0;
      const full = Math.floor(cells);
      const part = eighths[Math.floor((cells - full) * 8)] ?? '';
      const bar = ('█'.repeat(full) + part).padEnd(width + 1, ' ');
      const value = `${r.value.toFixed(opts.decimals ?? 2)}${opts.unit ? ` ${opts.unit}` : ''}`;
      return `${r.label.padEnd(labelWidth)} │${bar}${value}${r.note ? `  ${r.note}` : ''}`;
    })
    .join('\n');
}

/** A plain two-column table of label → value. */
export function table(rows: readonly [string, string][]): string {
  const w = Math.max(0, ...rows.map(([k]) => k.length));
  return rows.map(([k, v]) => `${k.padEnd(w)}  ${v}`).join('\n');
}

/** How many keys appear with more than one owner (cameras with an ffmpeg in two ingest processes). */
export function keysWithSeveralOwners(entries: readonly { key: string; owner: number }[]): number {
  const owners = new Map<string, Set<number>>();
  for (const { key, owner } of entries) {
    const set = owners.get(key);
    if (set) set.add(owner);
    else owners.set(key, new Set([owner]));
  }
  let n = 0;
  for (const set of owners.values()) if (set.size > 1) n += 1;
  return n;
}
