import type { Logger } from 'pino';
import { errorMessage } from '../core/errors.js';
import { framesProcessed, inferenceSeconds, violationsFlagged } from '../core/metrics.js';
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
import { buildEvidence, type CameraRef } from './evidence-builder.js';
import type { Outbox } from './outbox.js';
import type { RecordViolationPayload } from './payloads.js';
import {
  readTrackPlate,
  type TrackPlate,
  type TrackPlateOptions,
  type TrackPlateReader,
} from './plate-evidence.js';

export interface FrameDetector {
  readonly modelName: string;
  detect(frame: { data: Buffer; width: number; height: number }): Promise<EngineDetection[]>;
}

/** Flags waiting for evidence beyond this are recorded without reading the plate (review reads it). */
const PLATE_BACKLOG = 8;

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
  /** Mean detector time per frame, ms, weighted towards the last minute or so. */
  inferenceMs: number | null = null;
  /** Plates read with a usable consensus / flags whose plate was read. */
  platesRead = 0;
  plateAttempts = 0;
  private evidenceChain: Promise<void> = Promise.resolve();
  private pendingFlags = 0;

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
    },
  ) {
    this.engine = new ViolationEngine(opts.scene, opts.engine);
  }

  async onFrame(frame: EngineFrame): Promise<void> {
    const { camera, detector } = this.opts;
    const stopTimer = inferenceSeconds.startTimer({ camera: camera.code, model: detector.modelName });
    const detections = await detector.detect(frame);
    const seconds = stopTimer();
    this.processed += 1;
    this.inferenceMs =
      this.inferenceMs === null ? seconds * 1000 : this.inferenceMs * 0.95 + seconds * 1000 * 0.05;
    framesProcessed.inc({ camera: camera.code });
    const flags = this.engine.update(frame, detections);
    for (const flag of flags) this.enqueue(flag);
  }

  /** Flags accepted and not yet handed to the outbox. */
  get pendingEvidence(): number {
    return this.pendingFlags;
  }

  /** Resolves once every flag seen so far has been stored and submitted (or logged as failed). */
  async drain(): Promise<void> {
    await this.evidenceChain;
  }

  private enqueue(flag: Flag): void {
    this.pendingFlags += 1;
    const readPlate = this.pendingFlags <= PLATE_BACKLOG;
    this.evidenceChain = this.evidenceChain
      .then(() => this.record(flag, readPlate))
      .finally(() => {
        this.pendingFlags -= 1;
      });
  }

  private async record(flag: Flag, readPlate: boolean): Promise<void> {
    const { camera, log } = this.opts;
    try {
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
      const payload = await buildEvidence({
        flag,
        camera,
        scene: this.opts.scene,
        sceneConfigVersion: this.opts.sceneConfigVersion,
        store: this.opts.store,
        workerId: this.opts.workerId,
        signer: this.opts.signer,
        ...(plate ? { plate } : {}),
      });
      await this.opts.outbox.submit(payload);
      this.flagged += 1;
      violationsFlagged.inc({ camera: camera.code, rule: flag.ruleCode });
      log.info(
        {
          rule: flag.ruleCode,
          trackKey: flag.trackKey,
          at: new Date(flag.at).toISOString(),
          plateReads: plate?.reads.length,
          plateReview: plate?.consensus.needsReview,
        },
        'violation flagged',
      );
    } catch (err) {
      log.error(
        { err: errorMessage(err), rule: flag.ruleCode },
        'could not store evidence for a flagged violation',
      );
    }
  }
}
