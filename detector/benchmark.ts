/**
 * Detector timings on this machine: pre-processing (typed-array loops vs sharp's resize), inference,
 * post-processing, and the whole round trip through the worker thread.
 *
 *   tsx detector/benchmark.ts [--model nanodet-coco] [--threads 1] [--runs 30] [--image photo.jpg]
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { DetectionEngine } from './detection-engine.js';
import { DEFAULT_MODELS_DIR, createDetector } from './detector.js';
import type { Frame, PreprocessSpec } from './preprocess.js';
import { Preprocessor, letterboxTransform, specFromCard } from './preprocess.js';

function stats(samples: number[]): { median: number; p90: number; mean: number } {
  const s = [...samples].sort((a, b) => a - b);
  const at = (q: number) => s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
  return { median: at(0.5), p90: at(0.9), mean: s.reduce((a, b) => a + b, 0) / s.length };
}

const fmt = (x: { median: number; p90: number }) => `${x.median.toFixed(2)} ms (p90 ${x.p90.toFixed(2)})`;

async function time(runs: number, fn: () => unknown): Promise<number[]> {
  await fn();
  const out: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await fn();
    out.push(performance.now() - t0);
  }
  return out;
}

/** A synthetic street-like RGB frame (gradients and blocks), so the benchmark needs no data. */
function syntheticFrame(width: number, height: number): Frame {
  const data = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const o = (y * width + x) * 3;
      data[o] = (x * 255) / width;
      data[o + 1] = (y * 255) / height;
      data[o + 2] = ((x >> 5) + (y >> 5)) % 2 ? 200 : 60;
    }
  }
  return { data, width, height };
}

/** The alternative: libvips resizes (bilinear), then a loop normalises into the NCHW planes. */
async function sharpPreprocess(frame: Frame, spec: PreprocessSpec, out: Float32Array): Promise<void> {
  const t = letterboxTransform(
    frame.width,
    frame.height,
    spec.width,
    spec.height,
    spec.letterbox,
    spec.align,
  );
  const resized = await sharp(frame.data, { raw: { width: frame.width, height: frame.height, channels: 3 } })
    .resize(t.resizedWidth, t.resizedHeight, { fit: 'fill', kernel: 'linear' })
    .raw()
    .toBuffer();
  const plane = spec.width * spec.height;
  const order = spec.pixelFormat === 'RGB' ? [0, 1, 2] : [2, 1, 0];
  for (let y = 0; y < t.resizedHeight; y++) {
    let o = (y + t.padY) * spec.width + t.padX;
    let i = y * t.resizedWidth * 3;
    for (let x = 0; x < t.resizedWidth; x++, o++, i += 3) {
      for (let c = 0; c < 3; c++) {
        const p = order[c]!;
        out[p * plane + o] = (resized[i + c]! - spec.mean[p]!) / spec.std[p]!;
      }
    }
  }
}

async function main(argv: string[]): Promise<void> {
  const arg = (flag: string) => {
    const i = argv.indexOf(flag);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const modelName = arg('--model') ?? 'nanodet-coco';
  const threads = Number(arg('--threads') ?? 1);
  const runs = Number(arg('--runs') ?? 30);
  const image = arg('--image');

  const { engine } = await DetectionEngine.create({ modelName, modelsDir: DEFAULT_MODELS_DIR, threads });
  const spec = specFromCard(engine.card);
  console.log(
    `${engine.model.name}/${engine.model.version}, input ${spec.width}×${spec.height}, ${threads} intra-op thread(s), ${runs} runs\n`,
  );

  console.log('pre-processing (RGB24 frame → letterboxed, normalised NCHW float32)');
  const pre = new Preprocessor(spec);
  const scratch = new Float32Array(pre.output.length);
  for (const [w, h] of [
    [640, 360],
    [1280, 720],
    [1920, 1080],
  ] as const) {
    const frame = syntheticFrame(w, h);
    const js = stats(await time(runs, () => pre.run(frame)));
    const viaSharp = stats(await time(runs, () => sharpPreprocess(frame, spec, scratch)));
    console.log(`  ${`${w}×${h}`.padEnd(10)} typed arrays ${fmt(js)}   sharp resize + loop ${fmt(viaSharp)}`);
  }

  const frame = image
    ? await sharp(image)
        .toColourspace('srgb')
        .removeAlpha()
        .raw()
        .toBuffer({ resolveWithObject: true })
        .then(({ data, info }) => ({ data, width: info.width, height: info.height }))
    : syntheticFrame(1280, 720);
  const parts = { preprocessMs: [] as number[], inferenceMs: [] as number[], postprocessMs: [] as number[] };
  let detections = 0;
  await engine.detect(frame);
  for (let i = 0; i < runs; i++) {
    const r = await engine.detect(frame);
    detections = r.detections.length;
    for (const k of Object.keys(parts) as (keyof typeof parts)[]) parts[k].push(r.timings[k]);
  }
  await engine.close();
  console.log(`\nin-thread, ${frame.width}×${frame.height} frame (${detections} detections)`);
  console.log(`  pre-processing   ${fmt(stats(parts.preprocessMs))}`);
  console.log(`  inference        ${fmt(stats(parts.inferenceMs))}`);
  console.log(`  post-processing  ${fmt(stats(parts.postprocessMs))}`);

  const detector = await createDetector({ modelName, modelsDir: DEFAULT_MODELS_DIR, threads });
  const roundTrip = stats(await time(runs, () => detector.detect(frame)));
  await detector.close();
  console.log(`\nworker round trip (copy, transfer, pre, inference, post, reply): ${fmt(roundTrip)}`);
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2)).catch((err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exitCode = 1;
  });
}
