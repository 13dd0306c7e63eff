/**
 * The one place that knows how ffmpeg is launched. fluent-ffmpeg (archived upstream in May 2025) builds
 * the argument list; the process is spawned here with child_process. Everything else in ingest/ sees only
 * `FfmpegProcess`, so dropping fluent-ffmpeg is a change to this file alone (replace `ffmpegReadArgs`'s
 * builder by the literal list the unit tests pin down).
 *
 * Why fluent-ffmpeg does not run the process: its runner keeps one binary path for the whole process
 * (`setFfmpegPath` writes a module-level cache), probes `ffmpeg -formats`/`-encoders` before the first
 * command (~0.3 s), and once that cache is warm a spawn failure (ENOENT, EAGAIN) makes its own 'error'
 * handler throw a TypeError instead of reporting the error. The process lifecycle (quit/SIGTERM/SIGKILL
 * escalation, stderr handling, end-of-stream detection) is project code in process-control.ts and
 * camera-stream.ts, under test.
 *
 * Output: raw `rgb24` frames on stdout, `width` wide and an even height that keeps the display aspect.
 * Optionally (`segments`) a second output of the same process copies the compressed video, untouched, into
 * short MPEG-TS segments on disk (one RTSP connection per camera, no re-encoding), listed on file
 * descriptor 3 as each one closes; evidence clips are cut from them (clip-buffer.ts).
 * The height is known from the `Output #0 ... Video: rawvideo ..., WxH` line ffmpeg prints on stderr
 * (`OutputSizeParser`). It stays fixed for the life of the process: when the camera changes resolution
 * mid-stream, ffmpeg reconfigures its filters and (autoscale, on by default) scales to the size the
 * output was opened with, so frame boundaries never shift.
 */
