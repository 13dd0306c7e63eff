/**
 * Runs seeded scenarios through the real chain, exactly as a camera is run: the rendered clip served
 * over RTSP by the simulated fleet (GStreamer) → CameraSupervisor (ffmpeg) → CameraPipeline with the
 * real detector and plate reader (tracker, rules, evidence, signed manifests) → outbox → BullMQ → the
 * worker's record-violation handler → PostgreSQL (a throwaway database). Then every recorded violation is
 * matched to the ground truth and every evidence bundle re-verified.
 *
 * The RTSP server loops its clip from the moment it starts; each frame carries its clip frame number
 * (timecode.ts), which maps the pipeline's capture times to clip seconds. A scenario is evaluated over
 * one pass of its clip: frames are fed from the first one received until the clip wraps round.
 */
import { generateKeyPairSync } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Queue, type Worker } from 'bullmq';
import type { Config } from '../../core/config.js';
import { AppError, errorMessage, isAppError } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import { upsertCameraByCode } from '../../db/repositories/camera.repository.js';
import { addSceneConfigVersion } from '../../db/repositories/scene-config.repository.js';
import { getViolationById, listViolations } from '../../db/repositories/violation.repository.js';
import type { JsonObject } from '../../db/schema.js';
import { createDetector } from '../../detector/detector.js';
import { createPlateReader, type PlateReader } from '../../detector/plates/plate-reader.js';
import type { Frame } from '../../ingest/camera-stream.js';
import { CameraSupervisor } from '../../ingest/camera-supervisor.js';
import { checkSimulatorPrerequisites, startSimulatedFleet } from '../../ingest/sim/simulated-fleet.js';
import { CameraPipeline } from '../../pipeline/camera-pipeline.js';
import { motionGateFromConfig } from '../../pipeline/motion-gate.js';
import { recordViolationHandler } from '../../pipeline/handlers/record-violation.handler.js';
import { Outbox } from '../../pipeline/outbox.js';
import type { RecordViolationPayload } from '../../pipeline/payloads.js';
import { Producer } from '../../pipeline/producer.js';
import { JobName, QueueName } from '../../pipeline/queues.js';
import { createRedis, waitForRedis } from '../../pipeline/redis.js';
import { startWorkers } from '../../pipeline/worker-host.js';
import { evidenceSignerFromKey } from '../../violations/evidence-signature.js';
import { EvidenceStore } from '../../violations/evidence-store.js';
import { verifyEvidence } from '../../violations/evidence-verify.js';
import { MAX_DETECTION_TILES, parseSceneConfig, type SceneConfig } from '../../violations/scene-config.js';
import { sleep } from '../bench-fleet/abort.js';
import { createBenchDatabase, type BenchDatabase } from '../bench-fleet/database.js';
import { Closers, deletePrefix, uniquePrefix } from '../bench-fleet/setup.js';
import { machineInfo, type MachineInfo } from '../bench-fleet/machine.js';
import {
  COVERED_RULES,
  generateScenario,
  SPEED_TOLERANCE_KMH,
  type ScenarioSpec,
  type TruthAct,
} from './generate.js';
import {
  accumulate,
  emptyFigures,
  finish,
  matchScenario,
  type RecordedRow,
  type RowVerdict,
  type RuleFigures,
} from './match.js';
import { renderScenario } from './render.js';
import { deriveSeed } from './prng.js';
import { listPhotos, usablePhotos, type PhotoEntry } from './sprites.js';
import { readTimecode } from './timecode.js';
import { clipFrames } from './clip-frames.js';

export interface EvalArgs {
  seed: number;
  count: number;
  out: string | undefined;
  rules: string[] | undefined;
  keep: boolean;
  concurrency: number;
  fps: number;
  width: number;
  durationS: number;
  db: 'auto' | 'postgres' | 'embedded';
  plates: boolean;
  /**
   * Decode the clip file frame for frame at the analysed rate and wait for each frame's evidence
   * (no RTSP, no real-time, no frame lost to a busy CPU): measures the models and the rules, not the
   * machine. The real-time chain is the default.
   */
  replay: boolean;
  /**
   * Give the detector the scenes' zoom windows (`detectionTiles`, drawn over the far end of each road's
   * speed gate); false runs the same scenes on the whole frame alone, for a side-by-side comparison.
   */
  tiles: boolean;
  /** Metres added to each road gate's entry line (GenerateOptions.gateLengthenM). */
  gateLengthenM: number;
}

