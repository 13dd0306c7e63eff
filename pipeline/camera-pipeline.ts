import type { Logger } from 'pino';
import { errorMessage } from '../core/errors.js';
import { framesMotionGated, framesProcessed, inferenceSeconds, violationsFlagged } from '../core/metrics.js';
import { isDrop } from '../detector/batch-collector.js';
import {
  ViolationEngine,
  type Flag,
  type EngineDetection,
  type EngineFrame,
  type EngineOptions,
} from '../violations/engine.js';
import type { EvidenceSigner } from '../violations/evidence-signature.js';
import type { EvidenceStore } from '../violations/evidence-store.js';
import type { SceneConfig } from '../violations/scene-config.js';
import {
  buildEvidence,
  renderEvidenceImages,
  summariseFlag,
  type CameraRef,
  type EvidenceClip,
  type FlagSummary,
} from './evidence-builder.js';
import { detectWithTiles } from './detection-tiles.js';
import { MotionGate, type MotionGateOptions } from './motion-gate.js';
import { journalKeyOf, type EvidenceJournal, type JournalEntry } from './evidence-journal.js';
import type { Outbox } from './outbox.js';
import type { EvidenceRef, RecordViolationPayload } from './payloads.js';
import {
  readTrackPlate,
  type TrackPlate,
  type TrackPlateOptions,
  type TrackPlateReader,
} from './plate-evidence.js';

export interface FrameDetector {
  readonly modelName: string;
  /** The execution provider in use (cpu, cuda, tensorrt), for the metric label and the camera state. */
  readonly provider?: string;
  /** `source`: the camera code, so that a batching detector shares batches fairly between cameras. */
  detect(frame: { data: Buffer; width: number; height: number }, source?: string): Promise<EngineDetection[]>;
}

/** Flags waiting for evidence beyond this are recorded without reading the plate (review reads it). */
const PLATE_BACKLOG = 8;

/** The camera's rolling recording (ingest/clip-buffer.ts): the clip of a span, or why there is none. */
export interface ClipSource {
  clip(fromMs: number, toMs: number): Promise<EvidenceClip>;
}

/**
 * The clip spans at least this long before and after the act; the margin absorbs the gap between a
 * frame's capture time (when it left the decoder) and its packets' arrival, which place the recording.
 */
export const CLIP_BEFORE_MS = 3000;
export const CLIP_AFTER_MS = 3000;
export const CLIP_MARGIN_MS = 500;

/**
 * The chain for one camera, in one place: frame → detector → tracker and rules → evidence → queue.
 * The camera's frame source calls `onFrame` with the newest frame; while it runs, newer frames replace the
 * pending one upstream (counted as drops there), so a slow detector never builds a backlog.
 * Flags are turned into evidence (plate reads on several frames, stills, manifest) one at a time on a
 * chain of their own, so reading plates never stalls the frames that tracking needs; `drain()` waits
 * for that chain (graceful shutdown).
 */
export class CameraPipeline {
  readonly engine: ViolationEngine;
  processed = 0;
  flagged = 0;
  /** Frames the detector's batch queue refused or replaced (back-pressure, not a failure). */
  detectorDropped = 0;
  /** Mean detector time per frame, ms, weighted towards the last minute or so. */
  inferenceMs: number | null = null;
  /**
   * Mean age of a frame when its detections are in (capture by ffmpeg → decode → wait for the detector →
   * inference), ms, weighted like inferenceMs: what the operator sees as the camera's processing lag.
   */
  lagMs: number | null = null;
  /** Plates read with a usable consensus / flags whose plate was read. */
  platesRead = 0;
  plateAttempts = 0;
  private evidenceChain: Promise<void> = Promise.resolve();
  private pendingFlags = 0;
  /** Evidence whose images are stored, waiting for its clip before the manifest is signed. */
  private readonly sealing = new Set<Promise<void>>();
  /** Journal entries this pipeline is working on (not for `recover()`). */
  private readonly inFlight = new Set<string>();
  /** Acts finished from the journal after a worker stopped before sending them. */
  recovered = 0;
  private readonly gate: MotionGate<EngineDetection[]> | undefined;

