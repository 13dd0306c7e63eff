/** Messages between createDetector (parent) and detector.worker (child). */
import type { ErrorCode } from '../core/errors.js';
import type { BatchTimings, Detection, DetectionTimings } from './detection-engine.js';
import type { ExecutionProvider } from './model-registry.js';

export interface SerializedError {
  code: ErrorCode;
  message: string;
  permanent: boolean;
}

export interface FrameMessage {
  width: number;
  height: number;
  buffer: ArrayBuffer;
}

export type ParentMessage =
  | { type: 'detect'; id: number; width: number; height: number; buffer: ArrayBuffer }
  /** Several frames for one batched session call; the answer is one `batch-result` in the same order. */
  | { type: 'detect-batch'; id: number; frames: FrameMessage[] }
  | { type: 'close' };

export type BatchItemMessage = { detections: Detection[] } | { error: SerializedError };

export type WorkerMessage =
  | {
      type: 'ready';
      model: { name: string; version: string };
      provider: ExecutionProvider;
      fallbackReason?: string;
      loadMs: number;
      warmUpMs: number;
      /** Most frames the engine runs in one session call (1 for a model fixed at batch 1). */
      maxBatch: number;
    }
  | { type: 'init-error'; error: SerializedError }
  | { type: 'result'; id: number; detections: Detection[]; timings: DetectionTimings }
  | { type: 'batch-result'; id: number; results: BatchItemMessage[]; timings: BatchTimings }
  | { type: 'error'; id: number; error: SerializedError };
