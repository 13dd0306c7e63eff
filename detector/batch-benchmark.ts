/**
 * Batched inference benchmark (`npm run bench:gpu`, CLI in tools/bench-gpu.ts): for each model and each
 * batch size, DetectionEngine.detectBatch() on N real frames at once (pre-processing into one batch
 * tensor, ONE session call, decoding and NMS per frame), on the provider asked for (CPU here; `--provider
 * cuda` on a GPU machine). All batch sizes take turns inside every round, so on a shared machine they
 * see the same noise. Reported per batch size: frames per second, p50/p95 latency of a whole batch, the
 * CPU time per frame spent outside inference (pre- and post-processing, on the calling thread), process
 * CPU time per frame, and the cameras per GPU and per CPU core this implies at 2 analysed fps.
 *
 * Frames: the 640×360 frame of the detector benchmark (a real photo from SHARED_DIR scaled as ingest's
 * decoder does, INGEST_WIDTH 640; synthetic when absent), each camera's copy shifted by a few rows so
 * that no two frames of a batch are equal.
 */
import { writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { AppError } from '../core/errors.js';
import type { MachineInfo, Stats } from './benchmark.js';
import { benchFrames, machineInfo, summarize } from './benchmark.js';
import { DetectionEngine } from './detection-engine.js';
import { DEFAULT_MODELS_DIR } from './detector.js';
import type { ExecutionProvider } from './model-registry.js';
import type { Frame } from './preprocess.js';

export const DEFAULT_BATCH_SIZES = [1, 2, 4, 8, 16, 32] as const;
/** Analysed frames per second per camera that the "cameras per …" figures assume (INGEST_FPS default). */
export const ANALYSED_FPS = 2;

export const USAGE = `usage: npm run bench:gpu -- --out <file.json> [--provider cpu|cuda|tensorrt] [--device N]
       [--batch-sizes 1,2,4,8,16,32] [--iterations N] [--warmup N] [--models nanodet-coco,...] [--threads N]

Batched detection: per model and batch size, frames per second, p50/p95 latency per batch, CPU time per
frame outside inference, and the implied cameras per GPU and per CPU core at ${ANALYSED_FPS} analysed fps.
Progress on stderr, a summary table on stdout, everything in the JSON file (--out).

  --provider     execution provider asked for (default cpu); the one in use is reported, with the
                 reason when it fell back
  --device       CUDA device id (default 0)
  --batch-sizes  comma-separated (default ${DEFAULT_BATCH_SIZES.join(',')})
  --iterations   measured batches per size (default 20)
  --warmup       unmeasured batches per size first (default 2)
  --models       registry models (default nanodet-coco)
  --threads      onnxruntime intra-op threads (default 1, as in production)`;

export interface GpuBenchOptions {
  out: string;
  provider: ExecutionProvider;
  device: number;
  batchSizes: number[];
  iterations: number;
  warmup: number;
  models: string[];
  threads: number;
  modelsDir: string;
  sharedDir: string;
}

const bad = (message: string) => new AppError('bad_request', `${message}\n\n${USAGE}`, { permanent: true });

function positiveInt(flag: string, value: string | undefined, max: number): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > max) throw bad(`${flag} needs an integer from 1 to ${max}`);
  return n;
}

