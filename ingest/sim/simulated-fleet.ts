/**
 * Simulated cameras for the demo and the integration tests: an H.264 clip made for looping over RTSP
 * (`ensureSimClip`) and a GStreamer RTSP server serving it on /cam1../camN (`startSimulatedFleet`).
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { AppError, errorMessage } from '../../core/errors.js';
import { logger, type Logger } from '../../core/logger.js';

const execFileAsync = promisify(execFile);

/** Debian/Ubuntu packages the simulated fleet needs (from shared/FACTS.md). */
export const GSTREAMER_PACKAGES = [
  'gstreamer1.0-rtsp',
  'gir1.2-gst-rtsp-server-1.0',
  'python3-gi',
  'python3-gst-1.0',
  'gstreamer1.0-plugins-base',
  'gstreamer1.0-plugins-good',
  'gstreamer1.0-plugins-bad',
  'gstreamer1.0-libav',
] as const;
const INSTALL_HINT = `apt-get install -y ${GSTREAMER_PACKAGES.join(' ')}`;

/** Debian's python has `gi`; a pyenv python first on PATH usually does not. */
export const DEFAULT_SIM_PYTHON = process.env['SIM_PYTHON'] ?? '/usr/bin/python3';

/** Bump when the encoding recipe changes: cached clips of older recipes are not reused. */
const CLIP_RECIPE = 'v1:h264-main-nobf-1s-gop-yuv420p-30s';
const CLIP_SECONDS = 30;
export const SHARED_CLIP = path.join('data', 'video', 'car-detection.mp4');

export interface EnsureSimClipOptions {
  dataDir: string;
  sharedDir: string;
  log?: Logger;
  ffmpegPath?: string;
}

/** x264 settings that loop well over RTSP: 1 s keyframe interval, no B-frames, main profile, yuv420p. */
function encodeArgs(gopFrames: number | 'per-second'): string[] {
  const gop =
    gopFrames === 'per-second'
      ? // Non-integer frame rates (12.5 fps): force an IDR at every whole second.
        ['-g', '1000', '-force_key_frames', 'expr:gte(t,n_forced)']
      : ['-g', String(gopFrames), '-keyint_min', String(gopFrames)];
  return [
    '-c:v',
    'libx264',
    '-preset',
    'veryfast',
    '-crf',
    '23',
    '-profile:v',
    'main',
    '-bf',
    '0',
    ...gop,
    '-sc_threshold',
    '0',
    '-pix_fmt',
    'yuv420p',
    '-movflags',
    '+faststart',
    '-an',
    '-sn',
    '-dn',
    '-t',
    String(CLIP_SECONDS),
  ];
}

/** A road seen from above: verges, lane lines, a stop line, a traffic light and three moving vehicles. */
function syntheticSceneArgs(): string[] {
  const fps = 25;
  const dashes = Array.from(
    { length: 8 },
    (_, i) => `drawbox=x=${i * 120 + 20}:y=282:w=60:h=6:color=0xe8e8e8:t=fill`,
  );
  const road = [
    'drawbox=x=0:y=0:w=iw:h=110:color=0x3f6b3a:t=fill',
    'drawbox=x=0:y=ih-80:w=iw:h=80:color=0x3f6b3a:t=fill',
    'drawbox=x=0:y=110:w=iw:h=6:color=0xe8e8e8:t=fill',
    'drawbox=x=0:y=ih-86:w=iw:h=6:color=0xe8e8e8:t=fill',
    ...dashes,
    'drawbox=x=640:y=116:w=8:h=166:color=0xf0f0f0:t=fill',
    'drawbox=x=660:y=20:w=30:h=70:color=0x202020:t=fill',
  ].join(',');
  const graph = [
    `[0:v]${road}[road]`,
    // drawbox evaluates its position once; overlay evaluates it per frame, so vehicles are overlays.
    `[road][1:v]overlay=x='mod(t*150,W+200)-200':y=128:eval=frame[a]`,
    `[a][2:v]overlay=x='mod(t*95+420,W+260)-260':y=206:eval=frame[b]`,
    `[b][3:v]overlay=x='W-mod(t*120+100,W+240)':y=330:eval=frame[c]`,
    `[c][4:v]overlay=x=665:y=25:enable='lt(mod(t,12),6)'[d]`,
    `[d][5:v]overlay=x=665:y=60:enable='gte(mod(t,12),6)',noise=alls=5:allf=t,format=yuv420p[v]`,
  ].join(';');
  const color = (c: string, size: string, d?: number) => [
    '-f',
    'lavfi',
    '-i',
    `color=c=${c}:s=${size}:r=${fps}${d ? `:d=${d}` : ''}`,
  ];
  return [
    ...color('0x4a4d50', '960x540', CLIP_SECONDS),
    ...color('0xb02828', '170x64'),
    ...color('0xd8d8d0', '150x60'),
    ...color('0x2048b0', '200x84'),
    ...color('red', '20x20'),
    ...color('0x20e020', '20x20'),
    '-filter_complex',
    graph,
    '-map',
    '[v]',
    ...encodeArgs(fps),
  ];
}

