/**
 * Keeps one camera's frames flowing: runs `cameraFrames` in a loop, restarts ffmpeg when the stream ends
 * or stalls (watchdog), waits a capped exponential backoff with jitter between restarts and never
 * restarts more than `maxRestartsPerMinute` times a minute. Reports `up`/`down`/`restart` events, a
 * `status()` snapshot and the per-camera metrics (frames received, stream up, restarts).
 *
 * Frames reach the consumer through `onFrame`, which may be async: while it runs, newer frames replace
 * the pending one (newest wins, drops counted); the watchdog watches frames received, not frames
 * consumed, so a slow consumer never looks like a dead camera.
 */
import { EventEmitter } from 'node:events';
import type { Config } from '../core/config.js';
import { AppError, errorMessage, isAppError } from '../core/errors.js';
import { logger, type Logger } from '../core/logger.js';
import { framesReceived, streamRestarts, streamUp } from '../core/metrics.js';
import { nextRestartDelay, RestartWindow, type BackoffPolicy } from './backoff.js';
import {
  cameraFrames,
  displayUrl,
  scrubSecrets,
  type CameraFramesOptions,
  type Frame,
} from './camera-stream.js';
import { startFfmpeg, type DecodeMode, type SegmentOutput } from './ffmpeg-adapter.js';
import { StopRequest, type StopOptions, type StopOutcome } from './process-control.js';
import { RateEstimator } from './rate-estimator.js';
import { Watchdog } from './watchdog.js';

/** The ingest settings of the configuration. */
export interface IngestSettings {
  fps: number;
  width: number;
  stallTimeoutMs: number;
  backoffMinMs: number;
  backoffMaxMs: number;
  maxRestartsPerMinute: number;
  /**
   * Which frames ffmpeg decodes (INGEST_DECODE); absent means 'all'. With 'keyframes' the analysed rate
   * is min(fps, the camera's keyframe rate).
   */
  decode?: DecodeMode;
}

export function ingestSettings(config: Config): IngestSettings {
  return {
    fps: config.INGEST_FPS,
    width: config.INGEST_WIDTH,
    stallTimeoutMs: config.INGEST_STALL_TIMEOUT_MS,
    backoffMinMs: config.INGEST_BACKOFF_MIN_MS,
    backoffMaxMs: config.INGEST_BACKOFF_MAX_MS,
    maxRestartsPerMinute: config.INGEST_MAX_RESTARTS_PER_MINUTE,
    // Only an opt-in mode is carried: 'all' is what ffmpeg does without a mode.
    ...(config.INGEST_DECODE === 'all' ? {} : { decode: config.INGEST_DECODE }),
  };
}

export interface CameraSupervisorOptions extends IngestSettings {
  cameraId: string;
  /** May carry credentials; only its redacted form is ever logged. */
  url: string;
  /** Receives frames; may be async. Errors are logged (throttled) and do not stop the camera. */
  onFrame: (frame: Frame) => void | Promise<void>;
  /** ffmpeg's socket timeout; default stallTimeoutMs. */
  ioTimeoutMs?: number;
  /**
   * Extra time for the first frame of each ffmpeg (connect, probe, wait for a keyframe): the watchdog's
   * first deadline is stallTimeoutMs + startGraceMs. Default 5000 ms.
   */
  startGraceMs?: number;
  log?: Logger;
  ffmpegPath?: string;
  /** Grace periods for ending ffmpeg. */
  stop?: StopOptions;
  /**
   * Keeps the compressed stream beside the frames (evidence clips): asked for a fresh segment folder
   * before each ffmpeg starts, told when it ends. Absent: frames only.
   */
  recorder?: StreamRecorder;
  /** Test seam: the frame source (default cameraFrames). */
  frameSource?: (opts: CameraFramesOptions) => AsyncIterable<Frame>;
  /** Test seam: jitter source. */
  random?: () => number;
}

