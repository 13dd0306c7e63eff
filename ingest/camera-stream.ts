/**
 * One camera as an async generator of RGB24 frames. One ffmpeg per generator: started on the first
 * `next()`, always ended by the generator's `finally` (quit, SIGTERM, SIGKILL).
 *
 * Newest frame wins: ffmpeg's stdout is read without pause into a one-frame slot; a frame the consumer
 * has not taken yet is replaced by the next one and counted as dropped (metric + `onDrop`). Memory is
 * bounded by one pending frame plus one being assembled.
 *
 * Every end of the stream is a failure (an RTSP client whose server dies exits 0 with nothing printed):
 * the generator throws AppError('stream_failed') once ffmpeg is gone. It returns normally only when the
 * consumer stops iterating or `signal` aborts.
 */
import { finished } from 'node:stream/promises';
import { AppError, errorMessage } from '../core/errors.js';
import { logger, redactUrl, type Logger } from '../core/logger.js';
import { framesDropped } from '../core/metrics.js';
import {
  OutputSizeParser,
  startFfmpeg,
  type FfmpegExit,
  type FfmpegProcess,
  type FfmpegReadOptions,
  type FfmpegStartHooks,
  type SegmentOutput,
} from './ffmpeg-adapter.js';
import { FrameAssembler } from './frame-assembler.js';
import { LatestSlot } from './latest-slot.js';
import { stopProcess, StopRequest, type StopOptions, type StopOutcome } from './process-control.js';

export interface Frame {
  cameraId: string;
  /** 0, 1, 2… per ffmpeg process, counting every frame received (gaps = frames dropped). */
  seq: number;
  /** When the frame's last byte arrived from ffmpeg (epoch ms, this host's clock). */
  capturedAt: number;
  width: number;
  height: number;
  /** width × height × 3 bytes, RGB24, rows top to bottom. */
  data: Buffer;
}

/** Why a stream ended; in `AppError.details.end` of the error the generator throws. */
export type StreamEnd = 'start_failed' | 'ended' | 'failed';

export interface CameraFramesOptions {
  cameraId: string;
  /** Camera URL; may carry credentials, which never reach a log. */
  url: string;
  fps: number;
  width: number;
  /** ffmpeg's socket timeout (a hung server ends ffmpeg). Default 10 000 ms. */
  ioTimeoutMs?: number;
  /**
   * Ends the stream: the generator returns and ffmpeg is stopped at once (with the grace periods of a
   * `StopRequest` given as the abort's reason, else `stop`'s).
   */
  signal?: AbortSignal;
  log?: Logger;
  /** Every frame ffmpeg delivers, before the newest-wins slot (watchdogs and rates hook here). */
  onReceive?: (frame: Frame) => void;
  /** A frame was replaced before the consumer took it; `total` counts this generator's drops. */
  onDrop?: (dropped: Frame, total: number) => void;
  ffmpegPath?: string;
  /** Grace periods of the quit → SIGTERM → SIGKILL escalation. */
  stop?: StopOptions;
  /** How ffmpeg was ended, once it has been (not called when it was never started). */
  onStopped?: (outcome: StopOutcome) => void;
  /** Bound on stdout bytes held before ffmpeg announced the frame size. */
  maxHeldBytes?: number;
  /** Also copy the compressed stream into segments (evidence clips); each closed one is reported. */
  segments?: SegmentOutput & { onSegment: (line: string) => void };
  /** Test seam: how ffmpeg is started. */
  startProcess?: (opts: FfmpegReadOptions, hooks: FfmpegStartHooks) => Promise<FfmpegProcess>;
}

const STDERR_TAIL_LINES = 30;
/** Refuses frame sizes nobody meant (a misparsed line must not allocate gigabytes). */
const MAX_FRAME_BYTES = 8192 * 8192 * 3;
const PROBLEM =
  /error|fail|refused|timed? ?out|invalid|unauthori[sz]ed|forbidden|denied|not found|unreachable|no route|could not|unable|\b[45]\d\d\b/i;

/** Last lines of a text stream, bounded. */
export class LineTail {
  private lines: string[] = [];
  constructor(private readonly limit: number) {}
  push(line: string): void {
    this.lines.push(line);
    if (this.lines.length > this.limit) this.lines.shift();
  }
  get(): string[] {
    return [...this.lines];
  }
}

/** The URL as it may be logged: credentials masked; a plain file path as is. */
export function displayUrl(url: string): string {
  return URL.canParse(url) ? redactUrl(url) : url;
}

/**
 * Removes credentials from a line ffmpeg printed: the camera URL itself, any `scheme://user:pass@`, and
 * the password on its own.
 */
