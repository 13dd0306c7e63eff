/**
 * `npm run bench:tiles -- [--tile x,y,w,h] [--fps 2] [--width 1280] [--frames 60] [--out file.json] [CLIP]`
 *
 * What a zoom window (a scene's `detectionTiles`, pipeline/detection-tiles.ts) costs and what it finds:
 * every analysed frame of a clip goes through the production detector (createDetector: the configured
 * DETECTOR_* model on its worker thread) twice, interleaved so that both see the same machine: the whole
 * frame alone, then the whole frame and the tile (detectWithTiles, as CameraPipeline calls it). Reports
 * wall and process-CPU time per frame (p50, p95) for each and their ratio, and the vehicles each found.
 *
 * Default clip: the first road scenario under DATA_DIR/scenarios (`npm run eval:scenarios` renders
 * them), whose tile is the generator's for seed 1; else SHARED_DIR's traffic video. Progress on stderr,
 * a table on stdout, everything in --out.
 */
import { existsSync } from 'node:fs';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfig } from '../core/config.js';
import { createDetector, detectorOptionsFromConfig } from '../detector/detector.js';
import { detectWithTiles } from '../pipeline/detection-tiles.js';
import type { Box } from '../violations/geometry.js';
import { clipFrames } from './scenarios/clip-frames.js';

const USAGE = `Usage: npm run bench:tiles -- [--tile x,y,w,h] [--fps 2] [--width 1280] [--frames 60] [--out f.json] [CLIP]`;
const VEHICLES = new Set(['car', 'truck', 'bus', 'motorcycle', 'bicycle']);

function quantile(values: readonly number[], q: number): number {
  if (!values.length) return NaN;
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)]!;
}
const r2 = (v: number) => Math.round(v * 100) / 100;

async function defaultClip(dataDir: string, sharedDir: string): Promise<string> {
  const dir = path.join(dataDir, 'scenarios');
  if (existsSync(dir)) {
    const road = (await readdir(dir)).filter((n) => /^s1-road-.*\.mp4$/.test(n) && !n.includes('.tmp'));
    if (road[0]) return path.join(dir, road[0]);
  }
  const video = path.join(sharedDir, 'data/video/car-detection.mp4');
  if (existsSync(video)) return video;
  throw new Error(
    'no clip given, no scenario clips (npm run eval:scenarios renders them) and no shared video',
  );
}