/** Where one ffmpeg run writes its segments, and who hears about them (see ingest/clip-buffer.ts). */
export interface SegmentSink {
  output: SegmentOutput;
  onSegment(line: string): void;
  /** The ffmpeg run is over: no more segments will come from it. */
  end(): void;
}

export interface StreamRecorder {
  begin(): Promise<SegmentSink>;
}

export type CameraState = 'idle' | 'starting' | 'up' | 'down' | 'stopped';
/** How `stop()` ended the camera's ffmpeg; 'none' when none was running. */
export type SupervisorStopOutcome = StopOutcome | 'none';
/** Also the `reason` label of camera_stream_restarts_total. */
export type DownReason = 'stall' | 'stream_ended' | 'ffmpeg_failed' | 'start_failed';

export interface CameraUpEvent {
  cameraId: string;
  at: number;
  width: number;
  height: number;
  /** From starting ffmpeg to its first frame. */
  startupMs: number;
  restarts: number;
}

export interface CameraDownEvent {
  cameraId: string;
  at: number;
  reason: DownReason;
  /** Redacted; carries the last lines ffmpeg printed. */
  error: string | null;
  lastFrameAt: number | null;
  restarts: number;
  nextAttemptInMs: number;
}

export interface CameraRestartEvent {
  cameraId: string;
  at: number;
  reason: DownReason;
  /** Failures since frames last flowed. */
  attempt: number;
  /** How long the supervisor waited before this restart (backoff or restart cap). */
  delayMs: number;
  restarts: number;
}

export interface CameraStatus {
  cameraId: string;
  state: CameraState;
  /** When `state` began (epoch ms). */
  since: number;
  lastFrameAt: number | null;
  /** Frames received from ffmpeg since start() (including those later dropped). */
  framesReceived: number;
  /** Frames replaced before the consumer took them. */
  framesDropped: number;
  restarts: number;
  /** Frames received per second over the last 10 s. */
  fps: number;
  frameSize: { width: number; height: number } | null;
  downReason: DownReason | null;
  lastError: string | null;
  nextAttemptAt: number | null;
}

export type CameraSupervisorEvents = {
  up: [CameraUpEvent];
  down: [CameraDownEvent];
  restart: [CameraRestartEvent];
  stopped: [{ cameraId: string; at: number }];
};

interface AttemptResult {
  reason: DownReason;
  error?: unknown;
}

const CONSUMER_ERROR_LOG_INTERVAL_MS = 10_000;
const DEFAULT_START_GRACE_MS = 5000;

function classify(err: unknown): DownReason {
  if (isAppError(err)) {
    const end = err.details?.['end'];
    if (end === 'start_failed') return 'start_failed';
    if (end === 'ended') return 'stream_ended';
  }
  return 'ffmpeg_failed';
}

export class CameraSupervisor extends EventEmitter<CameraSupervisorEvents> {
  readonly cameraId: string;
  private readonly opts: CameraSupervisorOptions;
  private readonly log: Logger;
  private readonly policy: BackoffPolicy;
  private readonly window: RestartWindow;
  private readonly rate = new RateEstimator();
  private readonly source: (opts: CameraFramesOptions) => AsyncIterable<Frame>;

  private state: CameraState = 'idle';
  private since = Date.now();
  private lastFrameAt: number | null = null;
  private received = 0;
  private dropped = 0;
  private restarts = 0;
  private failures = 0;
  private frameSize: { width: number; height: number } | null = null;
  private downReason: DownReason | null = null;
  private lastError: string | null = null;
  private nextAttemptAt: number | null = null;
  private reportedDown = false;
  private consumerErrors = 0;
  private lastConsumerErrorLogAt = 0;

  private loop: Promise<void> | undefined;
  private stopping: Promise<SupervisorStopOutcome> | undefined;
  private stopRequested = false;
  private abortAttempt: ((reason?: StopRequest) => void) | undefined;
  /** How the current attempt's ffmpeg was ended, once it has been. */
  private ffmpegOutcome: StopOutcome | undefined;
  private wakeSleep: (() => void) | undefined;