async function fileSize(p: string): Promise<number | undefined> {
  try {
    return (await fs.stat(p)).size;
  } catch {
    return undefined; // absent (or unreadable): treated alike
  }
}

/**
 * The clip the simulated cameras loop, cached under `${dataDir}/sim/`: re-encoded from
 * `${sharedDir}/data/video/car-detection.mp4` when present, else a synthetic road scene generated with
 * ffmpeg's lavfi sources (a fresh clone without ../shared still works). Returns its absolute path.
 */
export async function ensureSimClip(opts: EnsureSimClipOptions): Promise<string> {
  const log = (opts.log ?? logger()).child({ module: 'ingest.sim' });
  const ffmpegBin = opts.ffmpegPath ?? process.env['FFMPEG_PATH'] ?? 'ffmpeg';
  const source = path.resolve(opts.sharedDir, SHARED_CLIP);
  let key: string;
  let args: string[];
  let origin: 'shared' | 'synthetic';
  try {
    const st = await fs.stat(source);
    origin = 'shared';
    key = `${CLIP_RECIPE}|shared|${st.size}|${Math.trunc(st.mtimeMs)}`;
    args = ['-i', source, '-map', '0:v:0', ...encodeArgs('per-second')];
  } catch {
    origin = 'synthetic'; // no ../shared: generate instead
    key = `${CLIP_RECIPE}|synthetic`;
    args = syntheticSceneArgs();
  }
  const dir = path.resolve(opts.dataDir, 'sim');
  const clip = path.join(
    dir,
    `sim-${origin}-${createHash('sha256').update(key).digest('hex').slice(0, 12)}.mp4`,
  );
  if (((await fileSize(clip)) ?? 0) > 0) {
    log.debug({ clip, origin }, 'simulated camera clip cached');
    return clip;
  }

  await fs.mkdir(dir, { recursive: true });
  const tmp = `${clip}.${process.pid}.${Date.now()}.tmp.mp4`;
  const started = Date.now();
  log.info({ clip, origin }, 'encoding the simulated camera clip');
  try {
    await execFileAsync(ffmpegBin, ['-hide_banner', '-loglevel', 'error', '-y', ...args, tmp], {
      maxBuffer: 4 * 1024 * 1024,
    });
    if (!((await fileSize(tmp)) ?? 0)) throw new Error('ffmpeg wrote an empty clip');
    await fs.rename(tmp, clip); // atomic: a concurrent reader never sees half a clip
  } catch (err) {
    await fs.rm(tmp, { force: true });
    const missing = (err as NodeJS.ErrnoException).code === 'ENOENT';
    const stderr = (err as { stderr?: string }).stderr?.trim();
    throw new AppError(
      'dependency_down',
      missing
        ? `ffmpeg not found (${ffmpegBin}); install it: apt-get install -y ffmpeg`
        : `cannot encode the simulated camera clip: ${stderr || errorMessage(err)}`,
      { permanent: missing, cause: err },
    );
  }
  log.info({ clip, origin, ms: Date.now() - started }, 'simulated camera clip ready');
  return clip;
}

