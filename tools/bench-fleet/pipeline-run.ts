/**
 * `--mode pipeline`: the whole chain, in this process, with the project's own components: simulated RTSP
 * cameras → CameraSupervisor (ffmpeg) → the detector on its worker thread (SelfHealingDetector) →
 * CameraPipeline (tracker, rules, evidence, outbox) → BullMQ → the worker's record-violation handler →
 * PostgreSQL. Then the decode-only ceiling of the same streams with the same ffmpeg arguments.
 *
 * CPU is read from /proc (this process, its threads and its children) at the start and the end of the
 * measured window; the RTSP servers are children too but are the cameras, not the system, and are
 * reported apart.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Queue, type Worker } from 'bullmq';
import type { Config } from '../../core/config.js';
import { AppError, errorMessage } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import { listViolations } from '../../db/repositories/violation.repository.js';
import { createDetector, type Detector } from '../../detector/detector.js';
import { SelfHealingDetector } from '../../detector/self-healing-detector.js';
import type { Frame } from '../../ingest/camera-stream.js';
import { CameraSupervisor } from '../../ingest/camera-supervisor.js';
import {
  OutputSizeParser,
  startFfmpeg,
  type DecodeMode,
  type FfmpegProcess,
} from '../../ingest/ffmpeg-adapter.js';
import { stopProcess } from '../../ingest/process-control.js';
import { checkSimulatorPrerequisites } from '../../ingest/sim/simulated-fleet.js';
import { CameraPipeline, type FrameDetector } from '../../pipeline/camera-pipeline.js';
import { motionGateFromConfig } from '../../pipeline/motion-gate.js';
import { recordViolationHandler } from '../../pipeline/handlers/record-violation.handler.js';
import { Outbox } from '../../pipeline/outbox.js';
import type { RecordViolationPayload } from '../../pipeline/payloads.js';
import { Producer } from '../../pipeline/producer.js';
import { JobName, QueueName } from '../../pipeline/queues.js';
import { createRedis, waitForRedis } from '../../pipeline/redis.js';
import { startWorkers } from '../../pipeline/worker-host.js';
import { EvidenceStore } from '../../violations/evidence-store.js';
import { sleep } from './abort.js';
import { analysedFps, type BenchArgs } from './args.js';
import { cameraBitrateKbps, ensureBenchClip } from './clip.js';
import { createBenchDatabase } from './database.js';
import {
  busyCores,
  clockTicksPerSecond,
  cpuBetween,
  readLoadAverage,
  readProcessTree,
  readSystemCpu,
  readThreads,
  sumSeconds,
  type Classifier,
  type TreeSample,
} from './proc-cpu.js';
import { machineInfo, type MachineInfo } from './machine.js';
import {
  benchScene,
  Closers,
  deletePrefix,
  registerCameras,
  startBenchCameras,
  uniquePrefix,
  type BenchCameraRow,
} from './setup.js';
import {
  capacity,
  cpuShares,
  decodeCamerasPerCore,
  firstAtOrAfter,
  round,
  summarizeLatencies,
  type Capacity,
  type LatencySummary,
} from './stats.js';

export interface CameraFigures {
  code: string;
  received: number;
  processed: number;
  dropped: number;
  processed_fps: number;
}

export interface DecodeCeiling {
  duration_s: number;
  cpu_s: number;
  cameras_per_core: number;
  frames: number;
  frames_expected: number;
}

export interface PipelineReport {
  schema: 'phat-nguoi/bench-fleet@1';
  mode: 'pipeline';
  started_at: string;
  finished_at: string;
  machine: MachineInfo & { load_average_start: number[]; load_average_end: number[]; busy_cores: number };
  config: {
    cameras: number;
    fps: number;
    analysed_fps: number;
    duration_s: number;
    warmup_s: number;
    resolution: string;
    source_fps: number;
    keyframe_interval_s: number;
    decode: DecodeMode;
    analysed_width: number;
    model: string;
    detector_provider: string;
    clip: { path: string; origin: string; bitrate_kbps: number | null };
    database: string;
    queue_prefix: string;
  };
  cameras_per_core: number;
  sustained: boolean;
  capacity: Capacity;
  decode_ceiling: DecodeCeiling | null;
  ratio_to_decode_ceiling: number | null;
  cpu: {
    system_s: number;
    decode_s: number;
    /** CPU of the detector's threads (/proc), or the detector timings when the threads are unknown. */
    inference_s: number;
    inference_source: 'detector threads' | 'detector timings';
    /** Sum of the detector's own timings (preprocess + inference + postprocess): wall time in its thread. */
    inference_timings_s: number;
    rest_s: number;
    simulator_s: number;
    shares: { decode: number; inference: number; rest: number };
  };
  frames: {
    expected: number;
    received: number;
    processed: number;
    /** Of the processed frames, those answered by the motion gate (INGEST_MOTION_GATE=on), not the detector. */
    motion_gated: number;
    dropped: number;
    detect_errors: number;
    restarts: number;
    per_camera: CameraFigures[];
  };
  violations: {
    flagged: number;
    recorded: number;
    measured: number;
    latency_ms: LatencySummary;
    latency_from_observed_at_ms: LatencySummary;
    note: string;
  };
}