  constructor(opts: CameraSupervisorOptions) {
    super();
    if (opts.backoffMinMs > opts.backoffMaxMs)
      throw new RangeError('backoffMinMs must not exceed backoffMaxMs');
    if (!(opts.stallTimeoutMs > 0)) throw new RangeError('stallTimeoutMs must be > 0');
    this.opts = opts;
    this.cameraId = opts.cameraId;
    this.log = (opts.log ?? logger()).child({ module: 'ingest.supervisor', cameraId: opts.cameraId });
    this.policy = {
      minMs: opts.backoffMinMs,
      maxMs: opts.backoffMaxMs,
      maxRestartsPerMinute: opts.maxRestartsPerMinute,
    };
    this.window = new RestartWindow(opts.maxRestartsPerMinute);
    this.source = opts.frameSource ?? cameraFrames;
  }

  /** Starts the camera; frames arrive through onFrame. Idempotent. */
  start(): void {
    if (this.loop) return;
    this.stopRequested = false;
    streamUp.set({ camera: this.cameraId }, 0);
    this.log.info(
      { camera: displayUrl(this.opts.url), fps: this.opts.fps, width: this.opts.width },
      'camera starting',
    );
    this.loop = this.run().catch((err: unknown) => {
      // run() handles every failure of a stream; reaching here is a bug, reported rather than thrown.
      this.log.error({ err: errorMessage(err) }, 'camera supervisor loop failed');
      this.setState('stopped');
    });
  }

  /**
   * Stops the camera and its ffmpeg (waits for a running onFrame to return). Idempotent. `stop`: grace
   * periods to end ffmpeg with, other than the supervisor's own (shutdown: `SHUTDOWN_STOP`). Resolves
   * with how ffmpeg was ended, or 'none' when none was running (between restarts, or never started).
   */
  stop(stop?: StopOptions): Promise<SupervisorStopOutcome> {
    const loop = this.loop;
    if (!loop) return Promise.resolve('none');
    this.stopping ??= (async () => {
      this.stopRequested = true;
      const running = this.abortAttempt !== undefined;
      this.abortAttempt?.(stop ? new StopRequest(stop) : undefined);
      this.wakeSleep?.();
      await loop;
      this.loop = undefined;
      this.stopping = undefined;
      this.nextAttemptAt = null;
      streamUp.set({ camera: this.cameraId }, 0);
      this.setState('stopped');
      this.log.info('camera stopped');
      this.notify('stopped', { cameraId: this.cameraId, at: Date.now() });
      return running ? (this.ffmpegOutcome ?? 'none') : 'none';
    })();
    return this.stopping;
  }

  status(): CameraStatus {
    const now = Date.now();
    return {
      cameraId: this.cameraId,
      state: this.state,
      since: this.since,
      lastFrameAt: this.lastFrameAt,
      framesReceived: this.received,
      framesDropped: this.dropped,
      restarts: this.restarts,
      fps: this.state === 'up' ? this.rate.perSecond(now) : 0,
      frameSize: this.frameSize,
      downReason: this.downReason,
      lastError: this.lastError,
      nextAttemptAt: this.nextAttemptAt,
    };
  }

  /** Emits to listeners; a throwing listener is logged, never allowed to break the camera loop. */
  private notify<K extends keyof CameraSupervisorEvents>(event: K, ...args: CameraSupervisorEvents[K]): void {
    try {
      // TypeScript cannot narrow the generic tuple; the signature of notify() carries the typing.
      (this.emit as (e: K, ...a: CameraSupervisorEvents[K]) => boolean)(event, ...args);
    } catch (err) {
      this.log.error({ event, err: errorMessage(err) }, 'camera event listener failed');
    }
  }