  constructor(
    private readonly opts: {
      camera: CameraRef;
      scene: SceneConfig;
      sceneConfigVersion: number;
      detector: FrameDetector;
      store: EvidenceStore;
      outbox: Outbox<RecordViolationPayload>;
      log: Logger;
      workerId: string;
      /** Signs each evidence manifest (Ed25519); without one, manifests are stored unsigned. */
      signer?: EvidenceSigner;
      /** Engine options (rules, tracker, stills timing, a shared signal timeline). */
      engine?: EngineOptions;
      /** Reads each flagged vehicle's plate on several frames; without one, review reads the plate. */
      plateReader?: TrackPlateReader;
      plateOptions?: Partial<TrackPlateOptions>;
      /** The camera's recording, for each violation's clip; without one the manifest says so. */
      clips?: ClipSource;
      /**
       * Keeps each act on disk from the moment its stills are stored until its job is in Redis, so a
       * worker killed meanwhile loses nothing (`recover()` on the next start finishes it).
       */
      journal?: EvidenceJournal;
      /**
       * Motion gating before detection (pipeline/motion-gate.ts): a frame in which nothing moved since
       * the last detected one reuses its detections. Off when absent.
       */
      motionGate?: Partial<MotionGateOptions> | undefined;
    },
  ) {
    this.engine = new ViolationEngine(opts.scene, opts.engine);
    // The scene's ignore masks (an on-screen clock) never count as motion.
    this.gate = opts.motionGate
      ? new MotionGate<EngineDetection[]>({ ignore: opts.scene.ignoreMasks, ...opts.motionGate })
      : undefined;
  }

  /** Frames whose detections came from the motion gate (nothing moved), not from the detector. */
  get gateSkipped(): number {
    return this.gate?.skipped ?? 0;
  }

  async onFrame(frame: EngineFrame): Promise<void> {
    const { camera, detector } = this.opts;
    const stopTimer = inferenceSeconds.startTimer({
      camera: camera.code,
      model: detector.modelName,
      provider: detector.provider ?? 'cpu',
    });
    let detections: EngineDetection[];
    let skipped = false;
    try {
      // The whole frame, and the scene's zoom windows where it names some (pipeline/detection-tiles.ts).
      const detect = () =>
        detectWithTiles(frame, this.opts.scene.detectionTiles, (f) => detector.detect(f, camera.code));
      if (this.gate) ({ detections, skipped } = await this.gate.detect(frame, detect));
      else detections = await detect();
    } catch (err) {
      // A frame dropped by the batch queue's back-pressure is counted, like upstream drops, not logged.
      if (!isDrop(err)) throw err;
      this.detectorDropped += 1;
      return;
    }
    const seconds = skipped ? null : stopTimer();
    const lag = Math.max(0, Date.now() - frame.capturedAt);
    this.lagMs = this.lagMs === null ? lag : this.lagMs * 0.95 + lag * 0.05;
    this.processed += 1;
    if (seconds !== null)
      this.inferenceMs =
        this.inferenceMs === null ? seconds * 1000 : this.inferenceMs * 0.95 + seconds * 1000 * 0.05;
    framesProcessed.inc({ camera: camera.code });
    if (skipped) framesMotionGated.inc({ camera: camera.code });
    const flags = this.engine.update(frame, detections);
    for (const flag of flags) this.enqueue(flag);
  }

  /** Flags accepted and not yet handed to the outbox. */
  get pendingEvidence(): number {
    return this.pendingFlags + this.sealing.size;
  }

  /**
   * The camera stops: flags still waiting in the engine (for their "after" still, or a larger sighting
   * of the vehicle) become evidence now, with the frames there are, then everything is drained.
   */
  async finish(): Promise<void> {
    for (const flag of this.engine.flush()) this.enqueue(flag);
    await this.drain();
  }

  /** Resolves once every flag seen so far has been stored and submitted (or logged as failed). */
  async drain(): Promise<void> {
    await this.evidenceChain;
    while (this.sealing.size > 0) await Promise.allSettled([...this.sealing]);
  }