interface CameraRun {
  row: BenchCameraRow;
  supervisor: CameraSupervisor;
  pipeline: CameraPipeline;
  /** Capture times of the frames the pipeline analysed, in order. */
  analysedAt: number[];
  detectErrors: number;
}

interface Counters {
  received: number;
  dropped: number;
  processed: number;
  gated: number;
  detectErrors: number;
  restarts: number;
}

export interface RunContext {
  config: Config;
  log: Logger;
  /** One progress line (stderr). */
  progress: (line: string) => void;
}

function counters(run: CameraRun): Counters {
  const s = run.supervisor.status();
  return {
    received: s.framesReceived,
    dropped: s.framesDropped,
    processed: run.pipeline.processed,
    gated: run.pipeline.gateSkipped,
    detectErrors: run.detectErrors,
    restarts: s.restarts,
  };
}

/** Waits until `done()` or `timeoutMs`, printing `line()` every `everyMs`. */
async function waitFor(
  done: () => boolean | Promise<boolean>,
  timeoutMs: number,
  what: string,
  tick?: () => void,
): Promise<void> {
  const end = Date.now() + timeoutMs;
  let lastTick = Date.now();
  while (!(await done())) {
    if (Date.now() > end)
      throw new AppError('dependency_down', `timed out after ${timeoutMs} ms waiting for ${what}`);
    if (tick && Date.now() - lastTick >= 5000) {
      lastTick = Date.now();
      tick();
    }
    await sleep(200);
  }
}