export function parseGpuBenchArgs(
  argv: readonly string[],
  env: NodeJS.ProcessEnv = process.env,
): GpuBenchOptions {
  const o: GpuBenchOptions = {
    out: '',
    provider: 'cpu',
    device: 0,
    batchSizes: [...DEFAULT_BATCH_SIZES],
    iterations: 20,
    warmup: 2,
    models: ['nanodet-coco'],
    threads: 1,
    modelsDir: DEFAULT_MODELS_DIR,
    sharedDir: path.resolve(env['SHARED_DIR'] ?? '../shared'),
  };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]!;
    const value = argv[i + 1];
    const take = () => {
      if (value === undefined || value.startsWith('--')) throw bad(`${flag} needs a value`);
      i++;
      return value;
    };
    switch (flag) {
      case '--out':
        o.out = take();
        break;
      case '--provider': {
        const p = take();
        if (p !== 'cpu' && p !== 'cuda' && p !== 'tensorrt') throw bad('--provider is cpu, cuda or tensorrt');
        o.provider = p;
        break;
      }
      case '--device':
        o.device = Number(take());
        if (!Number.isInteger(o.device) || o.device < 0 || o.device > 64) throw bad('--device is 0 to 64');
        break;
      case '--batch-sizes': {
        const list = take().split(',');
        o.batchSizes = [...new Set(list.map((v) => positiveInt('--batch-sizes', v.trim(), 256)))].sort(
          (a, b) => a - b,
        );
        break;
      }
      case '--iterations':
        o.iterations = positiveInt(flag, take(), 100_000);
        break;
      case '--warmup':
        o.warmup = Number(take());
        if (!Number.isInteger(o.warmup) || o.warmup < 0 || o.warmup > 1000)
          throw bad('--warmup is 0 to 1000');
        break;
      case '--models':
        o.models = take()
          .split(',')
          .map((m) => m.trim())
          .filter(Boolean);
        if (o.models.length === 0) throw bad('--models needs at least one model');
        break;
      case '--threads':
        o.threads = positiveInt(flag, take(), 64);
        break;
      default:
        throw bad(`unknown argument ${flag}`);
    }
  }
  if (!o.out) throw bad('--out <file.json> is required');
  return o;
}

export interface BatchSizeResult {
  batch: number;
  iterations: number;
  /** Whole-batch latency, ms. */
  latency_ms: Stats;
  /** Frames answered per second of wall time over the measured batches. */
  fps: number;
  /** Pre-processing, inference and post-processing per frame (means over the batches, ms). */
  per_frame_ms: { preprocess: number; inference: number; postprocess: number; total: number };
  /** CPU time per frame outside inference: pre- and post-processing on the calling thread, ms. */
  cpu_outside_inference_ms_per_frame: number;
  /** Process CPU time (every thread, onnxruntime's included) per frame, ms. */
  process_cpu_ms_per_frame: number;
  /** fps ÷ 2 on a GPU provider (the GPU's capacity in cameras at 2 analysed fps); null on the CPU. */
  cameras_per_gpu_at_2fps: number | null;
  /**
   * Cameras one CPU core carries at 2 analysed fps: 1000 ÷ (2 × process CPU ms per frame). On the CPU
   * that is detection itself; on a GPU, the host's share (pre/post-processing and driver work).
   * Decoding is not included (see bench:fleet).
   */
  cameras_per_cpu_core_at_2fps: number;
  /** fps against batch 1's fps in the same run. */
  speedup_vs_batch1: number | null;
}

export interface GpuModelResult {
  model: string;
  input: string;
  provider: ExecutionProvider;
  fallbackReason: string | null;
  dynamicBatch: boolean;
  sizes: BatchSizeResult[];
}

export interface GpuBenchReport {
  schema: 'bench-gpu/1';
  date: string;
  machine: MachineInfo & { gpu: string | null };
  settings: {
    providerAsked: ExecutionProvider;
    device: number;
    threads: number;
    batchSizes: number[];
    iterations: number;
    warmup: number;
    frame: { size: string; source: string };
    analysedFps: number;
    percentiles: string;
  };
  models: GpuModelResult[];
  notes: string[];
  durationS: number;
}

const r2 = (v: number) => Math.round(v * 100) / 100;

/** `n` distinct frames: the base frame with its rows rotated by 7 × k (same content, different pixels). */
export function cameraFrames(base: Frame, n: number): Frame[] {
  const row = base.width * 3;
  return Array.from({ length: n }, (_, k) => {
    const shift = (7 * k) % base.height;
    const data = Buffer.alloc(base.data.length);
    data.set(base.data.subarray(shift * row), 0);
    data.set(base.data.subarray(0, shift * row), (base.height - shift) * row);
    return { data, width: base.width, height: base.height };
  });
}

interface Acc {
  latencies: number[];
  wallMs: number;
  frames: number;
  pre: number;
  inf: number;
  post: number;
  cpuUs: number;
}