  private enqueue(flag: Flag): void {
    this.pendingFlags += 1;
    const readPlate = this.pendingFlags <= PLATE_BACKLOG;
    // The recording is asked for at once: it waits (a timer, nothing else) for the seconds after the
    // act on its own, while the chain reads plates and renders stills.
    const clip = this.requestClip(flag);
    this.evidenceChain = this.evidenceChain
      .then(() => this.record(flag, readPlate, clip))
      .finally(() => {
        this.pendingFlags -= 1;
      });
  }

  private requestClip(flag: Flag): Promise<EvidenceClip> | undefined {
    const source = this.opts.clips;
    if (!source) return undefined;
    const span = [
      flag.at - CLIP_BEFORE_MS - CLIP_MARGIN_MS,
      flag.at + CLIP_AFTER_MS + CLIP_MARGIN_MS,
    ] as const;
    return source.clip(span[0], span[1]).catch((err: unknown): EvidenceClip => ({
      status: 'missing',
      reason: `clip failed: ${errorMessage(err)}`,
    }));
  }

  /**
   * Plate and images now, while the flag's frames are at hand; the manifest once the clip is in (signed
   * over the clip too), off the chain so that the next flag's plate is not kept waiting for this clip.
   * A clip that cannot be made never costs the violation: the manifest says why it is missing.
   */
  private async record(flag: Flag, readPlate: boolean, clip?: Promise<EvidenceClip>): Promise<void> {
    const { camera, log } = this.opts;
    const key = journalKeyOf({ cameraId: camera.id, trackKey: flag.trackKey, ruleCode: flag.ruleCode });
    const id = keyId(key);
    this.inFlight.add(id);
    let handedOver = false;
    try {
      // The stills first: once they are stored the act is journalled and survives this process.
      const images = await renderEvidenceImages({
        flag,
        camera,
        scene: this.opts.scene,
        store: this.opts.store,
      });
      const summary = summariseFlag(flag);
      await this.journal({ flag: summary, images });
      let plate: TrackPlate | undefined;
      if (this.opts.plateReader) {
        if (readPlate) {
          this.plateAttempts += 1;
          plate = await readTrackPlate(flag, this.opts.plateReader, this.opts.plateOptions);
          if (plate.consensus.plate) this.platesRead += 1;
        } else
          log.warn(
            { rule: flag.ruleCode, trackKey: flag.trackKey },
            'evidence backlog: plate left to review',
          );
      }
      if (plate) await this.journal({ flag: summary, images, plate });
      const seal = this.seal(summary, images, plate, clip).then((submitted) => {
        if (!submitted) this.inFlight.delete(id);
      });
      handedOver = true;
      this.sealing.add(seal);
      void seal.finally(() => this.sealing.delete(seal));
    } catch (err) {
      log.error(
        { err: errorMessage(err), rule: flag.ruleCode },
        'could not store evidence for a flagged violation',
      );
    } finally {
      if (!handedOver) this.inFlight.delete(id);
    }
  }

  /** Journals an act; a journal that cannot be written is logged, never allowed to cost the act. */
  private async journal(
    entry: Pick<JournalEntry, 'flag' | 'images' | 'plate' | 'payload'>,
    sceneConfigVersion = this.opts.sceneConfigVersion,
  ): Promise<void> {
    const { journal, camera, workerId, log } = this.opts;
    if (!journal) return;
    try {
      await journal.write({
        cameraId: camera.id,
        trackKey: entry.flag.trackKey,
        ruleCode: entry.flag.ruleCode,
        workerId,
        sceneConfigVersion,
        ...entry,
      });
    } catch (err) {
      log.error({ err: errorMessage(err), rule: entry.flag.ruleCode }, 'evidence journal not written');
    }
  }

  /**
   * Hands the payload to the outbox; the journal forgets the act once the job is in Redis (until then
   * it stays in flight here, so `recover()` does not hand it over twice).
   */
  private async submit(payload: RecordViolationPayload): Promise<void> {
    const { journal, log } = this.opts;
    const id = keyId(payload);
    this.inFlight.add(id);
    await this.opts.outbox.submit(payload, async () => {
      this.inFlight.delete(id);
      if (!journal) return;
      await journal.remove(journalKeyOf(payload)).catch((err: unknown) => {
        log.warn({ err: errorMessage(err) }, 'evidence journal entry not removed (finished twice later)');
      });
    });
  }