  private setState(state: CameraState): void {
    if (this.state === state) return;
    this.state = state;
    this.since = Date.now();
  }

  private async run(): Promise<void> {
    while (!this.stopRequested) {
      const result = await this.attempt();
      if (this.stopRequested) break;
      const delayMs = this.onFailure(result);
      await this.sleep(delayMs);
      if (this.stopRequested) break;
      const now = Date.now();
      this.restarts++;
      this.window.record(now);
      this.nextAttemptAt = null;
      streamRestarts.inc({ camera: this.cameraId, reason: result.reason });
      this.notify('restart', {
        cameraId: this.cameraId,
        at: now,
        reason: result.reason,
        attempt: this.failures,
        delayMs,
        restarts: this.restarts,
      });
    }
  }

  /** One ffmpeg, from start to its end. */
  private async attempt(): Promise<AttemptResult> {
    const controller = new AbortController();
    this.abortAttempt = (reason) => controller.abort(reason);
    this.ffmpegOutcome = undefined;
    let stalledAfterMs: number | undefined;
    let up = false;
    const startedAt = Date.now();
    const stall = (timeoutMs: number) => () => {
      stalledAfterMs = timeoutMs;
      this.log.warn(
        { timeoutMs, up },
        up
          ? 'no frame within the stall timeout: restarting ffmpeg'
          : 'no first frame in time: restarting ffmpeg',
      );
      controller.abort();
    };
    // The first frame gets the start grace on top (connect, probe, wait for a keyframe); after it, every
    // frame must follow the previous one within the stall timeout.
    const firstFrameMs = this.opts.stallTimeoutMs + (this.opts.startGraceMs ?? DEFAULT_START_GRACE_MS);
    const startWatchdog = new Watchdog(firstFrameMs, stall(firstFrameMs));
    const watchdog = new Watchdog(this.opts.stallTimeoutMs, stall(this.opts.stallTimeoutMs));
    // An opt-in decode mode reaches ffmpeg through the stream's process starter.
    const decode = this.opts.decode;
    const startProcess: Pick<CameraFramesOptions, 'startProcess'> =
      decode === undefined || decode === 'all'
        ? {}
        : { startProcess: (readOpts, hooks) => startFfmpeg({ ...readOpts, decode }, hooks) };
    if (this.state !== 'down') this.setState('starting');
    // A recorder that cannot prepare its folder costs the clips, never the frames.
    const sink = await this.opts.recorder?.begin().catch((err: unknown) => {
      this.log.warn({ err: errorMessage(err) }, 'stream recorder unavailable: no clips from this run');
      return undefined;
    });
    startWatchdog.arm();
    try {
      const frames = this.source({
        cameraId: this.cameraId,
        url: this.opts.url,
        fps: this.opts.fps,
        width: this.opts.width,
        ioTimeoutMs: this.opts.ioTimeoutMs ?? this.opts.stallTimeoutMs,
        signal: controller.signal,
        log: this.opts.log ?? logger(),
        ffmpegPath: this.opts.ffmpegPath,
        stop: this.opts.stop,
        onStopped: (outcome) => {
          this.ffmpegOutcome = outcome;
        },
        ...startProcess,
        ...(sink && { segments: { ...sink.output, onSegment: (line: string) => sink.onSegment(line) } }),
        onReceive: (frame) => {
          startWatchdog.disarm();
          watchdog.arm();
          this.onReceive(frame);
          if (!up) {
            up = true;
            this.markUp(frame, startedAt);
          }
        },
        onDrop: () => {
          this.dropped++;
        },
      });
      for await (const frame of frames) {
        await this.deliver(frame);
      }
      // The source returns without error only when aborted: by a watchdog or by stop().
      if (stalledAfterMs !== undefined) return this.stallResult(stalledAfterMs, up);
      return { reason: 'stream_ended' };
    } catch (err) {
      if (stalledAfterMs !== undefined) return this.stallResult(stalledAfterMs, up);
      return { reason: classify(err), error: err };
    } finally {
      startWatchdog.disarm();
      watchdog.disarm();
      this.abortAttempt = undefined;
      sink?.end();
    }
  }

