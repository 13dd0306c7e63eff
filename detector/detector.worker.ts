/**
 * Worker thread that owns one DetectionEngine (and so the onnxruntime session): frames come in as
 * transferred ArrayBuffers, detections go back. One frame (or one batch of frames) at a time; the parent
 * keeps the queue.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { isAppError, errorMessage } from '../core/errors.js';
import { logger } from '../core/logger.js';
import { DetectionEngine } from './detection-engine.js';
import type { EngineOptions } from './detection-engine.js';
import type { ParentMessage, SerializedError, WorkerMessage } from './detector-protocol.js';

function serialize(err: unknown): SerializedError {
  if (isAppError(err)) return { code: err.code, message: err.message, permanent: err.permanent };
  return { code: 'internal', message: errorMessage(err), permanent: false };
}

const port = parentPort;
if (!port) throw new Error('detector.worker must run in a worker thread');
const post = (m: WorkerMessage, transfer: ArrayBuffer[] = []) => port.postMessage(m, transfer);
const log = logger().child({ module: 'detector.worker' });

let engine: DetectionEngine | undefined;
try {
  const created = await DetectionEngine.create({ ...(workerData as EngineOptions), log });
  engine = created.engine;
  post({
    type: 'ready',
    model: engine.model,
    provider: engine.provider,
    ...(created.fallbackReason === undefined ? {} : { fallbackReason: created.fallbackReason }),
    loadMs: created.loadMs,
    warmUpMs: created.warmUpMs,
    maxBatch: engine.maxBatch,
  });
} catch (err) {
  post({ type: 'init-error', error: serialize(err) });
}

let chain = Promise.resolve();
port.on('message', (msg: ParentMessage) => {
  chain = chain.then(() => handle(msg));
});

async function handle(msg: ParentMessage): Promise<void> {
  if (msg.type === 'close') {
    await engine?.close();
    engine = undefined;
    port!.close();
    return;
  }
  if (!engine) {
    post({
      type: 'error',
      id: msg.id,
      error: { code: 'internal', message: 'detector is not loaded', permanent: true },
    });
    return;
  }
  try {
    if (msg.type === 'detect-batch') {
      const frames = msg.frames.map((f) => ({
        data: new Uint8Array(f.buffer),
        width: f.width,
        height: f.height,
      }));
      const { results, timings } = await engine.detectBatch(frames);
      post({
        type: 'batch-result',
        id: msg.id,
        results: results.map((r) => ('error' in r ? { error: serialize(r.error) } : r)),
        timings,
      });
      return;
    }
    const frame = { data: new Uint8Array(msg.buffer), width: msg.width, height: msg.height };
    const { detections, timings } = await engine.detect(frame);
    post({ type: 'result', id: msg.id, detections, timings });
  } catch (err) {
    post({ type: 'error', id: msg.id, error: serialize(err) });
  }
}