export interface SimulatedFleetOptions {
  /** Mount points /cam1../camN. */
  count: number;
  /** TCP port; 0 picks a free one (see `port` of the result). */
  port: number;
  /** One clip, or several assigned round-robin to the mounts. */
  clip?: string;
  clips?: string[];
  log?: Logger;
  /** Listening address (default 127.0.0.1). */
  address?: string;
  /** Python with GStreamer's gi bindings (default $SIM_PYTHON or /usr/bin/python3). */
  python?: string;
  /** How long to wait for the READY line (default 20 s). */
  readyTimeoutMs?: number;
}

export interface SimulatedFleet {
  /** rtsp://address:port/cam1 … camN */
  urls: string[];
  port: number;
  pid: number;
  /** Resolves with the server's exit code (null when killed by a signal) once it has exited. */
  exited: Promise<number | null>;
  /** SIGTERM, then SIGKILL after 3 s; resolves once the server is gone. Idempotent. */
  stop(): Promise<void>;
}

/** The server script; it sits beside this file in the source tree (tsx) and is looked up from cwd otherwise. */
async function serverScript(): Promise<string> {
  const candidates = [
    fileURLToPath(new URL('./rtsp-server.py', import.meta.url)),
    path.resolve('ingest', 'sim', 'rtsp-server.py'),
  ];
  for (const c of candidates) if (await fileSize(c)) return c;
  throw new AppError('internal', `rtsp-server.py not found (looked in ${candidates.join(', ')})`, {
    permanent: true,
  });
}

export type Prerequisite = { ok: true } | { ok: false; reason: string };

/** Whether ffmpeg runs (ensureSimClip and every camera need it); `reason` says how to install it. */
export async function checkFfmpeg(opts: { ffmpegPath?: string } = {}): Promise<Prerequisite> {
  const ffmpegBin = opts.ffmpegPath ?? process.env['FFMPEG_PATH'] ?? 'ffmpeg';
  try {
    await execFileAsync(ffmpegBin, ['-hide_banner', '-version'], { timeout: 10_000 });
    return { ok: true };
  } catch (err) {
    return {
      ok: false,
      reason: `ffmpeg is not usable (${errorMessage(err)}); install it: apt-get install -y ffmpeg`,
    };
  }
}

/**
 * Whether the simulated fleet can run here: ffmpeg, and the Python GStreamer RTSP server
 * (`rtsp-server.py --check`). `reason` names what is missing and how to install it.
 */
export async function checkSimulatorPrerequisites(
  opts: { python?: string; ffmpegPath?: string } = {},
): Promise<Prerequisite> {
  const ffmpeg = await checkFfmpeg(opts);
  if (!ffmpeg.ok) return ffmpeg;
  const python = opts.python ?? DEFAULT_SIM_PYTHON;
  try {
    await execFileAsync(python, [await serverScript(), '--check'], { timeout: 20_000 });
  } catch (err) {
    // The script names the missing piece and the install command itself (exit 3).
    const stderr = (err as { stderr?: string }).stderr?.trim();
    const detail = stderr || errorMessage(err);
    const hint = detail.includes('apt-get') ? '' : `. Install: ${INSTALL_HINT}`;
    return { ok: false, reason: `GStreamer RTSP server is not usable with ${python}: ${detail}${hint}` };
  }
  return { ok: true };
}

