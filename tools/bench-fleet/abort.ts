/**
 * Ctrl-C during a benchmark: every wait of the run goes through `sleep`, which rejects once `stopBench()`
 * was called, so the run unwinds through its clean-up (ffmpeg, ingest processes, RTSP servers, the
 * throwaway database and the queue keys) instead of leaving them behind.
 */

export class BenchInterrupted extends Error {
  constructor() {
    super('interrupted');
    this.name = 'BenchInterrupted';
  }
}

const controller = new AbortController();

export function stopBench(): void {
  controller.abort();
}

export function sleep(ms: number): Promise<void> {
  const signal = controller.signal;
  if (signal.aborted) return Promise.reject(new BenchInterrupted());
  return new Promise<void>((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(timer);
      reject(new BenchInterrupted());
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