import { execFile, spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import path from 'node:path';
import type { Readable } from 'node:stream';
import ffmpeg from 'fluent-ffmpeg';

export interface FfmpegReadOptions {
  /** rtsp://, rtsps://, another ffmpeg URL, or a local file path (read at its native rate). */
  url: string;
  /** Frames per second to sample (ffmpeg's fps filter). */
  fps: number;
  /** Output width in pixels; the height follows from the display aspect ratio, rounded to even. */
  width: number;
  /** Socket I/O timeout: a server that stops sending makes ffmpeg give up after this long. */
  ioTimeoutMs: number;
  /** The ffmpeg binary; default: $FFMPEG_PATH, else `ffmpeg` on PATH. */
  ffmpegPath?: string;
  /** Which frames the decoder decodes (default 'all'); see DecodeMode. */
  decode?: DecodeMode;
  /** Also copy the compressed video into short segments (evidence clips); absent: frames only. */
  segments?: SegmentOutput;
}

/**
 * The second output: the camera's H.264 copied (`-c copy`) into MPEG-TS files of about `segmentSeconds`
 * (cut at the next keyframe), named `seg-%03d.ts` in `dir` and reused round-robin after `wrap` files, so
 * the disk a camera uses is bounded by construction. Each closed segment is announced on fd 3 as a CSV
 * line `file,start,end` (stream seconds). MPEG-TS: every file is playable on its own, even after a kill.
 */
export interface SegmentOutput {
  dir: string;
  segmentSeconds: number;
  wrap: number;
}

export const SEGMENT_PATTERN = 'seg-%03d.ts';

/**
 * How much of the stream the decoder decodes (INGEST_DECODE). Decoding is most of ingest's CPU for
 * 1080p cameras (every frame is decoded, whatever the analysed fps), so these are the levers:
 *
 * - `all`: every frame, full quality (the default, and the behaviour before the setting existed).
 * - `keyframes`: only keyframes (`-skip_frame nokey`); the rest are parsed and discarded. The analysed
 *   rate becomes min(fps, keyframe rate): with a 1 s keyframe interval and fps 2, one frame a second.
 *   The fps filter is replaced by a rate limiter that never duplicates a frame (the fps filter would
 *   repeat each keyframe to fill the rate). One decoding thread: there is little to decode, and frame
 *   threading would hold back (threads − 1) packets, seconds on a low-rate stream, and their memory.
 * - `reduced`: every frame, cheaper: one decoding thread per camera (`-threads 1`: no frame-threading
 *   overhead; many cameras keep the cores busy anyway), no deblocking (`-skip_loop_filter all`) and the
 *   decoder's non-compliant speed-ups (`-flags2 fast`). At 640 wide from 1080p the frames differ from a
 *   full decode by about 43 dB PSNR (see docs/PERFORMANCE.md).
 */
export type DecodeMode = 'all' | 'keyframes' | 'reduced';
export const DECODE_MODES: readonly DecodeMode[] = ['all', 'keyframes', 'reduced'];

/** Decoder options (before `-i`) of a decode mode. */
export function decoderOptions(decode: DecodeMode = 'all'): string[] {
  switch (decode) {
    case 'all':
      return [];
    case 'keyframes':
      return ['-threads', '1', '-skip_frame', 'nokey'];
    case 'reduced':
      return ['-threads', '1', '-skip_loop_filter', 'all', '-flags2', 'fast'];
  }
}

export interface FfmpegExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** A running ffmpeg reading one camera. */
export interface FfmpegProcess {
  readonly pid: number;
  /** Raw rgb24 frames, back to back. Ends when ffmpeg ends. */
  readonly stdout: Readable;
  /** Resolves (never rejects) once the process has exited and its stdio has closed. */
  readonly exited: Promise<FfmpegExit>;
  /** The exit status once known, else undefined. */
  exitStatus(): FfmpegExit | undefined;
  /** Asks ffmpeg to finish cleanly ('q' on stdin). It is only noticed between packets. */
  requestQuit(): void;
  /** Sends a signal; false when the process is already gone. */
  kill(signal: NodeJS.Signals): boolean;
}

export interface FfmpegStartHooks {
  /** Every stderr line, as ffmpeg wrote it (it may contain the URL: scrub before logging). */
  onStderrLine: (line: string) => void;
  /** With `segments`: each line of the segment list (`file,start,end`), as a segment closes. */
  onSegmentLine?: (line: string) => void;
}

const RTSP = /^rtsps?:\/\//i;
const URL_WITH_SCHEME = /^[a-z][a-z0-9+.-]*:\/\//i;

function validate(opts: FfmpegReadOptions): void {
  if (!(opts.fps > 0) || !Number.isFinite(opts.fps))
    throw new RangeError(`fps must be > 0 (got ${opts.fps})`);
  if (!Number.isInteger(opts.width) || opts.width < 2) {
    throw new RangeError(`width must be an integer >= 2 (got ${opts.width})`);
  }
  if (!Number.isInteger(opts.ioTimeoutMs) || opts.ioTimeoutMs < 1) {
    throw new RangeError(`ioTimeoutMs must be a positive integer (got ${opts.ioTimeoutMs})`);
  }
  if (opts.decode !== undefined && !DECODE_MODES.includes(opts.decode)) {
    throw new RangeError(`decode must be one of ${DECODE_MODES.join(', ')} (got ${String(opts.decode)})`);
  }
  if (opts.url.length === 0 || opts.url.startsWith('-'))
    throw new RangeError('url must be a URL or a file path');
  const seg = opts.segments;
  if (seg) {
    if (!path.isAbsolute(seg.dir)) throw new RangeError('segments.dir must be an absolute path');
    if (!(seg.segmentSeconds > 0) || seg.segmentSeconds > 60)
      throw new RangeError(`segments.segmentSeconds must be in (0, 60] (got ${seg.segmentSeconds})`);
    if (!Number.isInteger(seg.wrap) || seg.wrap < 3 || seg.wrap > 1000)
      throw new RangeError(`segments.wrap must be an integer in [3, 1000] (got ${seg.wrap})`);
  }
}

/** Options placed before `-i`. */
function inputOptions(opts: FfmpegReadOptions): string[] {
  const micros = String(opts.ioTimeoutMs * 1000);
  // info: the `Output #0` stream line tells the frame height. analyzeduration 1 s (default 5 s): the
  // first frame comes ~1.5 s after connecting instead of ~3 s, without a burst of stale frames.
  const common = [
    '-hide_banner',
    '-nostats',
    '-loglevel',
    'info',
    '-analyzeduration',
    '1000000',
    ...decoderOptions(opts.decode),
  ];
  if (RTSP.test(opts.url)) {
    // TCP: no lost UDP packets, one socket through NAT; -timeout (µs) notices a hung server, which
    // otherwise keeps ffmpeg waiting forever. Only the video track is set up.
    return [...common, '-rtsp_transport', 'tcp', '-timeout', micros, '-allowed_media_types', 'video'];
  }
  if (URL_WITH_SCHEME.test(opts.url) && !opts.url.toLowerCase().startsWith('file:')) {
    return [...common, '-rw_timeout', micros];
  }
  // A local file stands in for a camera: read it at its native frame rate.
  return [...common, '-re'];
}

/**
 * The video filter chain: sample first (cheap), then scale only the frames kept. With `keyframes` the
 * sampler keeps a frame when at least 0.9/fps seconds passed since the last one kept (the 10 % slack
 * absorbs timestamp jitter of a keyframe interval equal to 1/fps), and never repeats one.
 */
export function videoFilter(fps: number, width: number, decode: DecodeMode = 'all'): string {
  const sample =
    decode === 'keyframes'
      ? `select='isnan(prev_selected_t)+gte(t-prev_selected_t,${minFrameGap(fps)})'`
      : `fps=${fps}`;
  // dar = display aspect ratio (includes the sample aspect ratio of anamorphic cameras).
  return `${sample},scale=w=${width}:h=trunc(ow/dar/2)*2,setsar=1`;
}

/** Seconds between kept frames in keyframes mode, as a short decimal. */
function minFrameGap(fps: number): string {
  return String(Math.round((0.9 / fps) * 1e6) / 1e6);
}

function outputOptions(opts: FfmpegReadOptions): string[] {
  return [
    '-map',
    '0:v:0',
    '-an',
    '-sn',
    '-dn',
    '-vf',
    videoFilter(opts.fps, opts.width, opts.decode),
    '-pix_fmt',
    'rgb24',
    // The fps filter already paces the output; no duplication or dropping by the muxer.
    '-fps_mode',
    'passthrough',
    '-f',
    'rawvideo',
  ];
}

/** The segment output's options: the first video stream copied as is, cut near every segmentSeconds. */
function segmentOptions(seg: SegmentOutput): string[] {
  return [
    '-map',
    '0:v:0',
    '-an',
    '-sn',
    '-dn',
    '-c',
    'copy',
    '-f',
    'segment',
    '-segment_format',
    'mpegts',
    '-segment_time',
    String(seg.segmentSeconds),
    '-segment_wrap',
    String(seg.wrap),
    '-segment_list',
    'pipe:3',
    '-segment_list_type',
    'csv',
  ];
}

/** The exact argument list startFfmpeg runs (without the binary). Pure: spawns nothing. */
export function ffmpegReadArgs(opts: FfmpegReadOptions): string[] {
  validate(opts);
  const command = ffmpeg()
    .input(opts.url)
    .inputOptions(...inputOptions(opts))
    .output('pipe:1')
    .outputOptions(...outputOptions(opts));
  if (opts.segments) {
    command
      .output(path.join(opts.segments.dir, SEGMENT_PATTERN))
      .outputOptions(...segmentOptions(opts.segments));
  }
  return command._getArguments();
}

/** The binary: the option, else $FFMPEG_PATH, else `ffmpeg` on PATH. */
export function ffmpegBinary(opts: Pick<FfmpegReadOptions, 'ffmpegPath'> = {}): string {
  return opts.ffmpegPath ?? process.env['FFMPEG_PATH'] ?? 'ffmpeg';
}

/** Longest stderr line kept whole; ffmpeg's are short, a runaway one must not grow without bound. */
const MAX_LINE = 4096;

/**
 * Starts ffmpeg reading `opts.url`. Resolves once the process is spawned; rejects when it cannot be
 * (no ffmpeg binary, spawn failure). Exits of a started process are reported by `exited`, never thrown.
 */
export function startFfmpeg(opts: FfmpegReadOptions, hooks: FfmpegStartHooks): Promise<FfmpegProcess> {
  const args = ffmpegReadArgs(opts);
  return new Promise<FfmpegProcess>((resolve, reject) => {
    // fd 3 carries the segment list when there is a segment output.
    const stdio: ('pipe' | 'ignore')[] = [
      'pipe',
      'pipe',
      'pipe',
      ...(opts.segments ? ['pipe' as const] : []),
    ];
    // stdin, stdout and stderr are pipes whatever the length of `stdio`.
    const child = spawn(ffmpegBinary(opts), args, {
      stdio,
      windowsHide: true,
    }) as ChildProcessWithoutNullStreams;
    let status: FfmpegExit | undefined;
    const exited = new Promise<FfmpegExit>((done) => {
      child.once('close', (code: number | null, signal: NodeJS.Signals | null) => {
        status = { code, signal };
        done(status);
      });
    });

    // stderr, line by line (ffmpeg ends progress lines with \r).
    let partial = '';
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (text: string) => {
      const parts = (partial + text).split(/\r\n|\r|\n/);
      partial = parts.pop() ?? '';
      if (partial.length > MAX_LINE) {
        parts.push(partial.slice(0, MAX_LINE));
        partial = '';
      }
      for (const line of parts) hooks.onStderrLine(line);
    });
    child.stderr.on('end', () => {
      if (partial) hooks.onStderrLine(partial);
      partial = '';
    });
    const list = opts.segments ? (child.stdio[3] as Readable | null) : null;
    if (list) {
      let pending = '';
      list.setEncoding('utf8');
      list.on('data', (text: string) => {
        const lines = (pending + text).split('\n');
        pending = (lines.pop() ?? '').slice(-MAX_LINE);
        for (const line of lines) if (line.trim()) hooks.onSegmentLine?.(line.trim());
      });
      list.on('error', () => undefined); // the exit is reported by `exited`
    }
    // Writing 'q' to a process that just died raises EPIPE on stdin; the exit is reported anyway.
    child.stdin.on('error', () => undefined);

    child.once('error', (err) => {
      // Before 'spawn': the process never existed. After: a failed kill(), which `exited` covers.
      if (status === undefined && child.pid === undefined) reject(err);
    });
    child.once('spawn', () => {
      resolve({
        pid: child.pid!,
        stdout: child.stdout,
        exited,
        exitStatus: () => status,
        requestQuit: () => {
          if (status === undefined && child.stdin.writable) child.stdin.write('q');
        },
        kill: (signal) => (status === undefined ? child.kill(signal) : false),
      });
    });
  });
}