export interface ScenarioOutcome {
  id: string;
  seed: number;
  site: string;
  signal: string | null;
  clip: string;
  truth: number;
  recorded: number;
  frames: {
    received: number;
    analysed: number;
    unreadable_timecode: number;
    /** Analysed frames answered by the motion gate (INGEST_MOTION_GATE=on) instead of the detector. */
    motion_gated: number;
    clip_from_s: number;
    clip_to_s: number;
  };
  verdicts: {
    id: number;
    rule: string;
    at_s: number;
    plate: string | null;
    verdict: RowVerdict['kind'];
    act: number | null;
    /** The matched act's vehicle and variant (`details.kind`: wrong_lane `half` or `class`), if any. */
    vehicle: string | null;
    kind: string | null;
    /** Speeding rows matched to an act: the speed the engine measured and the vehicle's true speed. */
    measured_kmh?: number;
    truth_kmh?: number;
  }[];
  missed: { rule: string; vehicle: string; plate: string; at_s: number; kind: string | null }[];
  plates_wrong: { rule: string; expected: string; read: string | null }[];
  bundles: { verified: number; failed: { id: number; problems: string[] }[] };
  error: string | null;
}

export interface EvalReport {
  schema: 'phat-nguoi/eval-scenarios@1';
  command: string;
  started_at: string;
  finished_at: string;
  machine: MachineInfo;
  config: {
    seed: number;
    count: number;
    fps: number;
    analysed_width: number;
    clip: string;
    rules: string[];
    database: string;
    plates: boolean;
    plate_models: string | null;
    /** `rtsp` (real time, the default) or `replay` (the clip file, every analysed frame, see EvalArgs). */
    source: 'rtsp' | 'replay';
    detector_model: string;
    /** Whether the scenes' zoom windows were used (EvalArgs.tiles). */
    detection_tiles: boolean;
    /** Metres added to each road gate's entry line (EvalArgs.gateLengthenM). */
    gate_lengthen_m: number;
  };
  precision: number | null;
  recall: number | null;
  n: number;
  plate_exact: number | null;
  duplicates: number;
  false_flags: number;
  bundles_verified: number;
  bundles_failed: number;
  per_rule: Record<string, RuleFigures>;
  not_covered: string[];
  /** Matched speeding rows: measured against true speed (speedMeasurement). */
  speed_measurement: ReturnType<typeof speedMeasurement>;
  scenarios: ScenarioOutcome[];
}

export interface EvalContext {
  config: Config;
  log: Logger;
  progress: (line: string) => void;
  command: string;
}

interface Shared {
  db: BenchDatabase;
  store: EvidenceStore;
  evidenceDir: string;
  outbox: Outbox<RecordViolationPayload>;
  detector: Awaited<ReturnType<typeof createDetector>>;
  plateReader: PlateReader | undefined;
  signer: ReturnType<typeof evidenceSignerFromKey>;
  config: Config;
  log: Logger;
  queue: Queue;
}

/** Photos for sprites, or a clear reason why there are none. */
async function spritePool(sharedDir: string): Promise<Map<string, PhotoEntry>> {
  const photos = await usablePhotos(await listPhotos(sharedDir));
  if (photos.length === 0) {
    throw new AppError(
      'dependency_down',
      `no vehicle photos under ${path.join(sharedDir, 'data', 'plates-endtoend')} (set SHARED_DIR): the scenarios need them`,
      { permanent: true },
    );
  }
  return new Map(photos.map((p) => [p.id, p]));
}

/** The scenario specs of a run: scenario k has seed deriveSeed(seed, k + 1) (k = 0 is seed itself). */
export function scenarioSeeds(seed: number, count: number): number[] {
  return Array.from({ length: count }, (_, k) => (k === 0 ? seed : deriveSeed(seed, k)));
}