  /**
   * Finishes the acts that a worker running this camera before (this process or a dead one) journalled
   * and did not send: an entry with a sealed payload is sent again; one without is sealed now from its
   * stored stills and its plate if it was read, with the clip marked missing (the recording was in the
   * stopped worker) and the manifest saying it was recovered. `minAgeMs` leaves alone the entries a
   * worker that has just lost the camera may still be finishing. Returns how many were handed over.
   */
  async recover(minAgeMs = 20_000): Promise<number> {
    const { journal, camera, log } = this.opts;
    if (!journal) return 0;
    let entries: JournalEntry[];
    try {
      entries = await journal.pending(camera.id, minAgeMs);
    } catch (err) {
      log.error({ err: errorMessage(err) }, 'evidence journal not readable');
      return 0;
    }
    let n = 0;
    for (const entry of entries) {
      if (this.inFlight.has(keyId(entry))) continue;
      try {
        let payload = entry.payload;
        if (!payload) {
          payload = await buildEvidence({
            flag: entry.flag,
            camera,
            scene: this.opts.scene,
            sceneConfigVersion: entry.sceneConfigVersion,
            store: this.opts.store,
            workerId: this.opts.workerId,
            ...(this.opts.signer ? { signer: this.opts.signer } : {}),
            images: entry.images,
            ...(entry.plate ? { plate: entry.plate } : {}),
            clip: {
              status: 'missing',
              reason: `worker ${entry.workerId} stopped before the clip was cut`,
            },
            recovery: { fromWorker: entry.workerId, journalledAt: entry.writtenAt },
          });
          await this.journal(
            {
              flag: entry.flag,
              images: entry.images,
              ...(entry.plate ? { plate: entry.plate } : {}),
              payload,
            },
            entry.sceneConfigVersion,
          );
        }
        await this.submit(payload);
        n += 1;
        this.recovered += 1;
        log.warn(
          {
            rule: entry.ruleCode,
            trackKey: entry.trackKey,
            fromWorker: entry.workerId,
            sealed: !!entry.payload,
          },
          'violation recovered from the evidence journal',
        );
      } catch (err) {
        log.error({ err: errorMessage(err), rule: entry.ruleCode }, 'journalled violation not recovered');
      }
    }
    return n;
  }

  private async seal(
    flag: FlagSummary,
    images: EvidenceRef[],
    plate: TrackPlate | undefined,
    clipRequest: Promise<EvidenceClip> | undefined,
  ): Promise<boolean> {
    const { camera, log } = this.opts;
    try {
      const clip = clipRequest ? await clipRequest : undefined;
      if (clip && clip.status !== 'ok') {
        log.warn(
          { rule: flag.ruleCode, trackKey: flag.trackKey, clip: clip.status, reason: clip.reason },
          'violation clip incomplete',
        );
      }
      const payload = await buildEvidence({
        flag,
        camera,
        scene: this.opts.scene,
        sceneConfigVersion: this.opts.sceneConfigVersion,
        store: this.opts.store,
        workerId: this.opts.workerId,
        signer: this.opts.signer,
        images,
        ...(plate ? { plate } : {}),
        ...(clip ? { clip } : {}),
      });
      await this.journal({ flag, images, ...(plate ? { plate } : {}), payload });
      await this.submit(payload);
      this.flagged += 1;
      violationsFlagged.inc({ camera: camera.code, rule: flag.ruleCode });
      log.info(
        {
          rule: flag.ruleCode,
          trackKey: flag.trackKey,
          at: new Date(flag.at).toISOString(),
          plateReads: plate?.reads.length,
          plateReview: plate?.consensus.needsReview,
          clip: clip?.status,
        },
        'violation flagged',
      );
      return true;
    } catch (err) {
      log.error(
        { err: errorMessage(err), rule: flag.ruleCode },
        'could not store evidence for a flagged violation',
      );
      return false;
    }
  }
}

function keyId(k: { cameraId: number; trackKey: string; ruleCode: string }): string {
  return `${k.cameraId}\n${k.trackKey}\n${k.ruleCode}`;
}