export async function runPipelineBench(args: BenchArgs, ctx: RunContext): Promise<PipelineReport> {
  const { config, log, progress } = ctx;
  const startedAt = new Date();
  const tps = clockTicksPerSecond();
  const loadStart = readLoadAverage();
  const closers = new Closers(log);
  try {
    const pre = await checkSimulatorPrerequisites({
      ffmpegPath: config.FFMPEG_PATH,
      python: config.SIM_PYTHON,
    });
    if (!pre.ok) throw new AppError('dependency_down', pre.reason, { permanent: true });

    progress(
      `clip ${args.width}x${args.height} at ${args.sourceFps} fps (encoded once, cached under DATA_DIR/sim)`,
    );
    const clip = await ensureBenchClip({
      dataDir: config.dataDir,
      sharedDir: path.resolve(config.SHARED_DIR),
      log,
      ffmpegPath: config.FFMPEG_PATH,
      spec: {
        width: args.width,
        height: args.height,
        fps: args.sourceFps,
        keyframeIntervalS: args.keyframeIntervalS,
        bitrateKbps: cameraBitrateKbps(args.width, args.height, args.sourceFps),
      },
    });
    const keyframeIntervalS = clip.spec.keyframeIntervalS;
    const aFps = analysedFps(args.fps, args.decode, 1 / keyframeIntervalS);

    progress(`serving ${args.cameras} simulated RTSP cameras`);
    const cams = await startBenchCameras({ count: args.cameras, clip: clip.path, log });
    closers.add('simulated cameras', () => cams.stop());

    const bdb = await createBenchDatabase({ choice: args.db, log, poolMax: 4 });
    closers.add('database', () => bdb.drop());
    const rows = await registerCameras(bdb.database.db, cams.urls, benchScene());
    const scene = benchScene();

    const prefix = uniquePrefix();
    const redis = createRedis(config.REDIS_URL, 'producer');
    await waitForRedis(redis, 10_000);
    closers.add('redis', () => redis.quit());
    closers.add('queue keys', () => deletePrefix(redis, prefix));
    const workerRedis = createRedis(config.REDIS_URL, 'worker');
    closers.add('worker redis', () => workerRedis.quit());
    const producer = new Producer(redis, prefix);
    closers.add('producer', () => producer.close());

    const evidenceDir = await fs.mkdtemp(path.join(os.tmpdir(), 'pn-bench-evidence-'));
    closers.add('evidence', () => fs.rm(evidenceDir, { recursive: true, force: true }));
    const store = new EvidenceStore(evidenceDir);
    const workers: Worker[] = startWorkers({
      connection: workerRedis,
      prefix,
      log,
      concurrency: config.WORKER_CONCURRENCY,
      handlers: [
        {
          name: JobName.RecordViolation,
          handle: recordViolationHandler({ db: bdb.database.db, store, log }),
        },
      ],
    });
    closers.add('workers', () => Promise.all(workers.map((w) => w.close())));
    const outbox = new Outbox<RecordViolationPayload>((p) => producer.recordViolation(p), log);
    closers.add('outbox', () => outbox.stop());

    progress(`loading the detector (${config.DETECTOR_MODEL}, ${config.DETECTOR_PROVIDER})`);
    const threadsBefore = readThreads();
    let raw: Detector | undefined;
    const healing = await SelfHealingDetector.start(async () => {
      raw = await createDetector({
        modelName: config.DETECTOR_MODEL,
        ...(config.DETECTOR_MODEL_VERSION === undefined
          ? {}
          : { modelVersion: config.DETECTOR_MODEL_VERSION }),
        provider: config.DETECTOR_PROVIDER,
        cudaDevice: config.DETECTOR_CUDA_DEVICE,
        threads: config.DETECTOR_THREADS,
        scoreThreshold: config.DETECTOR_SCORE_THRESHOLD,
        maxQueue: Math.max(2, args.cameras),
        log,
      });
      return raw;
    }, log);
    closers.add('detector', () => healing.close());
    // The threads the detector started (its worker thread, onnxruntime's): their CPU is inference's.
    const detectorTids = [...readThreads().keys()].filter((t) => !threadsBefore.has(t));
    const timings = { frames: 0, ms: 0 };
    const detector: FrameDetector = {
      get modelName() {
        return healing.modelName;
      },
      async detect(frame) {
        const detections = await healing.detect(frame);
        const t = raw?.lastTimings;
        if (t) {
          timings.frames += 1;
          timings.ms += t.preprocessMs + t.inferenceMs + t.postprocessMs;
        }
        return detections;
      },
    };

    const runs: CameraRun[] = rows.map((row) => {
      const pipeline = new CameraPipeline({
        camera: { id: row.id, code: row.code, name: row.name, location: null },
        scene,
        sceneConfigVersion: row.sceneVersion,
        detector,
        store,
        outbox,
        log: log.child({ camera: row.code }),
        workerId: `bench-fleet:${process.pid}`,
        motionGate: motionGateFromConfig(config),
      });
      const run: CameraRun = { row, pipeline, analysedAt: [], detectErrors: 0, supervisor: undefined! };
      run.supervisor = new CameraSupervisor({
        cameraId: row.code,
        url: row.url,
        fps: args.fps,
        width: args.analysedWidth,
        stallTimeoutMs: config.INGEST_STALL_TIMEOUT_MS,
        backoffMinMs: config.INGEST_BACKOFF_MIN_MS,
        backoffMaxMs: config.INGEST_BACKOFF_MAX_MS,
        maxRestartsPerMinute: config.INGEST_MAX_RESTARTS_PER_MINUTE,
        decode: args.decode,
        ffmpegPath: config.FFMPEG_PATH,
        log: log.child({ camera: row.code }),
        onFrame: async (frame: Frame) => {
          const before = pipeline.processed;
          try {
            await pipeline.onFrame(frame);
          } catch (err) {
            run.detectErrors += 1;
            throw err;
          }
          if (pipeline.processed > before) run.analysedAt.push(frame.capturedAt);
        },
      });
      return run;
    });
    closers.add('cameras', () => Promise.all(runs.map((r) => r.supervisor.stop())));

    progress(
      `starting ${runs.length} cameras (decode ${args.decode}, ${args.fps} fps → analysed ${round(aFps, 3)} fps)`,
    );
    for (const r of runs) r.supervisor.start();
    const upCount = () => runs.filter((r) => r.supervisor.status().state === 'up').length;
    await waitFor(
      () => upCount() === runs.length,
      60_000 + runs.length * 500,
      'every camera up',
      () => progress(`cameras up ${upCount()}/${runs.length}`),
    );
    progress(`all cameras up; warming up ${args.warmupS} s`);
    await sleep(args.warmupS * 1000);

    // The measured window.
    const simPids = new Set(cams.pids);
    const classify: Classifier = (p, root) => {
      if (p.pid === root) return { own: 'main', reaped: 'decode' }; // this process reaps only ffmpeg
      if (simPids.has(p.pid)) return { own: 'simulator', reaped: 'simulator' };
      if (p.comm === 'ffmpeg') return { own: 'decode', reaped: 'decode' };
      return { own: 'other', reaped: 'other' };
    };
    const snap = () => ({
      tree: readProcessTree(),
      threads: readThreads(),
      sys: readSystemCpu(),
      wall: Date.now(),
      cams: runs.map(counters),
      timingsMs: timings.ms,
      flagged: runs.reduce((n, r) => n + r.pipeline.flagged, 0),
    });
    const start = snap();
    const windowMs = args.durationS * 1000;
    const windowStart = performance.now();
    let lastLine = windowStart;
    while (performance.now() - windowStart < windowMs) {
      await sleep(Math.min(500, Math.max(0, windowMs - (performance.now() - windowStart))));
      if (performance.now() - lastLine >= 5000) {
        lastLine = performance.now();
        const now = snap();
        progress(progressLine(start, now, runs.length, upCount(), classify, tps));
      }
    }
    const end = snap();
    const cpu = cpuBetween(start.tree, end.tree, classify, tps);
    const elapsedS = (end.tree.atMs - start.tree.atMs) / 1000;
    const loadEnd = readLoadAverage();

    // Let acts seen inside the window finish (the "after" still comes ~1 s later), then stop and drain.
    progress('window over; letting the last violations through');
    await sleep(4000);
    await Promise.all(runs.map((r) => r.supervisor.stop()));
    const queue = new Queue(QueueName.Violations, { connection: redis, prefix });
    closers.add('queue', () => queue.close());
    await waitFor(
      async () => {
        const c = await queue.getJobCounts('waiting', 'active', 'delayed', 'prioritized');
        return outbox.size === 0 && Object.values(c).every((n) => n === 0);
      },
      30_000,
      'the violation queue to drain',
    ).catch((err: unknown) => log.warn({ err: errorMessage(err) }, 'queue did not drain'));

    // Frame-to-row latency of acts whose frame was captured inside the window.
    const latencies: number[] = [];
    const fromObserved: number[] = [];
    let recorded = 0;
    for (const r of runs) {
      const page = await listViolations(bdb.database.db, { cameraId: r.row.id, limit: 500 });
      recorded += page.items.length;
      for (const v of page.items) {
        const observed = v.observedAt.getTime();
        const actFrame = firstAtOrAfter(r.analysedAt, observed);
        if (actFrame === undefined || actFrame < start.wall || actFrame > end.wall) continue;
        latencies.push(v.createdAt.getTime() - actFrame);
        fromObserved.push(v.createdAt.getTime() - observed);
      }
    }

    const perCamera: CameraFigures[] = runs.map((r, i) => {
      const a = start.cams[i]!;
      const b = end.cams[i]!;
      return {
        code: r.row.code,
        received: b.received - a.received,
        processed: b.processed - a.processed,
        dropped: b.dropped - a.dropped,
        processed_fps: round((b.processed - a.processed) / elapsedS, 3),
      };
    });
    const sum = (k: keyof Counters) => runs.reduce((n, _r, i) => n + end.cams[i]![k] - start.cams[i]![k], 0);
    const processed = sum('processed');
    const simulatorS = cpu['simulator'] ?? 0;
    const systemS = sumSeconds(cpu) - simulatorS;
    const decodeS = cpu['decode'] ?? 0;
    const timingsS = (end.timingsMs - start.timingsMs) / 1000;
    const inferenceThreadS =
      detectorTids.length > 0
        ? detectorTids.reduce((n, t) => n + ((end.threads.get(t) ?? 0) - (start.threads.get(t) ?? 0)), 0) /
          tps
        : null;
    // The timings are wall time inside the worker: on a shared CPU they include waiting to run. The
    // detector threads' CPU is what inference cost; the timings stand in only when the threads are unknown.
    const inferenceS = inferenceThreadS ?? timingsS;
    const cap = capacity({
      cameras: runs.length,
      analysedFps: aFps,
      durationS: elapsedS,
      framesProcessed: processed,
      cpuSeconds: systemS,
    });

    // The decode-only ceiling: the same ffmpeg arguments on the same streams, output discarded.
    let ceiling: DecodeCeiling | null = null;
    if (args.ceilingDurationS > 0) {
      progress(`decode-only ceiling: ${runs.length} ffmpeg, same arguments, ${args.ceilingDurationS} s`);
      ceiling = await decodeCeiling({
        urls: cams.urls,
        fps: args.fps,
        analysedFps: aFps,
        width: args.analysedWidth,
        decode: args.decode,
        durationS: args.ceilingDurationS,
        warmupS: Math.min(args.warmupS, 5),
        ffmpegPath: config.FFMPEG_PATH,
        tps,
      });
    }

    return {
      schema: 'phat-nguoi/bench-fleet@1',
      mode: 'pipeline',
      started_at: startedAt.toISOString(),
      finished_at: new Date().toISOString(),
      machine: {
        ...(await machineInfo(config.FFMPEG_PATH)),
        load_average_start: loadStart,
        load_average_end: loadEnd,
        busy_cores: round(busyCores(start.sys, end.sys, elapsedS, tps), 3),
      },
      config: {
        cameras: runs.length,
        fps: args.fps,
        analysed_fps: round(aFps, 3),
        duration_s: round(elapsedS, 2),
        warmup_s: args.warmupS,
        resolution: `${args.width}x${args.height}`,
        source_fps: args.sourceFps,
        keyframe_interval_s: round(keyframeIntervalS, 3),
        decode: args.decode,
        analysed_width: args.analysedWidth,
        model: healing.modelName,
        detector_provider: healing.provider,
        clip: { path: clip.path, origin: clip.origin, bitrate_kbps: clip.spec.bitrateKbps },
        database: bdb.kind,
        queue_prefix: prefix,
      },
      cameras_per_core: cap.cameras_per_core,
      sustained: cap.sustained,
      capacity: cap,
      decode_ceiling: ceiling,
      ratio_to_decode_ceiling:
        ceiling && Number.isFinite(ceiling.cameras_per_core)
          ? round(cap.cameras_per_core / ceiling.cameras_per_core, 3)
          : null,
      cpu: {
        system_s: round(systemS, 2),
        decode_s: round(decodeS, 2),
        inference_s: round(inferenceS, 2),
        inference_source: inferenceThreadS === null ? 'detector timings' : 'detector threads',
        inference_timings_s: round(timingsS, 2),
        rest_s: round(Math.max(0, systemS - decodeS - inferenceS), 2),
        simulator_s: round(simulatorS, 2),
        shares: cpuShares(systemS, decodeS, inferenceS),
      },
      frames: {
        expected: cap.expected_frames,
        received: sum('received'),
        processed,
        motion_gated: sum('gated'),
        dropped: sum('dropped'),
        detect_errors: sum('detectErrors'),
        restarts: sum('restarts'),
        per_camera: perCamera,
      },
      violations: {
        flagged: runs.reduce((n, r) => n + r.pipeline.flagged, 0),
        recorded,
        measured: latencies.length,
        latency_ms: summarizeLatencies(latencies),
        latency_from_observed_at_ms: summarizeLatencies(fromObserved),
        note: 'latency_ms runs from the capture time (arrival from ffmpeg) of the analysed frame in which the act was seen to the violation row created_at; the engine waits about 1 s after the act for the "after" still by design, so about 1 s of it is that wait. Only acts whose frame fell inside the measured window count.',
      },
    };
  } finally {
    await closers.closeAll();
  }
}

