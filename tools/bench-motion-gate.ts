/**
 * `npm run bench:motion-gate -- [--fps 2] [--width 640] [--max-skip-ms 2000] [--out file.json] CLIP|DIR...`
 *
 * How much inference the motion gate (pipeline/motion-gate.ts, INGEST_MOTION_GATE=on) would spare on
 * given recordings, and what the gate itself costs. Each clip is decoded by ffmpeg as ingest samples a
 * camera (`fps=`, scaled to `--width`, rgb24 on a pipe), and every frame goes through the same
 * MotionGate the pipeline uses, with the clip's own timeline as capture times. Only the gate's decision
 * is measured here; its effect on violations is measured by `eval:scenarios` with INGEST_MOTION_GATE=on.
 *
 * Default clips: the seeded scenario clips under DATA_DIR/scenarios and SHARED_DIR's traffic video, when
 * present. `--ignore x0,y0,x1,y1` (fractions of the frame, repeatable) leaves a rectangle out, as a scene's
 * ignore mask does; the scenario clips' frame counter (tools/scenarios/timecode.ts, which changes every
 * frame like a camera's on-screen clock) is left out of those clips automatically. Progress on stderr, a
 * table on stdout, everything in --out.
 */
import { existsSync, statSync } from 'node:fs';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { DEFAULT_MOTION_GATE, MotionGate } from '../pipeline/motion-gate.js';
import type { Polygon } from '../violations/geometry.js';
import { clipFrames } from './scenarios/clip-frames.js';
import { TIMECODE_MASK } from './scenarios/timecode.js';

function rect(x0: number, y0: number, x1: number, y1: number): Polygon {
  return [
    { x: x0, y: y0 },
    { x: x1, y: y0 },
    { x: x1, y: y1 },
    { x: x0, y: y1 },
  ];
}

interface ClipFigures {
  clip: string;
  frames: number;
  skipped: number;
  skipped_share: number;
  /** Longest run of frames skipped in a row. */
  longest_skip_run: number;
  gate_ms_per_frame: { p50: number; p95: number };
}

async function listClips(inputs: string[]): Promise<string[]> {
  const out: string[] = [];
  for (const input of inputs) {
    if (!existsSync(input)) throw new Error(`no such clip or folder: ${input}`);
    if (statSync(input).isDirectory()) {
      const names = (await readdir(input)).filter((n) => n.endsWith('.mp4') && !n.includes('.tmp'));
      out.push(...names.sort().map((n) => path.join(input, n)));
    } else out.push(input);
  }
  return out;
}

function quantile(values: number[], q: number): number {
  if (!values.length) return 0;
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
}

