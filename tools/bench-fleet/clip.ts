/**
 * The clip the benchmark's simulated cameras loop: H.264 at a chosen resolution and frame rate, a 1 s
 * keyframe interval, no B-frames, cached under `${dataDir}/sim/`. Made from the shared car clip
 * (`${sharedDir}/data/video/car-detection.mp4`, 768x432 at 12.5 fps, scaled up) when present, else from
 * the project's synthetic road scene (ensureSimClip), so a fresh clone without ../shared still runs.
 *
 * Upscaling repeats the source's pixels and (at 25 fps) its frames, which would make an unrealistically
 * cheap stream: duplicated frames encode as empty P-frames. Temporal noise (as every real sensor has) makes
 * each frame differ, and a camera-like constant bit rate (4 Mb/s at 1080p25 by default) keeps the decoder
 * busy as a real camera's stream would.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { AppError, errorMessage } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import { ensureSimClip, SHARED_CLIP } from '../../ingest/sim/simulated-fleet.js';

const execFileAsync = promisify(execFile);

/** Bump when the recipe changes: cached clips of older recipes are not reused. */
const RECIPE = 'bench-v1:h264-main-nobf-1s-gop-noise';

export interface BenchClipSpec {
  width: number;
  height: number;
  /** Frames per second of the stream the cameras send. */
  fps: number;
  /** Seconds looped (default 30: the shared clip's length). */
  seconds?: number;
  /** Seconds between keyframes (default 1), rounded to whole frames. */
  keyframeIntervalS?: number;
  /** Constant bit rate in kb/s; undefined: constant quality (crf 23). */
  bitrateKbps?: number | undefined;
}

export interface BenchClip {
  path: string;
  origin: 'shared' | 'synthetic';
  spec: Required<Omit<BenchClipSpec, 'bitrateKbps'>> & { bitrateKbps: number | null };
}

/** Seconds between keyframes of a clip made from `spec`. */
export function keyframeIntervalS(spec: Pick<BenchClipSpec, 'fps' | 'keyframeIntervalS'>): number {
  return keyframeFrames(spec) / spec.fps;
}

/** Frames from one keyframe to the next. */
export function keyframeFrames(spec: Pick<BenchClipSpec, 'fps' | 'keyframeIntervalS'>): number {
  return Math.max(1, Math.round(spec.fps * (spec.keyframeIntervalS ?? 1)));
}

/** 4 Mb/s at 1080p25, scaled by pixel rate: what a city camera's main stream typically sends. */
export function cameraBitrateKbps(width: number, height: number, fps: number): number {
  return Math.max(200, Math.round((4000 * width * height * fps) / (1920 * 1080 * 25)));
}

/** The ffmpeg arguments (after the input) that encode the bench clip. Pure. */
export function benchClipEncodeArgs(spec: BenchClipSpec): string[] {
  const seconds = spec.seconds ?? 30;
  const gop = keyframeFrames(spec);
  const rate =
    spec.bitrateKbps === undefined
      ? ['-crf', '23']
      : [
          '-b:v',
          `${spec.bitrateKbps}k`,
          '-maxrate',
          `${spec.bitrateKbps}k`,
          '-bufsize',
          `${spec.bitrateKbps * 2}k`,
        ];
  return [
    '-map',
    '0:v:0',
    '-vf',
    `fps=${spec.fps},scale=${spec.width}:${spec.height}:flags=bicubic,noise=alls=4:allf=t,format=yuv420p`,
    '-c:v',
    'libx264',
    '-preset',
    'veryfast',
    ...rate,
    '-profile:v',
    'main',
    '-bf',
    '0',
    '-g',
    String(gop),
    '-keyint_min',
    String(gop),
    '-sc_threshold',
    '0',
    '-movflags',
    '+faststart',
    '-an',
    '-sn',
    '-dn',
    '-t',
    String(seconds),
  ];
}

async function exists(p: string): Promise<boolean> {
  try {
    return (await fs.stat(p)).size > 0;
  } catch {
    return false; // absent or unreadable: treated alike
  }
}

export async function ensureBenchClip(opts: {
  dataDir: string;
  sharedDir: string;
  spec: BenchClipSpec;
  log: Logger;
  ffmpegPath?: string;
}): Promise<BenchClip> {
  const ffmpegBin = opts.ffmpegPath ?? process.env['FFMPEG_PATH'] ?? 'ffmpeg';
  const shared = path.resolve(opts.sharedDir, SHARED_CLIP);
  let source: string;
  let origin: BenchClip['origin'];
  let sourceKey: string;
  try {
    const st = await fs.stat(shared);
    source = shared;
    origin = 'shared';
    sourceKey = `shared|${st.size}|${Math.trunc(st.mtimeMs)}`;
  } catch {
    // No ../shared: the project's synthetic road scene (no real cars: expect no violations).
    source = await ensureSimClip({ dataDir: opts.dataDir, sharedDir: opts.sharedDir, log: opts.log });
    origin = 'synthetic';
    sourceKey = `synthetic|${path.basename(source)}`;
  }
  const args = benchClipEncodeArgs(opts.spec);
  const key = `${RECIPE}|${sourceKey}|${args.join(' ')}`;
  const { width, height, fps } = opts.spec;
  const dir = path.resolve(opts.dataDir, 'sim');
  const clip = path.join(
    dir,
    `bench-${origin}-${width}x${height}p${fps}-${createHash('sha256').update(key).digest('hex').slice(0, 12)}.mp4`,
  );
  const spec = {
    width,
    height,
    fps,
    seconds: opts.spec.seconds ?? 30,
    keyframeIntervalS: keyframeIntervalS(opts.spec),
    bitrateKbps: opts.spec.bitrateKbps ?? null,
  };
  if (await exists(clip)) return { path: clip, origin, spec };

  await fs.mkdir(dir, { recursive: true });
  const tmp = `${clip}.${process.pid}.${Date.now()}.tmp.mp4`;
  const started = Date.now();
  opts.log.info({ clip, origin, width, height, fps }, 'encoding the benchmark clip (cached afterwards)');
  try {
    await execFileAsync(ffmpegBin, ['-hide_banner', '-loglevel', 'error', '-y', '-i', source, ...args, tmp], {
      maxBuffer: 4 * 1024 * 1024,
    });
    if (!(await exists(tmp))) throw new Error('ffmpeg wrote an empty clip');
    await fs.rename(tmp, clip); // atomic: a concurrent run never reads half a clip
  } catch (err) {
    await fs.rm(tmp, { force: true });
    const stderr = (err as { stderr?: string }).stderr?.trim();
    throw new AppError(
      'dependency_down',
      `cannot encode the benchmark clip: ${stderr || errorMessage(err)}`,
      {
        cause: err,
      },
    );
  }
  opts.log.info({ clip, ms: Date.now() - started }, 'benchmark clip ready');
  return { path: clip, origin, spec };
}