function progressLine(
  start: { tree: TreeSample; cams: Counters[]; flagged: number },
  now: { tree: TreeSample; cams: Counters[]; flagged: number },
  cameras: number,
  up: number,
  classify: Classifier,
  tps: number,
): string {
  const s = (now.tree.atMs - start.tree.atMs) / 1000;
  const d = (k: keyof Counters) => now.cams.reduce((n, c, i) => n + c[k] - start.cams[i]![k], 0);
  const cpu = cpuBetween(start.tree, now.tree, classify, tps);
  const system = sumSeconds(cpu) - (cpu['simulator'] ?? 0);
  return (
    `t=${s.toFixed(0)}s up ${up}/${cameras} · received ${(d('received') / s).toFixed(2)} fps` +
    ` · processed ${(d('processed') / s).toFixed(2)} fps · dropped ${d('dropped')}` +
    ` · cpu ${(system / s).toFixed(2)} cores (decode ${((cpu['decode'] ?? 0) / s).toFixed(2)})` +
    ` · violations flagged ${now.flagged - start.flagged}`
  );
}

/** The decode-only ceiling: ffmpeg per stream with the same arguments, stdout read and discarded. */
export async function decodeCeiling(opts: {
  urls: readonly string[];
  fps: number;
  analysedFps: number;
  width: number;
  decode: DecodeMode;
  durationS: number;
  warmupS: number;
  ffmpegPath: string | undefined;
  tps: number;
}): Promise<DecodeCeiling> {
  const procs: { proc: FfmpegProcess; bytes: number; parser: OutputSizeParser }[] = [];
  try {
    for (const url of opts.urls) {
      const parser = new OutputSizeParser();
      const proc = await startFfmpeg(
        {
          url,
          fps: opts.fps,
          width: opts.width,
          ioTimeoutMs: 10_000,
          decode: opts.decode,
          ffmpegPath: opts.ffmpegPath,
        },
        { onStderrLine: (line) => void parser.feed(line) },
      );
      const entry = { proc, bytes: 0, parser };
      proc.stdout.on('data', (chunk: Buffer) => {
        entry.bytes += chunk.length; // discarded
      });
      procs.push(entry);
    }
    const frames = () =>
      procs.reduce((n, p) => {
        const size = p.parser.size;
        return n + (size ? Math.floor(p.bytes / (size.width * size.height * 3)) : 0);
      }, 0);
    const allFlowing = () =>
      procs.every((p) => p.parser.size && p.bytes >= p.parser.size.width * p.parser.size.height * 3);
    await waitFor(
      () => {
        const gone = procs.find((p) => p.proc.exitStatus() !== undefined);
        if (gone) throw new AppError('stream_failed', 'an ffmpeg of the decode-only run ended early');
        return allFlowing();
      },
      60_000,
      'every decode-only ffmpeg to deliver a frame',
    );
    await sleep(opts.warmupS * 1000);
    const pids = new Set(procs.map((p) => p.proc.pid));
    const classify: Classifier = (p, root) => {
      if (p.pid === root) return { own: 'main', reaped: 'decode' };
      if (pids.has(p.pid)) return { own: 'decode', reaped: 'decode' };
      return { own: 'other', reaped: 'other' };
    };
    const a = readProcessTree();
    const framesA = frames();
    await sleep(opts.durationS * 1000);
    const b = readProcessTree();
    const framesB = frames();
    const seconds = (b.atMs - a.atMs) / 1000;
    const cpuS = cpuBetween(a, b, classify, opts.tps)['decode'] ?? 0;
    return {
      duration_s: round(seconds, 2),
      cpu_s: round(cpuS, 2),
      cameras_per_core: decodeCamerasPerCore(procs.length, cpuS, seconds),
      frames: framesB - framesA,
      frames_expected: Math.round(procs.length * opts.analysedFps * seconds),
    };
  } finally {
    await Promise.all(procs.map((p) => stopProcess(p.proc)));
  }
}
