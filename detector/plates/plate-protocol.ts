/** Messages between createPlateReader (parent) and plate-reader.worker (child). */
import type { ErrorCode } from '../../core/errors.js';
import type { ExecutionProvider } from '../model-registry.js';
import type {
  FindPlatesOptions,
  FoundPlate,
  LocatedPlate,
  PlateReading,
  ReadPlateOptions,
} from './plate-engine.js';

export interface SerializedError {
  code: ErrorCode;
  message: string;
  permanent: boolean;
}

export interface ImageTransfer {
  width: number;
  height: number;
  buffer: ArrayBuffer;
}

export type PlateRequest =
  | ({ type: 'read'; id: number; options: ReadPlateOptions } & ImageTransfer)
  | ({ type: 'find'; id: number; options: FindPlatesOptions } & ImageTransfer)
  | ({ type: 'read-all'; id: number; options: FindPlatesOptions & ReadPlateOptions } & ImageTransfer);

export type PlateParentMessage = PlateRequest | { type: 'close' };

export type PlateResult = PlateReading | LocatedPlate[] | FoundPlate[];

export type PlateWorkerMessage =
  | {
      type: 'ready';
      recModel: { name: string; version: string };
      detModel: { name: string; version: string };
      provider: ExecutionProvider;
      loadMs: number;
    }
  | { type: 'init-error'; error: SerializedError }
  | { type: 'result'; id: number; result: PlateResult }
  | { type: 'error'; id: number; error: SerializedError };