  private stallResult(afterMs: number, up: boolean): AttemptResult {
    const message = `camera ${this.cameraId}: ${up ? 'no frame' : 'no first frame'} within ${afterMs} ms`;
    return {
      reason: 'stall',
      error: new AppError('stream_failed', message, { details: { cameraId: this.cameraId } }),
    };
  }

  private onReceive(frame: Frame): void {
    this.received++;
    this.lastFrameAt = frame.capturedAt;
    this.rate.record(frame.capturedAt);
    framesReceived.inc({ camera: this.cameraId });
  }

  private markUp(frame: Frame, startedAt: number): void {
    const now = Date.now();
    this.failures = 0; // frames flowed: the backoff starts over
    this.reportedDown = false;
    this.downReason = null;
    this.lastError = null;
    this.frameSize = { width: frame.width, height: frame.height };
    this.setState('up');
    streamUp.set({ camera: this.cameraId }, 1);
    const event: CameraUpEvent = {
      cameraId: this.cameraId,
      at: now,
      width: frame.width,
      height: frame.height,
      startupMs: now - startedAt,
      restarts: this.restarts,
    };
    this.log.info(
      { width: frame.width, height: frame.height, startupMs: event.startupMs, restarts: this.restarts },
      'camera up',
    );
    this.notify('up', event);
  }

  /** Records a failed stream; returns the delay before the next attempt. */
  private onFailure(result: AttemptResult): number {
    const now = Date.now();
    const wasUp = this.state === 'up';
    this.failures++;
    this.rate.reset();
    streamUp.set({ camera: this.cameraId }, 0);
    const error = result.error === undefined ? null : scrubSecrets(errorMessage(result.error), this.opts.url);
    const { delayMs, capped } = nextRestartDelay(
      this.policy,
      this.failures,
      this.window.recent(now),
      now,
      this.opts.random,
    );
    this.downReason = result.reason;
    this.lastError = error;
    this.nextAttemptAt = now + delayMs;
    this.setState('down');

    const stderr =
      isAppError(result.error) && Array.isArray(result.error.details?.['stderr'])
        ? (result.error.details['stderr'] as string[]).slice(-10)
        : undefined;
    const fields = {
      reason: result.reason,
      err: error,
      stderr,
      wasUp,
      failures: this.failures,
      nextAttemptInMs: delayMs,
    };
    if (capped) {
      this.log.warn(
        { ...fields, maxRestartsPerMinute: this.policy.maxRestartsPerMinute },
        'restart cap reached; waiting',
      );
    }
    if (!this.reportedDown) {
      this.reportedDown = true;
      this.log.warn(fields, 'camera down');
      this.notify('down', {
        cameraId: this.cameraId,
        at: now,
        reason: result.reason,
        error,
        lastFrameAt: this.lastFrameAt,
        restarts: this.restarts,
        nextAttemptInMs: delayMs,
      });
    } else {
      this.log.info(fields, 'camera still down');
    }
    return delayMs;
  }

  private async deliver(frame: Frame): Promise<void> {
    try {
      await this.opts.onFrame(frame);
    } catch (err) {
      this.consumerErrors++;
      const now = Date.now();
      if (now - this.lastConsumerErrorLogAt >= CONSUMER_ERROR_LOG_INTERVAL_MS) {
        this.lastConsumerErrorLogAt = now;
        this.log.error(
          { err: errorMessage(err), consumerErrors: this.consumerErrors },
          'onFrame failed; frame skipped',
        );
      }
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = setTimeout(done, ms);
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      this.wakeSleep = () => {
        this.wakeSleep = undefined;
        done();
      };
    });
  }
}
