/**
 * Worker thread that owns one PlateEngine (the text detector and recogniser sessions): images come in
 * as transferred ArrayBuffers, readings and boxes go back. One request at a time; the parent queues.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { errorMessage, isAppError } from '../../core/errors.js';
import { logger } from '../../core/logger.js';
import type { PlateEngineOptions } from './plate-engine.js';
import { PlateEngine } from './plate-engine.js';
import type {
  PlateParentMessage,
  PlateResult,
  PlateWorkerMessage,
  SerializedError,
} from './plate-protocol.js';

function serialize(err: unknown): SerializedError {
  if (isAppError(err)) return { code: err.code, message: err.message, permanent: err.permanent };
  return { code: 'internal', message: errorMessage(err), permanent: false };
}

const port = parentPort;
if (!port) throw new Error('plate-reader.worker must run in a worker thread');
const post = (m: PlateWorkerMessage) => port.postMessage(m);
const log = logger().child({ module: 'plate-reader.worker' });

let engine: PlateEngine | undefined;
try {
  engine = await PlateEngine.create({ ...(workerData as Omit<PlateEngineOptions, 'log'>), log });
  post({
    type: 'ready',
    recModel: engine.recModel,
    detModel: engine.detModel,
    provider: engine.provider,
    loadMs: engine.loadMs,
  });
} catch (err) {
  post({ type: 'init-error', error: serialize(err) });
}

let chain = Promise.resolve();
port.on('message', (msg: PlateParentMessage) => {
  chain = chain.then(() => handle(msg));
});

async function handle(msg: PlateParentMessage): Promise<void> {
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
      error: { code: 'internal', message: 'plate reader is not loaded', permanent: true },
    });
    return;
  }
  try {
    const image = { data: new Uint8Array(msg.buffer), width: msg.width, height: msg.height };
    let result: PlateResult;
    if (msg.type === 'read') result = await engine.readPlate(image, msg.options);
    else if (msg.type === 'find') result = await engine.findPlates(image, msg.options);
    else result = await engine.readPlates(image, msg.options);
    post({ type: 'result', id: msg.id, result });
  } catch (err) {
    post({ type: 'error', id: msg.id, error: serialize(err) });
  }
}