function terminate(child: ChildProcess, exited: Promise<unknown>, graceMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  child.kill('SIGTERM');
  return new Promise<void>((resolve) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
    }, graceMs);
    void exited.then(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/** Starts the GStreamer RTSP server (ingest/sim/rtsp-server.py) and waits until it serves. */
export async function startSimulatedFleet(opts: SimulatedFleetOptions): Promise<SimulatedFleet> {
  const log = (opts.log ?? logger()).child({ module: 'ingest.sim' });
  const clips = [...(opts.clips ?? []), ...(opts.clip ? [opts.clip] : [])];
  if (clips.length === 0)
    throw new AppError('bad_request', 'startSimulatedFleet needs a clip', { permanent: true });
  if (!Number.isInteger(opts.count) || opts.count < 1)
    throw new AppError('bad_request', 'count must be >= 1', { permanent: true });
  const python = opts.python ?? DEFAULT_SIM_PYTHON;
  const script = await serverScript();
  const args = [
    script,
    '--port',
    String(opts.port),
    '--count',
    String(opts.count),
    '--address',
    opts.address ?? '127.0.0.1',
    // The server exits when our end of its stdin closes: it never outlives this process.
    '--watch-stdin',
    ...clips.flatMap((c) => ['--clip', path.resolve(c)]),
  ];
  const child = spawn(python, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  const exited = new Promise<number | null>((resolve) => {
    child.once('close', (code) => resolve(code));
    child.once('error', () => resolve(null));
  });
  const stderrTail: string[] = [];
  createInterface({ input: child.stderr! }).on('line', (line) => {
    stderrTail.push(line);
    if (stderrTail.length > 20) stderrTail.shift();
    if (/fatal|error|MISSING/i.test(line)) log.warn({ server: line }, 'rtsp server');
    else log.debug({ server: line }, 'rtsp server');
  });

  const readyTimeoutMs = opts.readyTimeoutMs ?? 20_000;
  let urls: string[];
  try {
    urls = await new Promise<string[]>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`no READY line within ${readyTimeoutMs} ms`)),
        readyTimeoutMs,
      );
      const lines = createInterface({ input: child.stdout! });
      lines.on('line', (line) => {
        if (line.startsWith('READY ')) {
          clearTimeout(timer);
          resolve(line.slice(6).trim().split(/\s+/));
        }
      });
      child.once('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
      void exited.then((code) => {
        clearTimeout(timer);
        reject(new Error(`exited with code ${String(code)} before serving`));
      });
    });
  } catch (err) {
    await terminate(child, exited, 1000);
    const code = child.exitCode;
    const detail = stderrTail.slice(-5).join(' | ');
    const pythonMissing = (err as NodeJS.ErrnoException).code === 'ENOENT';
    if (pythonMissing || code === 3) {
      throw new AppError(
        'dependency_down',
        detail.includes('apt-get') // the server's MISSING line names the install command already
          ? `the simulated cameras need GStreamer's RTSP server for ${python}: ${detail}`
          : `the simulated cameras need GStreamer's RTSP server for ${python}${detail ? ` (${detail})` : ''}. Install: ${INSTALL_HINT}`,
        { permanent: true, cause: err },
      );
    }
    if (code === 4) {
      throw new AppError('conflict', `simulated cameras: port ${opts.port} is in use`, { cause: err });
    }
    throw new AppError(
      'dependency_down',
      `simulated camera server failed: ${errorMessage(err)}${detail ? `: ${detail}` : ''}`,
      {
        cause: err,
      },
    );
  }

  const port = Number(new URL(urls[0]!).port);
  log.info({ count: opts.count, port, pid: child.pid, clips }, 'simulated cameras serving');
  let stopping: Promise<void> | undefined;
  void exited.then((code) => {
    if (!stopping) log.warn({ code, pid: child.pid }, 'simulated camera server exited');
  });
  return {
    urls,
    port,
    pid: child.pid!,
    exited,
    stop: () => {
      stopping ??= terminate(child, exited, 3000).then(() => {
        child.stdin?.destroy();
      });
      return stopping;
    },
  };
}