export function scrubSecrets(line: string, url: string): string {
  let out = line.split(url).join(displayUrl(url));
  out = out.replace(/([a-z][a-z0-9+.-]*:\/\/)[^\s/?#@'"]+@/gi, '$1***@');
  // A file path has no password to hide.
  const password = URL.canParse(url) ? new URL(url).password : '';
  for (const secret of new Set([password, safeDecode(password)])) {
    if (secret.length >= 3) out = out.split(secret).join('***');
  }
  return out;
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s; // malformed %-escape: the raw form is all there is
  }
}

function describeExit(exit: FfmpegExit): string {
  if (exit.signal) return `killed by ${exit.signal}`;
  return exit.code === 0 ? 'exited 0 (end of stream)' : `exited with code ${String(exit.code)}`;
}

export async function* cameraFrames(opts: CameraFramesOptions): AsyncGenerator<Frame, void, undefined> {
  const { cameraId } = opts;
  const log = (opts.log ?? logger()).child({ module: 'ingest.stream', cameraId });
  const camera = displayUrl(opts.url);
  if (opts.signal?.aborted) return;

  const tail = new LineTail(STDERR_TAIL_LINES);
  const sizeParser = new OutputSizeParser();
  const slot = new LatestSlot<Frame>();
  let size: { width: number; height: number } | undefined;
  let seq = 0;
  let dropped = 0;
  let flowing = false;
  let stopping = false;

  const onFrameBytes = (data: Buffer) => {
    const frame: Frame = {
      cameraId,
      seq: seq++,
      capturedAt: Date.now(),
      width: size!.width,
      height: size!.height,
      data,
    };
    if (!flowing) {
      flowing = true;
      log.info({ camera, width: frame.width, height: frame.height }, 'frames flowing; ffmpeg stderr quieted');
    }
    opts.onReceive?.(frame);
    const replaced = slot.put(frame);
    if (replaced) {
      dropped++;
      framesDropped.inc({ camera: cameraId });
      opts.onDrop?.(replaced, dropped);
    }
  };
  const assembler = new FrameAssembler(onFrameBytes, opts.maxHeldBytes);

  const fail = (message: string, end: StreamEnd, extra: Record<string, unknown> = {}, cause?: unknown) =>
    new AppError('stream_failed', `camera ${cameraId}: ${message}`, {
      cause,
      details: { cameraId, end, frames: seq, dropped, stderr: tail.get(), ...extra },
    });

  const onStderrLine = (raw: string) => {
    // The segment muxer announces every file it opens (once a second): noise that would push the
    // lines that explain a failure out of the tail.
    if (raw.startsWith('[segment @') && raw.includes('] Opening ')) return;
    const line = scrubSecrets(raw, opts.url);
    if (line.trim() === '') return;
    tail.push(line);
    if (!size) {
      const found = sizeParser.feed(raw);
      if (found) {
        const bytes = found.width * found.height * 3;
        if (bytes > MAX_FRAME_BYTES) {
          slot.close(
            fail(`ffmpeg announced an implausible frame size ${found.width}x${found.height}`, 'failed'),
          );
          return;
        }
        if (found.width !== opts.width) {
          log.warn(
            { requested: opts.width, got: found.width },
            'ffmpeg output width differs from the requested one',
          );
        }
        size = found;
        try {
          assembler.setFrameSize(bytes);
        } catch (err) {
          slot.close(fail(errorMessage(err), 'failed', {}, err));
        }
      }
    }
    // Until frames flow, stderr is how a bad URL, refused connection or wrong credentials show up.
    if (!flowing) {
      if (PROBLEM.test(line)) log.warn({ ffmpeg: line }, 'ffmpeg');
      else log.debug({ ffmpeg: line }, 'ffmpeg');
    }
  };

  const start = opts.startProcess ?? startFfmpeg;
  let proc: FfmpegProcess;
  try {
    proc = await start(
      {
        url: opts.url,
        fps: opts.fps,
        width: opts.width,
        ioTimeoutMs: opts.ioTimeoutMs ?? 10_000,
        ffmpegPath: opts.ffmpegPath,
        ...(opts.segments && {
          segments: {
            dir: opts.segments.dir,
            segmentSeconds: opts.segments.segmentSeconds,
            wrap: opts.segments.wrap,
          },
        }),
      },
      { onStderrLine, ...(opts.segments && { onSegmentLine: opts.segments.onSegment }) },
    );
  } catch (err) {
    throw fail(`cannot start ffmpeg: ${scrubSecrets(errorMessage(err), opts.url)}`, 'start_failed', {}, err);
  }
  log.debug({ camera, pid: proc.pid }, 'ffmpeg started');

  let stopped: Promise<void> | undefined;
  const stop = (options: StopOptions | undefined = opts.stop): Promise<void> => {
    stopping = true;
    stopped ??= stopProcess(proc, options).then((outcome) => {
      if (outcome === 'unresponsive') log.error({ pid: proc.pid }, 'ffmpeg survived SIGKILL');
      else log.debug({ pid: proc.pid, outcome }, 'ffmpeg ended');
      opts.onStopped?.(outcome);
    });
    return stopped;
  };
  const onAbort = () => {
    slot.clear();
    slot.close();
    const reason: unknown = opts.signal?.reason;
    void stop(reason instanceof StopRequest ? { ...opts.stop, ...reason.options } : opts.stop);
  };
  opts.signal?.addEventListener('abort', onAbort, { once: true });

  proc.stdout.on('data', (chunk: Buffer) => {
    if (stopping || slot.isClosed) return; // keep draining so that ffmpeg never blocks on a full pipe
    try {
      assembler.push(chunk);
    } catch (err) {
      slot.close(fail(errorMessage(err), 'failed', {}, err));
      void stop();
    }
  });
  // The end: the process has exited and all of stdout has been read.
  void Promise.all([proc.exited, finished(proc.stdout).catch((err: unknown) => err)]).then(([exit]) => {
    if (stopping) {
      slot.close();
      return;
    }
    const trailing = assembler.pendingBytes;
    // The lines that say what went wrong (ffmpeg's closing statistics say nothing).
    const lastLines = tail
      .get()
      .filter((l) => PROBLEM.test(l))
      .slice(-2)
      .join(' | ');
    slot.close(
      fail(
        `ffmpeg ${describeExit(exit)} after ${seq} frames${lastLines ? `: ${lastLines}` : ''}`,
        exit.code === 0 && !exit.signal ? 'ended' : 'failed',
        {
          exitCode: exit.code,
          signal: exit.signal,
          trailingBytes: trailing,
        },
      ),
    );
  });
  if (opts.signal?.aborted) onAbort();

  try {
    for (;;) {
      const next = await slot.take();
      if (next.done || opts.signal?.aborted) return;
      yield next.value;
    }
  } finally {
    opts.signal?.removeEventListener('abort', onAbort);
    await stop();
  }
}
