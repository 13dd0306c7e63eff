import type { Logger } from 'pino';
import { errorMessage } from '../core/errors.js';
import { framesProcessed, inferenceSeconds, violationsFlagged } from '../core/metrics.js';
import {
  ViolationEngine,
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

export interface FrameDetector {
  readonly modelName: string;
  detect(frame: { data: Buffer; width: number; height: number }): Promise<EngineDetection[]>;
}

/**
 * The chain for one camera, in one place: frame → detector → tracker and rules → evidence → queue.
 * The camera's frame source calls `onFrame` with the newest frame; while it runs, newer frames replace the
 * pending one upstream (counted as drops there), so a slow detector never builds a backlog.
 */
export class CameraPipeline {
  readonly engine: ViolationEngine;
  processed = 0;
  flagged = 0;
  /** Mean detector time per frame, ms, weighted towards the last minute or so. */
  inferenceMs: number | null = null;

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
    },
  ) {
    this.engine = new ViolationEngine(opts.scene, opts.engine);
  }

  async onFrame(frame: EngineFrame): Promise<void> {
    const { camera, detector, log } = this.opts;
    const stopTimer = inferenceSeconds.startTimer({ camera: camera.code, model: detector.modelName });
    const detections = await detector.detect(frame);
    const seconds = stopTimer();
    this.processed += 1;
    this.inferenceMs =
      this.inferenceMs === null ? seconds * 1000 : this.inferenceMs * 0.95 + seconds * 1000 * 0.05;
    framesProcessed.inc({ camera: camera.code });
    const flags = this.engine.update(frame, detections);
    for (const flag of flags) {
      try {
        const payload = await buildEvidence({
          flag,
          camera,
          scene: this.opts.scene,
          sceneConfigVersion: this.opts.sceneConfigVersion,
          store: this.opts.store,
          workerId: this.opts.workerId,
          signer: this.opts.signer,
        });
        await this.opts.outbox.submit(payload);
        this.flagged += 1;
        violationsFlagged.inc({ camera: camera.code, rule: flag.ruleCode });
        log.info(
          { rule: flag.ruleCode, trackKey: flag.trackKey, at: new Date(flag.at).toISOString() },
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
}