export interface VideoSize {
  width: number;
  height: number;
}

/**
 * Finds the size of the raw video output in ffmpeg's stderr. Feed it every line; it answers once the
 * `Stream #0:0: Video: rawvideo (...), rgb24(...), 640x360 [SAR 1:1 DAR 16:9], ...` line under
 * `Output #0` goes by. Input stream lines (under `Input #0`) are ignored.
 */
export class OutputSizeParser {
  private inOutputSection = false;
  private found: VideoSize | undefined;

  get size(): VideoSize | undefined {
    return this.found;
  }

  feed(line: string): VideoSize | undefined {
    if (this.found) return this.found;
    if (/^Output #\d+/.test(line)) {
      this.inOutputSection = true;
      return undefined;
    }
    if (/^Input #\d+/.test(line)) {
      this.inOutputSection = false;
      return undefined;
    }
    if (!this.inOutputSection) return undefined;
    const m = /^\s*Stream #\d+:\d+.*?: Video: rawvideo\b.*?, (\d{1,5})x(\d{1,5})(?=[\s,]|$)/.exec(line);
    if (m) {
      const width = Number(m[1]);
      const height = Number(m[2]);
      if (width > 0 && height > 0) this.found = { width, height };
    }
    return this.found;
  }
}

/** The concat list file (ffmpeg's concat demuxer) naming `files`, quoted for it. */
export function concatList(files: readonly string[]): string {
  return files.map((f) => `file '${f.replaceAll("'", "'\\''")}'\n`).join('');
}

