/**
 * Shared set-up of the ingest integration tests: whether ffmpeg and the GStreamer RTSP server exist
 * here (the tests skip, saying why, only when they do not), the simulated camera clip, a logger, and
 * small waiting helpers.
 */
import type { EventEmitter } from 'node:events';
import net from 'node:net';
import path from 'node:path';
import { createLogger, type Logger } from '../../../core/logger.js';
import {
  checkFfmpeg,
  checkSimulatorPrerequisites,
  ensureSimClip,
  startSimulatedFleet,
  type SimulatedFleet,
  type SimulatedFleetOptions,
} from '../../../ingest/sim/simulated-fleet.js';

const ffmpeg = await checkFfmpeg();
const simulator = ffmpeg.ok ? await checkSimulatorPrerequisites() : ffmpeg;
/** Why the tests needing ffmpeg cannot run here, if they cannot. */
export const ffmpegMissing: string | undefined = ffmpeg.ok ? undefined : ffmpeg.reason;
/** Why the tests needing the simulated RTSP cameras (ffmpeg + GStreamer) cannot run here, if they cannot. */
export const missing: string | undefined = simulator.ok ? undefined : simulator.reason;
if (missing) console.warn(`[ingest integration tests] RTSP tests skipped: ${missing}`);

export const dataDir = path.resolve(process.env['DATA_DIR'] ?? 'data');
export const sharedDir = path.resolve(process.env['SHARED_DIR'] ?? '../shared');

export const log: Logger = createLogger({ level: process.env['LOG_LEVEL'] ?? 'warn', name: 'ingest-it' });

let clip: Promise<string> | undefined;
/** The clip of the simulated cameras (encoded once, cached under DATA_DIR/sim). */
export function simClip(): Promise<string> {
  clip ??= ensureSimClip({ dataDir, sharedDir, log });
  return clip;
}

const fleets = new Set<SimulatedFleet>();
export async function startFleet(opts: Omit<SimulatedFleetOptions, 'log'>): Promise<SimulatedFleet> {
  const fleet = await startSimulatedFleet({ ...opts, log });
  fleets.add(fleet);
  return fleet;
}
/** Stops every fleet a test started (resuming a SIGSTOPped one first). */
export async function stopFleets(): Promise<void> {
  await Promise.all(
    [...fleets].map(async (f) => {
      try {
        process.kill(f.pid, 'SIGCONT');
      } catch {
        // already gone: nothing to resume
      }
      await f.stop();
    }),
  );
  fleets.clear();
}

/** A TCP port nobody listens on right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** The next `event` whose payload satisfies `accept`, or a rejection naming the event after `ms`. */
export function nextEvent<T>(
  emitter: EventEmitter,
  event: string,
  ms: number,
  accept: (payload: T) => boolean = () => true,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => {
      emitter.off(event, listener);
      reject(new Error(`no '${event}' event within ${ms} ms`));
    }, ms);
    function listener(payload: T): void {
      if (!accept(payload)) return;
      clearTimeout(timer);
      emitter.off(event, listener);
      resolve(payload);
    }
    emitter.on(event, listener);
  });
}

export async function until(
  predicate: () => boolean | Promise<boolean>,
  ms: number,
  what: string,
  intervalMs = 20,
): Promise<void> {
  const end = Date.now() + ms;
  while (!(await predicate())) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
