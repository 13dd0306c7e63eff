/**
 * Ending a child process for sure: ask it to quit, then SIGTERM, then SIGKILL, each after a grace
 * period. Written against a minimal interface so that it is tested without spawning anything.
 */

export interface Stoppable {
  /** Resolves once the process has exited. */
  readonly exited: Promise<unknown>;
  /** Undefined while the process runs. */
  exitStatus(): unknown;
  /** Polite request (ffmpeg: 'q' on stdin). */
  requestQuit(): void;
  kill(signal: NodeJS.Signals): boolean;
}

export interface StopOptions {
  /** Wait after the quit request before SIGTERM. Default 1000 ms. */
  quitGraceMs?: number;
  /** Wait after the first SIGTERM before SIGKILL (a second SIGTERM goes out within it). Default 1500 ms. */
  termGraceMs?: number;
  /** Wait after SIGKILL before giving up. Default 2000 ms. */
  killWaitMs?: number;
}

/**
 * Grace periods for ending a process at shutdown, when no output is worth waiting for: no quit request
 * (ffmpeg reads 'q' only between packets, and not at all while it is still connecting), two SIGTERMs
 * 250 ms apart (the second interrupts a blocked read; ffmpeg still closes its outputs on a signal), then
 * SIGKILL. A stream that is alive ends within about 250 ms, a hung one at the first SIGTERM.
 */
export const SHUTDOWN_STOP: Readonly<Required<StopOptions>> = Object.freeze({
  quitGraceMs: 0,
  termGraceMs: 1500,
  killWaitMs: 2000,
});

/**
 * An abort reason that says how to end the process the abort stops (AbortController.abort(reason)), for
 * code that ends a process when a signal aborts: grace periods other than its usual ones.
 */
export class StopRequest {
  constructor(readonly options: StopOptions) {}
}

/** How the process ended: the step that worked, or 'unresponsive' when even SIGKILL was not seen. */
export type StopOutcome = 'already_exited' | 'quit' | 'sigterm' | 'sigkill' | 'unresponsive';

/** Gap between the two SIGTERMs. */
const SECOND_TERM_AFTER_MS = 250;

function exitedWithin(proc: Stoppable, ms: number): Promise<boolean> {
  return new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    const done = () => {
      clearTimeout(timer);
      resolve(true);
    };
    void proc.exited.then(done, done);
  });
}

/**
 * Quit request, then SIGTERM, a second SIGTERM, then SIGKILL. Why two: ffmpeg reads 'q' and its first
 * SIGTERM only between packets; once it is transcoding, a read blocked on a hung server is interrupted
 * by the second signal alone (measured with ffmpeg 5.1: one SIGTERM, still running after 4 s; two,
 * gone in 0.3 s).
 */
export async function stopProcess(proc: Stoppable, options: StopOptions = {}): Promise<StopOutcome> {
  const { quitGraceMs = 1000, termGraceMs = 1500, killWaitMs = 2000 } = options;
  if (proc.exitStatus() !== undefined) return 'already_exited';
  if (quitGraceMs > 0) {
    proc.requestQuit();
    if (await exitedWithin(proc, quitGraceMs)) return 'quit';
  }
  proc.kill('SIGTERM');
  const firstWait = Math.min(SECOND_TERM_AFTER_MS, termGraceMs);
  if (await exitedWithin(proc, firstWait)) return 'sigterm';
  proc.kill('SIGTERM');
  if (await exitedWithin(proc, termGraceMs - firstWait)) return 'sigterm';
  proc.kill('SIGKILL');
  if (await exitedWithin(proc, killWaitMs)) return 'sigkill';
  return 'unresponsive';
}
