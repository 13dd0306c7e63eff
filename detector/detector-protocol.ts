/** Messages between createDetector (parent) and detector.worker (child). */
import type { ErrorCode } from '../core/errors.js';
import type { Detection, DetectionTimings } from './detection-engine.js';
import type { ExecutionProvider } from './model-registry.js';

export interface SerializedError {
  code: ErrorCode;
  message: string;
  permanent: boolean;
}

export type ParentMessage =
  { type: 'detect'; id: number; width: number; height: number; buffer: ArrayBuffer } | { type: 'close' };

export type WorkerMessage =
  | {
      type: 'ready';
      model: { name: string; version: string };
      provider: ExecutionProvider;
      fallbackReason?: string;
      loadMs: number;
      warmUpMs: number;
    }
  | { type: 'init-error'; error: SerializedError }
  | { type: 'result'; id: number; detections: Detection[]; timings: DetectionTimings }
  | { type: 'error'; id: number; error: SerializedError };