/**
 * Arguments joining the segments named in `listFile` into one MP4, the video copied as is (no
 * re-encoding: the clip is the camera's own H.264). The concat demuxer opens each segment on its own,
 * so their restarting MPEG-TS continuity counters do not read as corruption. `+faststart`: the index
 * first, so the clip plays while it downloads.
 */
export function concatSegmentsArgs(listFile: string, output: string): string[] {
  return ffmpeg()
    .input(listFile)
    .inputOptions('-hide_banner', '-nostdin', '-loglevel', 'error', '-f', 'concat', '-safe', '0')
    .output(output)
    .outputOptions('-map', '0:v:0', '-c', 'copy', '-movflags', '+faststart', '-f', 'mp4', '-y')
    ._getArguments();
}

/** ffprobe beside the ffmpeg binary (same folder), else on PATH. */
export function ffprobeBinary(ffmpegPath?: string): string {
  const bin = ffmpegBinary({ ffmpegPath });
  return bin.includes('/') ? path.join(path.dirname(bin), 'ffprobe') : 'ffprobe';
}

function runTool(bin: string, args: string[], timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      bin,
      args,
      { timeout: timeoutMs, maxBuffer: 1024 * 1024, windowsHide: true, killSignal: 'SIGKILL' },
      (err, stdout, stderr) => {
        if (err) {
          const detail = String(stderr).trim().split('\n').slice(-3).join(' | ');
          reject(new Error(`${path.basename(bin)} failed: ${detail || err.message}`, { cause: err }));
        } else resolve(String(stdout));
      },
    );
  });
}

