/**
 * A recorded clip decoded the way ingest decodes a camera (ffmpeg's `fps` filter, scaled, RGB24), frame
 * by frame with back-pressure: the consumer takes as long as it needs and no frame is dropped. For the
 * tools that measure what the chain makes of every analysed frame (eval:scenarios `--replay`,
 * bench:motion-gate), not for cameras: a camera is read newest-frame-wins (ingest/camera-stream.ts).
 */
import { spawn } from 'node:child_process';
import { AppError } from '../../core/errors.js';

export interface ClipFrame {
  /** 0, 1, 2… in decode order. */
  index: number;
  /** The frame's time in the clip at the asked rate: index × 1000 / fps. */
  atMs: number;
  width: number;
  height: number;
  /** width × height × 3 bytes, RGB24; owned by the consumer. */
  data: Buffer;
}

export interface ClipFramesOptions {
  fps: number;
  width: number;
  /** Default: 16:9 of `width`, even (the ingest default for camera frames). */
  height?: number;
  ffmpegPath?: string;
  signal?: AbortSignal;
}

export async function* clipFrames(clip: string, opts: ClipFramesOptions): AsyncGenerator<ClipFrame> {
  const { fps, width } = opts;
  const height = opts.height ?? Math.round((width * 9) / 16 / 2) * 2;
  const ff = spawn(
    opts.ffmpegPath ?? 'ffmpeg',
    [
      ...['-hide_banner', '-loglevel', 'error', '-nostdin', '-i', clip],
      ...['-vf', `fps=${fps},scale=${width}:${height}`, '-f', 'rawvideo', '-pix_fmt', 'rgb24', 'pipe:1'],
    ],
    { stdio: ['ignore', 'pipe', 'pipe'], ...(opts.signal ? { signal: opts.signal } : {}) },
  );
  let stderr = '';
  ff.stderr.on('data', (d: Buffer) => {
    if (stderr.length < 8192) stderr += d.toString();
  });
  const exited = new Promise<number | null>((resolve, reject) => {
    ff.once('error', reject);
    ff.once('close', (code) => resolve(code));
  });
  // Consumers that stop early (return/throw) must not leave ffmpeg behind.
  const kill = () => {
    if (ff.exitCode === null && ff.signalCode === null) ff.kill('SIGKILL');
  };
  const size = width * height * 3;
  let pending: Buffer = Buffer.alloc(0);
  let index = 0;
  try {
    // Async iteration of a readable pauses ffmpeg's pipe while the consumer works.
    for await (const chunk of ff.stdout as AsyncIterable<Buffer>) {
      pending = pending.length ? Buffer.concat([pending, chunk]) : chunk;
      while (pending.length >= size) {
        const data = Buffer.from(pending.subarray(0, size));
        pending = pending.subarray(size);
        yield { index, atMs: (index * 1000) / fps, width, height, data };
        index += 1;
      }
    }
    const code = await exited;
    if (code !== 0)
      throw new AppError('bad_request', `ffmpeg could not decode ${clip} (exit ${code}): ${stderr.trim()}`);
    if (index === 0) throw new AppError('bad_request', `${clip} has no video frames`);
  } finally {
    kill();
  }
}