async function main(argv: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      tile: { type: 'string', default: '0.2702,0.2192,0.3333,0.3333' },
      fps: { type: 'string', default: '2' },
      width: { type: 'string', default: '1280' },
      frames: { type: 'string', default: '60' },
      out: { type: 'string' },
      help: { type: 'boolean' },
    },
  });
  if (values.help) return console.log(USAGE);
  const [x, y, w, h] = values.tile.split(',').map(Number);
  const tile: Box = { x: x!, y: y!, w: w!, h: h! };
  if (
    ![x, y, w, h].every((v) => v !== undefined && Number.isFinite(v) && v >= 0 && v <= 1) ||
    !(w! > 0 && h! > 0)
  )
    throw new Error(`--tile must be four fractions x,y,w,h (got ${values.tile})`);
  const fps = Number(values.fps);
  const width = Number(values.width);
  const maxFrames = Number(values.frames);
  const config = loadConfig(process.env);
  const clip = positionals[0] ?? (await defaultClip(config.DATA_DIR, config.SHARED_DIR));

  // The production options, one frame at a time (a batch would time frames together).
  const detector = await createDetector({
    ...detectorOptionsFromConfig(config),
    batch: { maxBatch: 1, maxWaitMs: 0 },
  });
  const model = `${detector.model.name}/${detector.model.version}`;
  process.stderr.write(`[bench:tiles] ${model} on ${path.basename(clip)}, tile ${values.tile}\n`);
  const samples = {
    alone: { wall: [] as number[], cpu: [] as number[], vehicles: 0 },
    tiled: { wall: [] as number[], cpu: [] as number[], vehicles: 0 },
  };
  const timed = async (kind: 'alone' | 'tiled', run: () => Promise<{ label: string }[]>) => {
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    const found = await run();
    samples[kind].wall.push(performance.now() - t0);
    const cpu = process.cpuUsage(cpu0);
    samples[kind].cpu.push((cpu.user + cpu.system) / 1000);
    samples[kind].vehicles += found.filter((d) => VEHICLES.has(d.label)).length;
  };
  let n = 0;
  try {
    for await (const frame of clipFrames(clip, { fps, width, ffmpegPath: config.FFMPEG_PATH })) {
      const f = { data: frame.data, width: frame.width, height: frame.height };
      // Alternate which goes first, so neither always runs on a warmer cache.
      const order: ('alone' | 'tiled')[] = n % 2 ? ['tiled', 'alone'] : ['alone', 'tiled'];
      for (const kind of order)
        await timed(kind, () =>
          kind === 'alone' ? detector.detect(f) : detectWithTiles(f, [tile], (part) => detector.detect(part)),
        );
      n += 1;
      if (n % 10 === 0) process.stderr.write(`[bench:tiles] ${n} frames\n`);
      if (n >= maxFrames) break;
    }
  } finally {
    await detector.close();
  }
  const figures = (k: 'alone' | 'tiled') => ({
    wall_ms: { p50: r2(quantile(samples[k].wall, 0.5)), p95: r2(quantile(samples[k].wall, 0.95)) },
    cpu_ms: { p50: r2(quantile(samples[k].cpu, 0.5)), p95: r2(quantile(samples[k].cpu, 0.95)) },
    vehicles_per_frame: r2(samples[k].vehicles / Math.max(1, n)),
  });
  const report = {
    schema: 'phat-nguoi/bench-tiles@1',
    command: `npm run bench:tiles -- ${argv.join(' ')}`.trim(),
    at: new Date().toISOString(),
    machine: { nproc: os.cpus().length, cpu_model: os.cpus()[0]?.model ?? 'unknown', loadavg: os.loadavg() },
    model,
    clip: path.basename(clip),
    tile,
    frames: n,
    frame_size: `${width}x${Math.round((width * 9) / 16 / 2) * 2}`,
    alone: figures('alone'),
    with_tile: figures('tiled'),
    ratio_cpu_p50: r2(quantile(samples.tiled.cpu, 0.5) / quantile(samples.alone.cpu, 0.5)),
    ratio_wall_p50: r2(quantile(samples.tiled.wall, 0.5) / quantile(samples.alone.wall, 0.5)),
  };
  if (values.out) {
    await mkdir(path.dirname(path.resolve(values.out)), { recursive: true });
    await writeFile(values.out, `${JSON.stringify(report, null, 2)}\n`);
  }
  const row = (label: string, f: ReturnType<typeof figures>) =>
    `${label.padEnd(20)} ${String(f.wall_ms.p50).padStart(8)} ${String(f.wall_ms.p95).padStart(8)} ${String(f.cpu_ms.p50).padStart(8)} ${String(f.cpu_ms.p95).padStart(8)} ${String(f.vehicles_per_frame).padStart(9)}`;
  console.log(
    `\n${model}, ${n} frames of ${report.clip} at ${report.frame_size}; ${report.machine.nproc} CPUs, ${report.machine.cpu_model}\n`,
  );
  console.log(
    `${''.padEnd(20)} ${'wall p50'.padStart(8)} ${'p95'.padStart(8)} ${'cpu p50'.padStart(8)} ${'p95'.padStart(8)} ${'vehicles'.padStart(9)}`,
  );
  console.log(row('whole frame', report.alone));
  console.log(row('whole frame + tile', report.with_tile));
  console.log(`\nratio (p50): CPU ×${report.ratio_cpu_p50}, wall ×${report.ratio_wall_p50}`);
}

main(process.argv.slice(2)).catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exitCode = 1;
});