/** Runs the concat of `listFile` into `output` (see concatSegmentsArgs). Rejects naming ffmpeg's error. */
export async function concatSegments(
  listFile: string,
  output: string,
  opts: { ffmpegPath?: string; timeoutMs?: number } = {},
): Promise<void> {
  await runTool(ffmpegBinary(opts), concatSegmentsArgs(listFile, output), opts.timeoutMs ?? 30_000);
}

export interface ProbedVideo {
  /** ffprobe's codec name of the first video stream ('h264'). */
  codec: string;
  /** Video packets counted by reading the whole file (one per frame for H.264 in MP4). */
  frames: number;
  durationS: number;
  width: number;
  height: number;
}

/** What ffprobe reads in a video file: codec, frames (counted), duration and size. */
export async function probeVideo(
  file: string,
  opts: { ffmpegPath?: string; timeoutMs?: number } = {},
): Promise<ProbedVideo> {
  const out = await runTool(
    ffprobeBinary(opts.ffmpegPath),
    [
      '-v',
      'error',
      '-count_packets',
      '-select_streams',
      'v:0',
      '-show_entries',
      'stream=codec_name,nb_read_packets,width,height:format=duration',
      '-of',
      'json',
      file,
    ],
    opts.timeoutMs ?? 30_000,
  );
  const parsed = JSON.parse(out) as {
    streams?: { codec_name?: string; nb_read_packets?: string; width?: number; height?: number }[];
    format?: { duration?: string };
  };
  const s = parsed.streams?.[0];
  if (!s?.codec_name) throw new Error(`ffprobe found no video stream in ${path.basename(file)}`);
  return {
    codec: s.codec_name,
    frames: Number(s.nb_read_packets ?? 0),
    durationS: Number(parsed.format?.duration ?? 0),
    width: s.width ?? 0,
    height: s.height ?? 0,
  };
}