export async function runEvaluation(args: EvalArgs, ctx: EvalContext): Promise<EvalReport> {
  const { config, log, progress } = ctx;
  const startedAt = new Date();
  const closers = new Closers(log);
  try {
    const pre = args.replay
      ? ({ ok: true } as const)
      : await checkSimulatorPrerequisites({ ffmpegPath: config.FFMPEG_PATH, python: config.SIM_PYTHON });
    if (!pre.ok) throw new AppError('dependency_down', pre.reason, { permanent: true });
    const photos = await spritePool(path.resolve(config.SHARED_DIR));
    const ids = [...photos.keys()];
    const specs = scenarioSeeds(args.seed, args.count).map((s) =>
      generateScenario(s, { photos: ids, durationS: args.durationS, gateLengthenM: args.gateLengthenM }),
    );
    const rules = args.rules ?? [...COVERED_RULES];
    for (const spec of specs) spec.truth = spec.truth.filter((t) => rules.includes(t.rule));

    progress(`rendering ${specs.length} clips (cached under ${path.join(config.dataDir, 'scenarios')})`);
    const clips: string[] = [];
    for (const [i, spec] of specs.entries()) {
      const t0 = Date.now();
      clips.push(
        await renderScenario({ spec, photos, dataDir: config.dataDir, ffmpegPath: config.FFMPEG_PATH }),
      );
      progress(`clip ${i + 1}/${specs.length} ${spec.id} ready (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
    }

    const db = await createBenchDatabase({ choice: args.db, log, poolMax: 4 });
    closers.add('database', () => (args.keep ? undefined : db.drop()));
    if (args.keep) progress(`--keep: the database stays (${db.url.replace(/\/\/[^@]*@/, '//')})`);
    const prefix = uniquePrefix().replace('bench', 'eval');
    const redis = createRedis(config.REDIS_URL, 'producer');
    await waitForRedis(redis, 10_000);
    closers.add('redis', () => redis.quit());
    closers.add('queue keys', () => deletePrefix(redis, prefix));
    const workerRedis = createRedis(config.REDIS_URL, 'worker');
    closers.add('worker redis', () => workerRedis.quit());
    const producer = new Producer(redis, prefix);
    closers.add('producer', () => producer.close());
    const evidenceDir = await fs.mkdtemp(path.join(os.tmpdir(), 'pn-eval-evidence-'));
    closers.add('evidence', () =>
      args.keep ? undefined : fs.rm(evidenceDir, { recursive: true, force: true }),
    );
    const store = new EvidenceStore(evidenceDir);
    const workers: Worker[] = startWorkers({
      connection: workerRedis,
      prefix,
      log,
      concurrency: config.WORKER_CONCURRENCY,
      handlers: [
        { name: JobName.RecordViolation, handle: recordViolationHandler({ db: db.database.db, store, log }) },
      ],
    });
    closers.add('workers', () => Promise.all(workers.map((w) => w.close())));
    const outbox = new Outbox<RecordViolationPayload>((p) => producer.recordViolation(p), log);
    closers.add('outbox', () => outbox.stop());
    const queue = new Queue(QueueName.Violations, { connection: redis, prefix });
    closers.add('queue', () => queue.close());

    progress(`loading the detector (${config.DETECTOR_MODEL}) and the plate reader`);
    const detector = await createDetector({
      modelName: config.DETECTOR_MODEL,
      ...(config.DETECTOR_MODEL_VERSION === undefined ? {} : { modelVersion: config.DETECTOR_MODEL_VERSION }),
      provider: config.DETECTOR_PROVIDER,
      cudaDevice: config.DETECTOR_CUDA_DEVICE,
      threads: config.DETECTOR_THREADS,
      scoreThreshold: config.DETECTOR_SCORE_THRESHOLD,
      // Two frames in flight per scenario, each with its zoom windows.
      maxQueue: Math.max(4, args.concurrency * 2 * (1 + MAX_DETECTION_TILES)),
      log,
    });
    closers.add('detector', () => detector.close());
    const makeReader = (ppocrOnly: boolean) =>
      createPlateReader({
        provider: config.DETECTOR_PROVIDER,
        cudaDevice: config.DETECTOR_CUDA_DEVICE,
        threads: config.DETECTOR_THREADS,
        maxQueue: 64,
        log,
        ...(ppocrOnly ? { plateModel: null } : {}),
      });
    let plateReader: PlateReader | undefined;
    if (args.plates) {
      try {
        plateReader = await makeReader(false);
      } catch (err) {
        // The whole-plate recogniser is optional: without its model the reader is PP-OCR alone.
        if (!isAppError(err) || err.code !== 'model_invalid') throw err;
        progress(`plate reader: ${err.message}; reading plates with PP-OCR alone`);
        plateReader = await makeReader(true);
      }
    }
    if (plateReader) closers.add('plate reader', () => plateReader.close());
    const { privateKey } = generateKeyPairSync('ed25519');
    const signer = evidenceSignerFromKey({ pem: privateKey.export({ type: 'pkcs8', format: 'pem' }) });
    const shared: Shared = {
      db,
      store,
      evidenceDir,
      outbox,
      detector,
      plateReader,
      signer,
      config,
      log,
      queue,
    };

    const outcomes: ScenarioOutcome[] = new Array(specs.length);
    let next = 0;
    let done = 0;
    const lane = async () => {
      for (;;) {
        const i = next++;
        if (i >= specs.length) return;
        const spec = specs[i]!;
        const outcome = await runOne(spec, clips[i]!, i, args, shared).catch(
          (err: unknown): ScenarioOutcome => ({
            ...emptyOutcome(spec, clips[i]!),
            error: errorMessage(err),
          }),
        );
        outcomes[i] = outcome;
        done += 1;
        const m = outcome.verdicts.filter((v) => v.verdict === 'match').length;
        progress(
          `scenario ${done}/${specs.length} ${spec.id}${spec.signal ? ` (${spec.signal.kind})` : ''}: truth ${outcome.truth}, recorded ${outcome.recorded}, matched ${m}, false ${outcome.verdicts.filter((v) => v.verdict === 'false').length}, duplicates ${outcome.verdicts.filter((v) => v.verdict === 'duplicate').length}, plates wrong ${outcome.plates_wrong.length}, frames ${outcome.frames.analysed}${outcome.error ? `, ERROR ${outcome.error}` : ''}`,
        );
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, Math.min(args.concurrency, specs.length)) }, lane));

    // Figures.
    const perRule = new Map<string, RuleFigures>(rules.map((r) => [r, emptyFigures()]));
    for (const [i, spec] of specs.entries()) {
      const o = outcomes[i]!;
      const rows: RecordedRow[] = o.verdicts.map((v) => ({
        id: v.id,
        rule: v.rule,
        atS: v.at_s,
        plate: v.plate,
        trackKey: '',
      }));
      accumulate(perRule, spec.truth, matchScenario(spec.truth, rows));
    }
    const figures = Object.fromEntries([...perRule.entries()].map(([k, f]) => [k, finish(f)]));
    const total = finish(
      [...perRule.values()].reduce((a, f) => {
        const s = emptyFigures();
        for (const k of ['n', 'recorded', 'matched', 'false_flags', 'duplicates', 'plate_exact'] as const)
          s[k] = a[k] + f[k];
        return s;
      }, emptyFigures()),
    );
    const bundlesVerified = outcomes.reduce((n, o) => n + o.bundles.verified, 0);
    const bundlesFailed = outcomes.reduce((n, o) => n + o.bundles.failed.length, 0);
    return {
      schema: 'phat-nguoi/eval-scenarios@1',
      command: ctx.command,
      started_at: startedAt.toISOString(),
      finished_at: new Date().toISOString(),
      machine: await machineInfo(config.FFMPEG_PATH),
      config: {
        seed: args.seed,
        count: args.count,
        fps: args.fps,
        analysed_width: args.width,
        clip: `${specs[0]?.frame.width ?? 0}x${specs[0]?.frame.height ?? 0} at ${specs[0]?.frame.fps ?? 0} fps, H.264, ${args.durationS} s`,
        rules,
        database: db.kind,
        plates: args.plates,
        plate_models: plateReader
          ? `${plateReader.detModel.name}/${plateReader.detModel.version} + ${plateReader.model.name}/${plateReader.model.version}`
          : null,
        source: args.replay ? 'replay' : 'rtsp',
        detector_model: `${detector.model.name}/${detector.model.version}`,
        detection_tiles: args.tiles,
        gate_lengthen_m: args.gateLengthenM,
      },
      precision: total.precision,
      recall: total.recall,
      n: total.n,
      plate_exact: total.plate_exact_rate,
      duplicates: total.duplicates,
      false_flags: total.false_flags,
      bundles_verified: bundlesVerified,
      bundles_failed: bundlesFailed,
      per_rule: figures,
      speed_measurement: speedMeasurement(outcomes, SPEED_TOLERANCE_KMH),
      not_covered: ['intersection_stopping', 'motorbikes (only cars are scripted)'],
      scenarios: outcomes,
    };
  } finally {
    await closers.closeAll();
  }
}

/** A matched speeding row's measured speed beside the act's true one (nothing for other rows). */
function speedPair(act: TruthAct | undefined, measuredKmh: number | null | undefined) {
  const truth = act?.rule === 'speeding' ? act.details['speedKmh'] : undefined;
  return typeof truth === 'number' && typeof measuredKmh === 'number'
    ? { measured_kmh: measuredKmh, truth_kmh: truth }
    : {};
}

/**
 * How far the measured speeds of the matched speeding rows are from the true ones: the error in km/h
 * (measured − true; positive is against the driver) and how many exceed the device tolerance the scene
 * takes off before the limit is compared (then the fine's tier may rest on an overstated speed).
 */
export function speedMeasurement(outcomes: readonly ScenarioOutcome[], toleranceKmh: number) {
  const errors = outcomes.flatMap((o) =>
    o.verdicts.flatMap((v) =>
      v.measured_kmh !== undefined && v.truth_kmh !== undefined ? [v.measured_kmh - v.truth_kmh] : [],
    ),
  );
  const r2 = (v: number) => Math.round(v * 100) / 100;
  if (errors.length === 0) return { n: 0, tolerance_kmh: toleranceKmh };
  const sorted = [...errors].sort((a, b) => a - b);
  return {
    n: errors.length,
    tolerance_kmh: toleranceKmh,
    error_kmh: {
      mean: r2(errors.reduce((a, b) => a + b, 0) / errors.length),
      median: r2(sorted[Math.floor(sorted.length / 2)]!),
      min: r2(sorted[0]!),
      max: r2(sorted.at(-1)!),
    },
    over_tolerance: errors.filter((e) => e > toleranceKmh).length,
  };
}

function emptyOutcome(spec: ScenarioSpec, clip: string): ScenarioOutcome {
  return {
    id: spec.id,
    seed: spec.seed,
    site: spec.site,
    signal: spec.signal?.kind ?? null,
    clip,
    truth: spec.truth.length,
    recorded: 0,
    frames: {
      received: 0,
      analysed: 0,
      unreadable_timecode: 0,
      motion_gated: 0,
      clip_from_s: 0,
      clip_to_s: 0,
    },
    verdicts: [],
    missed: spec.truth.map((t) => ({
      rule: t.rule,
      vehicle: t.vehicle,
      plate: t.plate,
      at_s: t.atS,
      kind: actKind(t),
    })),
    plates_wrong: [],
    bundles: { verified: 0, failed: [] },
    error: null,
  };
}

/** The scene as the camera is configured: a fixed-time plan's offset put on the wall clock. */
export function sceneForRun(spec: ScenarioSpec, clipStartMs: number, tiles = true): SceneConfig {
  const scene = structuredClone(spec.scene) as Record<string, unknown>;
  if (!tiles) delete scene['detectionTiles'];
  const s = spec.signal;
  if (s && s.kind === 'fixed-time') {
    const cycle = s.greenS + s.amberS + s.redS;
    const offsetS = (((clipStartMs / 1000 + s.greenAtS) % cycle) + cycle) % cycle;
    const signals = scene['signals'] as Record<string, Record<string, unknown>>;
    signals['main'] = { ...signals['main'], offsetS: Math.round(offsetS * 1000) / 1000 };
  }
  return parseSceneConfig(scene);
}

async function runOne(
  spec: ScenarioSpec,
  clip: string,
  index: number,
  args: EvalArgs,
  sh: Shared,
): Promise<ScenarioOutcome> {
  const { config, log } = sh;
  const outcome = emptyOutcome(spec, clip);
  const code = `SC-${String(index + 1).padStart(3, '0')}`;
  const closers = new Closers(log);
  try {
    // The real-time chain serves the clip over RTSP like a camera; a replay reads the file itself.
    const fleet = args.replay
      ? undefined
      : await startSimulatedFleet({ count: 1, port: 0, clip, log, readyTimeoutMs: 60_000 });
    if (fleet) closers.add('rtsp server', () => fleet.stop());
    const camera = await upsertCameraByCode(sh.db.database.db, {
      code,
      name: `Scenario ${spec.id}`,
      rtspUrl: fleet?.urls[0] ?? null,
    });
    const frameMs = 1000 / spec.frame.fps;
    const totalFrames = Math.round(spec.frame.durationS * spec.frame.fps);
    /** capturedAt − clip time of each analysed frame: maps capture times to clip seconds. */
    const mapping: { at: number; clipMs: number }[] = [];
    let pipeline: CameraPipeline | undefined;
    let lastIndex = -1;
    let finished = false;
    let resolveDone!: () => void;
    const doneP = new Promise<void>((r) => (resolveDone = r));
    const onFrame = async (frame: Frame) => {
      if (finished) return;
      outcome.frames.received += 1;
      const idx = readTimecodeSafe(frame);
      if (idx === undefined) {
        outcome.frames.unreadable_timecode += 1;
        return;
      }
      // One pass of the clip: stop when it wraps round (or ends).
      if (idx < lastIndex || idx >= totalFrames - 1) {
        finished = true;
        resolveDone();
        return;
      }
      lastIndex = idx;
      const clipMs = idx * frameMs;
      if (!pipeline) {
        const scene = sceneForRun(spec, frame.capturedAt - clipMs, args.tiles);
        const version = await addSceneConfigVersion(sh.db.database.db, {
          cameraId: camera.id,
          config: scene as unknown as JsonObject,
          createdBy: 'eval-scenarios',
        });
        pipeline = new CameraPipeline({
          camera: { id: camera.id, code, name: camera.name, location: null },
          scene,
          sceneConfigVersion: version.version,
          detector: sh.detector,
          store: sh.store,
          outbox: sh.outbox,
          log: log.child({ camera: code }),
          workerId: `eval-scenarios:${process.pid}`,
          motionGate: motionGateFromConfig(config),
          signer: sh.signer,
          ...(sh.plateReader
            ? { plateReader: sh.plateReader, plateOptions: { maxFrames: config.DETECTOR_PLATE_FRAMES } }
            : {}),
        });
        outcome.frames.clip_from_s = clipMs / 1000;
      }
      mapping.push({ at: frame.capturedAt, clipMs });
      outcome.frames.clip_to_s = clipMs / 1000;
      await pipeline.onFrame(frame);
      outcome.frames.analysed += 1;
      outcome.frames.motion_gated = pipeline.gateSkipped;
    };
    if (fleet) {
      const supervisor = new CameraSupervisor({
        cameraId: code,
        url: fleet.urls[0]!,
        fps: args.fps,
        width: args.width,
        stallTimeoutMs: config.INGEST_STALL_TIMEOUT_MS,
        backoffMinMs: config.INGEST_BACKOFF_MIN_MS,
        backoffMaxMs: config.INGEST_BACKOFF_MAX_MS,
        maxRestartsPerMinute: config.INGEST_MAX_RESTARTS_PER_MINUTE,
        ffmpegPath: config.FFMPEG_PATH,
        log: log.child({ camera: code }),
        onFrame,
      });
      closers.add('camera', () => supervisor.stop());
      supervisor.start();
      const deadline = Date.now() + (spec.frame.durationS * 2 + 60) * 1000;
      await Promise.race([
        doneP,
        (async () => {
          while (!finished && Date.now() < deadline) await sleep(500);
        })(),
      ]);
      finished = true;
      await supervisor.stop();
    } else {
      // Frame for frame: each frame's evidence (plates included) is done before the next frame, so a
      // flag never waits behind a backlog the real-time chain would have had to skip plates for.
      const base = Date.now();
      for await (const f of clipFrames(clip, {
        fps: args.fps,
        width: args.width,
        ffmpegPath: config.FFMPEG_PATH,
      })) {
        if (finished) break;
        await onFrame({
          cameraId: code,
          seq: f.index,
          capturedAt: base + f.atMs,
          width: f.width,
          height: f.height,
          data: f.data,
        });
        await pipeline?.drain();
      }
      finished = true;
    }
    await pipeline?.finish();
    // Let the queue deliver this camera's jobs.
    const drainEnd = Date.now() + 60_000;
    while (Date.now() < drainEnd) {
      const c = await sh.queue.getJobCounts('waiting', 'active', 'delayed', 'prioritized');
      if (sh.outbox.size === 0 && Object.values(c).every((n) => n === 0)) break;
      await sleep(300);
    }

    const page = await listViolations(sh.db.database.db, { cameraId: camera.id, limit: 500 });
    const toClipS = (ms: number) => {
      let best = mapping[0];
      for (const m of mapping) if (Math.abs(m.at - ms) < Math.abs((best?.at ?? Infinity) - ms)) best = m;
      return best ? (ms - (best.at - best.clipMs)) / 1000 : NaN;
    };
    const measured = new Map(
      page.items.map((v) => [
        v.id,
        typeof v.details['measuredKmh'] === 'number' ? v.details['measuredKmh'] : null,
      ]),
    );
    const rows: RecordedRow[] = page.items.map((v) => ({
      id: v.id,
      rule: v.ruleCode,
      atS: Math.round(toClipS(v.observedAt.getTime()) * 1000) / 1000,
      plate: v.plate,
      trackKey: v.trackKey,
    }));
    // Acts outside the evaluated part of the clip cannot be seen: they leave the truth, and a row that
    // records one of them (established within the evaluated part) is neither a match nor a false flag.
    const { seen, rows: scored } = withinEvaluated(spec.truth, rows, outcome.frames);
    spec.truth = seen;
    outcome.truth = spec.truth.length;
    outcome.recorded = scored.length;
    const m = matchScenario(spec.truth, scored);
    outcome.verdicts = m.verdicts.map((v) => ({
      id: v.row.id,
      rule: v.row.rule,
      at_s: v.row.atS,
      plate: v.row.plate,
      verdict: v.kind,
      act: v.act,
      vehicle: v.act === null ? null : spec.truth[v.act]!.vehicle,
      kind: v.act === null ? null : actKind(spec.truth[v.act]!),
      ...speedPair(v.kind === 'match' ? spec.truth[v.act]! : undefined, measured.get(v.row.id)),
    }));
    outcome.missed = spec.truth
      .filter((_, i) => m.matched[i] === null)
      .map((t) => ({ rule: t.rule, vehicle: t.vehicle, plate: t.plate, at_s: t.atS, kind: actKind(t) }));
    outcome.plates_wrong = spec.truth.flatMap((t, i) => {
      const row = m.matched[i];
      return row && row.plate !== t.plate ? [{ rule: t.rule, expected: t.plate, read: row.plate }] : [];
    });
    for (const v of page.items) {
      const full = await getViolationById(sh.db.database.db, v.id);
      const manifest = full?.evidence.find((e) => e.kind === 'manifest');
      if (!manifest) {
        outcome.bundles.failed.push({ id: v.id, problems: ['no manifest'] });
        continue;
      }
      const check = await verifyEvidence({
        manifest: manifest.sha256,
        evidenceDir: sh.evidenceDir,
        publicKey: sh.signer.publicKey,
      });
      if (check.ok) outcome.bundles.verified += 1;
      else outcome.bundles.failed.push({ id: v.id, problems: check.problems });
    }
    return outcome;
  } finally {
    await closers.closeAll();
  }
}

function actKind(t: TruthAct): string | null {
  const k = t.details['kind'];
  return typeof k === 'string' ? k : null;
}

/**
 * The acts a scenario's evaluated part of the clip (from its first analysed frame to its last) can be
 * judged on: their window starts a second after the first frame and ends at most two after the last.
 * Rows matching an act left out (one that began before the evaluation did, but was established within
 * it) are left out too.
 */
export function withinEvaluated(
  truth: readonly TruthAct[],
  rows: readonly RecordedRow[],
  frames: { clip_from_s: number; clip_to_s: number },
): { seen: TruthAct[]; rows: RecordedRow[] } {
  // An act the rules cannot establish at the analysed frame rate (`unobservable`) is judged like one
  // outside the evaluated part: neither a miss nor, when a row records it all the same, a false flag.
  const inside = (t: TruthAct) =>
    !t.unobservable && t.fromS >= frames.clip_from_s + 1 && t.toS <= frames.clip_to_s + 2;
  const seen = truth.filter(inside);
  const unseen = truth.filter((t) => !inside(t));
  const m = matchScenario([...seen, ...unseen], rows);
  const dropped = new Set(m.verdicts.filter((v) => v.act !== null && v.act >= seen.length).map((v) => v.row));
  return { seen, rows: rows.filter((r) => !dropped.has(r)) };
}

function readTimecodeSafe(frame: Frame): number | undefined {
  return readTimecode({ data: frame.data, width: frame.width, height: frame.height });
}