/** One model: every batch size per round, in a rotating order. */
export async function measureModel(
  model: string,
  frames: Frame[],
  o: GpuBenchOptions,
  progress: (line: string) => void,
): Promise<GpuModelResult> {
  const maxBatch = Math.max(...o.batchSizes);
  const { engine, fallbackReason } = await DetectionEngine.create({
    modelName: model,
    modelsDir: o.modelsDir,
    provider: o.provider,
    cudaDevice: o.device,
    threads: o.threads,
    maxBatch,
    log: pino({ level: 'warn' }, process.stderr),
  });
  try {
    const [, , h, w] = engine.card.input.shape;
    progress(
      `${model}: ${engine.provider}${fallbackReason ? ` (fell back: ${fallbackReason})` : ''}, ` +
        `${engine.dynamicBatch ? 'dynamic batch' : 'batch fixed at 1: batches run frame by frame'}`,
    );
    const acc = new Map<number, Acc>(
      o.batchSizes.map((b) => [
        b,
        { latencies: [], wallMs: 0, frames: 0, pre: 0, inf: 0, post: 0, cpuUs: 0 },
      ]),
    );
    const once = async (b: number, record: boolean) => {
      const batch = frames.slice(0, b);
      const cpu0 = process.cpuUsage();
      const t0 = performance.now();
      const { results, timings } = await engine.detectBatch(batch);
      const ms = performance.now() - t0;
      const cpu = process.cpuUsage(cpu0);
      const failed = results.find((r) => 'error' in r);
      if (failed && 'error' in failed) throw failed.error;
      if (!record) return;
      const a = acc.get(b)!;
      a.latencies.push(ms);
      a.wallMs += ms;
      a.frames += b;
      a.pre += timings.preprocessMs;
      a.inf += timings.inferenceMs;
      a.post += timings.postprocessMs;
      a.cpuUs += cpu.user + cpu.system;
    };
    for (let i = 0; i < o.warmup; i++) for (const b of o.batchSizes) await once(b, false);
    const started = performance.now();
    for (let round = 0; round < o.iterations; round++) {
      const order = o.batchSizes.map((_, k) => o.batchSizes[(k + round) % o.batchSizes.length]!);
      for (const b of order) await once(b, true);
      if ((round + 1) % Math.max(1, Math.floor(o.iterations / 10)) === 0 || round + 1 === o.iterations) {
        const elapsed = (performance.now() - started) / 1000;
        const eta = (elapsed / (round + 1)) * (o.iterations - round - 1);
        progress(
          `${model}: round ${round + 1}/${o.iterations} (${elapsed.toFixed(0)} s, ~${eta.toFixed(0)} s left)`,
        );
      }
    }
    const gpu = engine.provider !== 'cpu';
    const sizes: BatchSizeResult[] = o.batchSizes.map((b) => {
      const a = acc.get(b)!;
      const fps = (a.frames / a.wallMs) * 1000;
      const perFrame = {
        preprocess: r2(a.pre / a.frames),
        inference: r2(a.inf / a.frames),
        postprocess: r2(a.post / a.frames),
        total: r2(a.wallMs / a.frames),
      };
      const processCpu = a.cpuUs / 1000 / a.frames;
      return {
        batch: b,
        iterations: a.latencies.length,
        latency_ms: summarize(a.latencies),
        fps: r2(fps),
        per_frame_ms: perFrame,
        cpu_outside_inference_ms_per_frame: r2((a.pre + a.post) / a.frames),
        process_cpu_ms_per_frame: r2(processCpu),
        cameras_per_gpu_at_2fps: gpu ? r2(fps / ANALYSED_FPS) : null,
        cameras_per_cpu_core_at_2fps: r2(1000 / (ANALYSED_FPS * processCpu)),
        speedup_vs_batch1: null,
      };
    });
    const one = sizes.find((s) => s.batch === 1);
    if (one) for (const s of sizes) s.speedup_vs_batch1 = r2(s.fps / one.fps);
    return {
      model: `${engine.model.name}/${engine.model.version}`,
      input: `${w}x${h}`,
      provider: engine.provider,
      fallbackReason: fallbackReason ?? null,
      dynamicBatch: engine.dynamicBatch,
      sizes,
    };
  } finally {
    await engine.close();
  }
}