const round = (v: number, d = 3) => Math.round(v * 10 ** d) / 10 ** d;

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      fps: { type: 'string', default: '2' },
      width: { type: 'string', default: '640' },
      'max-skip-ms': { type: 'string', default: String(DEFAULT_MOTION_GATE.maxSkipMs) },
      ignore: { type: 'string', multiple: true, default: [] },
      out: { type: 'string' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    console.log(
      'npm run bench:motion-gate -- [--fps 2] [--width 640] [--max-skip-ms 2000] [--out file.json] CLIP|DIR...',
    );
    return;
  }
  const fps = Number(values.fps);
  const width = Number(values.width);
  const maxSkipMs = Number(values['max-skip-ms']);
  if (!(fps > 0 && fps <= 30) || !(width >= 64 && width <= 3840 && width % 2 === 0) || !(maxSkipMs >= 0))
    throw new Error('--fps in (0, 30], --width an even number in [64, 3840], --max-skip-ms ≥ 0');
  const ignore = values.ignore.map((spec) => {
    const v = spec.split(',').map(Number);
    if (v.length !== 4 || v.some((x) => !(x >= 0 && x <= 1)) || v[0]! >= v[2]! || v[1]! >= v[3]!)
      throw new Error(`--ignore ${spec}: give x0,y0,x1,y1 as fractions of the frame, x0 < x1, y0 < y1`);
    return rect(v[0]!, v[1]!, v[2]!, v[3]!);
  });
  const dataDir = path.resolve(process.env['DATA_DIR'] ?? 'data');
  const sharedDir = path.resolve(process.env['SHARED_DIR'] ?? '../shared');
  const inputs = positionals.length
    ? positionals
    : [path.join(dataDir, 'scenarios'), path.join(sharedDir, 'data', 'video', 'car-detection.mp4')].filter(
        (p) => existsSync(p),
      );
  const clips = await listClips(inputs);
  if (!clips.length) throw new Error('no clips: give clip files or folders (or run eval:scenarios first)');

  const results: ClipFigures[] = [];
  for (const [i, clip] of clips.entries()) {
    const rendered = path.resolve(path.dirname(clip)) === path.join(dataDir, 'scenarios');
    const gate = new MotionGate<null>({
      maxSkipMs,
      ignore: rendered ? [...ignore, [...TIMECODE_MASK]] : ignore,
    });
    const times: number[] = [];
    let run = 0;
    let longest = 0;
    // One frame at a time, as the pipeline calls the gate (a camera has one frame in flight).
    for await (const f of clipFrames(clip, { fps, width })) {
      const frame = { data: f.data, width: f.width, height: f.height, capturedAt: f.atMs };
      const t0 = performance.now();
      const { skipped } = await gate.detect(frame, async () => null);
      times.push(performance.now() - t0);
      run = skipped ? run + 1 : 0;
      longest = Math.max(longest, run);
    }
    const fig: ClipFigures = {
      clip: path.basename(clip),
      frames: gate.seen,
      skipped: gate.skipped,
      skipped_share: round(gate.seen ? gate.skipped / gate.seen : 0),
      longest_skip_run: longest,
      gate_ms_per_frame: { p50: round(quantile(times, 0.5)), p95: round(quantile(times, 0.95)) },
    };
    results.push(fig);
    process.stderr.write(
      `[${i + 1}/${clips.length}] ${fig.clip}: ${fig.skipped}/${fig.frames} frames gated (${(100 * fig.skipped_share).toFixed(1)} %)\n`,
    );
  }
  const frames = results.reduce((n, r) => n + r.frames, 0);
  const skipped = results.reduce((n, r) => n + r.skipped, 0);
  const allTimes = results.map((r) => r.gate_ms_per_frame.p50);
  const summary = {
    fps,
    width,
    max_skip_ms: maxSkipMs,
    ignore: values.ignore,
    clips: results.length,
    frames,
    skipped,
    skipped_share: round(frames ? skipped / frames : 0),
    gate_ms_per_frame_p50_median_of_clips: round(quantile(allTimes, 0.5)),
    machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model ?? 'unknown', load: os.loadavg() },
    at: new Date().toISOString(),
    results,
  };
  console.log(`clip${' '.repeat(38)}frames  gated  share  longest run  gate ms p50`);
  for (const r of results) {
    console.log(
      `${r.clip.padEnd(42)}${String(r.frames).padStart(6)}${String(r.skipped).padStart(7)}${`${(100 * r.skipped_share).toFixed(1)} %`.padStart(9)}${String(r.longest_skip_run).padStart(13)}${r.gate_ms_per_frame.p50.toFixed(3).padStart(13)}`,
    );
  }
  console.log(
    `all: ${skipped}/${frames} frames gated (${(100 * summary.skipped_share).toFixed(1)} %) at ${fps} fps, ${width} px wide, detector at least every ${maxSkipMs} ms`,
  );
  if (values.out) {
    await mkdir(path.dirname(path.resolve(values.out)), { recursive: true });
    await writeFile(values.out, `${JSON.stringify(summary, null, 2)}\n`);
  }
}

main().catch((err: unknown) => {
  console.error(`bench:motion-gate: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