export function formatGpuTable(report: GpuBenchReport): string {
  const lines: string[] = [];
  for (const m of report.models) {
    lines.push(
      `${m.model} (${m.input}) on ${m.provider}${m.fallbackReason ? ' (fallback)' : ''}, ` +
        `${m.dynamicBatch ? 'dynamic batch' : 'fixed batch 1'}`,
    );
    lines.push(
      '| batch | frames/s | × batch 1 | batch p50 / p95 ms | per frame: pre / infer / post ms | CPU outside inference ms/frame | process CPU ms/frame | cameras per GPU @2fps | cameras per CPU core @2fps |',
    );
    lines.push('|---|---|---|---|---|---|---|---|---|');
    for (const s of m.sizes) {
      lines.push(
        `| ${s.batch} | ${s.fps.toFixed(1)} | ${s.speedup_vs_batch1?.toFixed(2) ?? '–'} | ` +
          `${s.latency_ms.p50.toFixed(1)} / ${s.latency_ms.p95.toFixed(1)} | ` +
          `${s.per_frame_ms.preprocess.toFixed(2)} / ${s.per_frame_ms.inference.toFixed(2)} / ${s.per_frame_ms.postprocess.toFixed(2)} | ` +
          `${s.cpu_outside_inference_ms_per_frame.toFixed(2)} | ${s.process_cpu_ms_per_frame.toFixed(1)} | ` +
          `${s.cameras_per_gpu_at_2fps?.toFixed(1) ?? '–'} | ${s.cameras_per_cpu_core_at_2fps.toFixed(2)} |`,
      );
    }
    lines.push('');
  }
  return lines.join('\n');
}

export async function main(argv: readonly string[]): Promise<void> {
  const o = parseGpuBenchArgs(argv);
  const started = performance.now();
  const progress = (line: string) => process.stderr.write(`[bench:gpu] ${line}\n`);
  const machine = { ...machineInfo(), gpu: null as string | null };
  const notes: string[] = [];
  const frame = (await benchFrames(o.sharedDir)).find((f) => f.label === '640x360')!;
  if (frame.source.startsWith('synthetic')) notes.push(`no photo under ${o.sharedDir}: synthetic frames`);
  const frames = cameraFrames(frame.frame, Math.max(...o.batchSizes));
  progress(
    `${o.models.join(', ')} on ${o.provider}; batch sizes ${o.batchSizes.join(', ')}; ` +
      `${o.iterations} rounds (+${o.warmup} warm-up); ${o.threads} intra-op thread(s); load ${os.loadavg()[0]!.toFixed(1)}`,
  );
  const models: GpuModelResult[] = [];
  for (const m of o.models) models.push(await measureModel(m, frames, o, progress));
  for (const m of models) {
    if (m.provider !== o.provider) {
      notes.push(`${m.model}: ${o.provider} asked, ${m.provider} used (${m.fallbackReason ?? 'no reason'})`);
    }
    if (m.provider === 'cpu') {
      notes.push(
        `${m.model}: CPU run: cameras_per_gpu_at_2fps is null; GPU figures need --provider cuda on a GPU machine`,
      );
    }
  }
  const report: GpuBenchReport = {
    schema: 'bench-gpu/1',
    date: new Date().toISOString(),
    machine: { ...machine, loadAfter: os.loadavg().map((v) => Math.round(v * 100) / 100) },
    settings: {
      providerAsked: o.provider,
      device: o.device,
      threads: o.threads,
      batchSizes: o.batchSizes,
      iterations: o.iterations,
      warmup: o.warmup,
      frame: { size: `${frame.frame.width}x${frame.frame.height}`, source: frame.source },
      analysedFps: ANALYSED_FPS,
      percentiles: 'nearest rank over the measured batches',
    },
    models,
    notes,
    durationS: Math.round((performance.now() - started) / 100) / 10,
  };
  await writeFile(o.out, `${JSON.stringify(report, null, 2)}\n`);
  process.stdout.write(`${formatGpuTable(report)}\n`);
  for (const n of notes) process.stdout.write(`note: ${n}\n`);
  process.stdout.write(
    `machine: ${machine.cpuModel} (${machine.cores} cores), load ${machine.loadBefore.join(' ')} → ${report.machine.loadAfter!.join(' ')}; ` +
      `${report.durationS} s; JSON in ${o.out}\n`,
  );
}
