/**
 * A camera's rolling buffer of its own compressed video, and the evidence clips cut from it.
 *
 * The camera's ffmpeg (the one that decodes frames for analysis) also copies the H.264 it receives,
 * untouched, into MPEG-TS segments of about a second (`-c copy -f segment`, see ffmpeg-adapter.ts).
 * Nothing is decoded or re-encoded for the buffer, and nothing of it is held in memory: per camera the
 * disk holds at most `wrap` segment files per ffmpeg run (ffmpeg reuses the names round-robin), and the
 * memory holds a list of a few dozen entries. A clip is the consecutive segments of one run that cover
 * the requested span, joined into an MP4 by stream copy (a ~50 ms ffmpeg run).
 *
 * Capture times. ffmpeg lists each segment, in stream seconds, at the moment it closes, which is when
 * the first packet after it arrives: the host clock at that moment is the segment's end. The offset
 * between stream and host clocks is the smallest (arrival − stream end) over the run's recent segments
 * (late arrivals only ever add), so one slow list line does not shift the clip. Frames handed to the
 * rules carry the time they left the decoder, a few frames later than their packets arrived: callers
 * ask for a margin (camera-pipeline.ts asks for 0.5 s on each side).
 *
 * Each ffmpeg run writes to its own folder (stream timestamps restart with every run, and a new run
 * must not overwrite segments a pending clip still needs); a run's folder is removed once its newest
 * segment is older than the buffer, and the camera's whole folder when the buffer closes.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { errorMessage } from '../core/errors.js';
import { logger, type Logger } from '../core/logger.js';
import type { SegmentSink, StreamRecorder } from './camera-supervisor.js';
import { concatList, concatSegments, probeVideo } from './ffmpeg-adapter.js';

export interface ClipBufferOptions {
  cameraId: string;
  /** This camera's folder (absolute); created on demand, removed by close(). */
  dir: string;
  /** Seconds of stream kept; also sets the files per run (ceil(keepS / segmentSeconds) + 2). */
  keepS: number;
  /** Target segment length (cut at the next keyframe, so never shorter than the camera's GOP). */
  segmentSeconds?: number;
  /** How long past the end of a requested span to wait for the segment that covers it. */
  maxWaitMs?: number;
  ffmpegPath?: string;
  log?: Logger;
  /** Test seam: the host clock. */
  now?: () => number;
}

/** A clip, or why there is none. `partial`: the camera's stream did not cover the whole span. */
export type ClipResult =
  | {
      status: 'ok' | 'partial';
      bytes: Buffer;
      mediaType: 'video/mp4';
      /** ffprobe's codec name ('h264'). */
      codec: string;
      /** Host-clock capture times of the first and last segment's bounds (epoch ms). */
      startAt: number;
      endAt: number;
      frameCount: number;
      durationS: number;
      reason?: string;
    }
  | { status: 'missing'; reason: string };

export interface SegmentEntry {
  file: string;
  startS: number;
  endS: number;
}

/** One line of ffmpeg's CSV segment list (`file,start,end`), or undefined when it is not one. */
export function parseSegmentLine(line: string): SegmentEntry | undefined {
  const m = /^(.+),(-?\d+(?:\.\d+)?),(-?\d+(?:\.\d+)?)$/.exec(line.trim());
  if (!m) return undefined;
  let file = m[1]!;
  // CSV quoting of a name with a comma or quote (ours never have one, but read it right).
  if (file.startsWith('"') && file.endsWith('"')) file = file.slice(1, -1).replaceAll('""', '"');
  const startS = Number(m[2]);
  const endS = Number(m[3]);
  if (!Number.isFinite(startS) || !Number.isFinite(endS) || endS < startS) return undefined;
  return { file, startS, endS };
}

/** A segment placed on the host clock. */
export interface TimedSegment {
  seq: number;
  file: string;
  startAt: number;
  endAt: number;
}

/** Segments further apart than this are not consecutive (a lost segment, a timestamp jump). */
const CONTIGUITY_SLACK_MS = 250;

/**
 * The consecutive block of `segments` (sorted by seq) that overlaps [from, to] the most, and whether
 * it covers all of it. Consecutive: seq numbers follow each other and each starts where the last ended.
 */
export function selectSegments(
  segments: readonly TimedSegment[],
  from: number,
  to: number,
): { segments: TimedSegment[]; covers: boolean } {
  let best: TimedSegment[] = [];
  let bestOverlap = 0;
  let block: TimedSegment[] = [];
  const overlapOf = (b: TimedSegment[]) =>
    b.reduce((sum, s) => sum + Math.max(0, Math.min(s.endAt, to) - Math.max(s.startAt, from)), 0);
  const close = () => {
    const kept = block.filter((s) => s.endAt > from && s.startAt < to);
    const overlap = overlapOf(kept);
    if (kept.length > 0 && overlap > bestOverlap) {
      best = kept;
      bestOverlap = overlap;
    }
    block = [];
  };
  for (const s of segments) {
    const prev = block.at(-1);
    if (prev && (s.seq !== prev.seq + 1 || Math.abs(s.startAt - prev.endAt) > CONTIGUITY_SLACK_MS)) close();
    block.push(s);
  }
  close();
  const covers = best.length > 0 && best[0]!.startAt <= from && best.at(-1)!.endAt >= to;
  return { segments: best, covers };
}

/** Recent (arrival − stream end) samples of a run; the smallest is the clock offset. */
const OFFSET_WINDOW = 30;

interface Run {
  id: number;
  dir: string;
  wrap: number;
  /** Stream-seconds entries, in arrival order; seq counts every segment the run closed. */
  entries: (SegmentEntry & { seq: number; seenAt: number })[];
  offsets: number[];
  nextSeq: number;
  ended: boolean;
  lastSeenAt: number;
}

export class ClipBuffer implements StreamRecorder {
  readonly cameraId: string;
  private readonly dir: string;
  private readonly keepMs: number;
  private readonly segmentSeconds: number;
  private readonly wrap: number;
  private readonly maxWaitMs: number;
  private readonly log: Logger;
  private readonly now: () => number;
  private readonly runs = new Map<number, Run>();
  private nextRunId = 1;
  private recorded = 0;
  private readonly waiters = new Set<() => void>();
  private readonly building = new Set<Promise<unknown>>();
  private closed = false;
  private removing = new Set<Promise<void>>();

  constructor(private readonly opts: ClipBufferOptions) {
    if (!path.isAbsolute(opts.dir)) throw new RangeError('ClipBuffer dir must be absolute');
    if (!(opts.keepS >= 8)) throw new RangeError('keepS must be at least 8 s (a clip spans about 7 s)');
    this.cameraId = opts.cameraId;
    this.dir = opts.dir;
    this.keepMs = opts.keepS * 1000;
    this.segmentSeconds = opts.segmentSeconds ?? 1;
    this.wrap = Math.ceil(opts.keepS / this.segmentSeconds) + 2;
    this.maxWaitMs = opts.maxWaitMs ?? 10_000;
    this.log = (opts.log ?? logger()).child({ module: 'ingest.clips', cameraId: opts.cameraId });
    this.now = opts.now ?? Date.now;
  }

  /** A fresh folder for the next ffmpeg run (called by the camera's supervisor before each start). */
  async begin(): Promise<SegmentSink> {
    if (this.closed) throw new Error('clip buffer closed');
    this.prune();
    const id = this.nextRunId++;
    const dir = path.join(this.dir, `run-${id}-${randomBytes(3).toString('hex')}`);
    await fs.mkdir(dir, { recursive: true });
    const run: Run = {
      id,
      dir,
      wrap: this.wrap,
      entries: [],
      offsets: [],
      nextSeq: 0,
      ended: false,
      lastSeenAt: this.now(),
    };
    this.runs.set(id, run);
    return {
      output: { dir, segmentSeconds: this.segmentSeconds, wrap: this.wrap },
      onSegment: (line) => this.onSegment(run, line),
      end: () => {
        run.ended = true;
        run.lastSeenAt = this.now();
        this.prune();
        this.wake();
      },
    };
  }

  /**
   * Runs kept, segments usable now (within the buffer), segments recorded since the buffer began, and
   * the most segment files the kept runs may occupy.
   */
  stats(): { runs: number; segments: number; recorded: number; maxFiles: number } {
    let segments = 0;
    for (const r of this.runs.values()) segments += r.entries.length;
    return { runs: this.runs.size, segments, recorded: this.recorded, maxFiles: this.runs.size * this.wrap };
  }

  /**
   * The clip covering [fromMs, toMs] (host clock). Waits, without holding anything but a timer, until
   * a segment ending at or after `toMs` has closed, or `maxWaitMs` past `toMs`, or the stream stops
   * (no ffmpeg run is recording, or the buffer closes); then joins what there is. Never throws: a clip
   * that cannot be made says why.
   */
  async clip(fromMs: number, toMs: number): Promise<ClipResult> {
    if (!(toMs > fromMs)) return { status: 'missing', reason: 'empty time span' };
    const task = this.build(fromMs, toMs).catch((err: unknown): ClipResult => ({
      status: 'missing',
      reason: `clip failed: ${errorMessage(err)}`,
    }));
    this.building.add(task);
    try {
      return await task;
    } finally {
      this.building.delete(task);
    }
  }

  /** Stops waiting clips (they are made from what is on disk), then removes the camera's folder. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.wake();
    await Promise.allSettled([...this.building]);
    await Promise.allSettled([...this.removing]);
    this.runs.clear();
    await fs.rm(this.dir, { recursive: true, force: true });
  }

  private onSegment(run: Run, line: string): void {
    const entry = parseSegmentLine(line);
    if (!entry) {
      this.log.debug({ line }, 'unreadable segment list line');
      return;
    }
    const seenAt = this.now();
    this.recorded += 1;
    run.entries.push({ ...entry, file: path.basename(entry.file), seq: run.nextSeq++, seenAt });
    run.lastSeenAt = seenAt;
    run.offsets.push(seenAt - entry.endS * 1000);
    if (run.offsets.length > OFFSET_WINDOW) run.offsets.shift();
    // Entries whose file ffmpeg has reused, or older than the buffer, go.
    const oldestLiveSeq = run.nextSeq + 1 - run.wrap;
    const offset = Math.min(...run.offsets);
    run.entries = run.entries.filter(
      (e) => e.seq >= oldestLiveSeq && offset + e.endS * 1000 >= seenAt - this.keepMs,
    );
    this.prune();
    this.wake();
  }

  private timed(run: Run): TimedSegment[] {
    if (run.offsets.length === 0) return [];
    const offset = Math.min(...run.offsets);
    return run.entries.map((e) => ({
      seq: e.seq,
      file: e.file,
      startAt: offset + e.startS * 1000,
      endAt: offset + e.endS * 1000,
    }));
  }

  private coveredUpTo(toMs: number): boolean {
    for (const run of this.runs.values()) {
      const last = this.timed(run).at(-1);
      if (last && last.endAt >= toMs) return true;
    }
    return false;
  }

  private async waitUntilCovered(toMs: number): Promise<void> {
    const deadline = toMs + this.maxWaitMs;
    // A run that has ended records no more; a later run cannot continue it (its clock starts over).
    const anyLive = () => [...this.runs.values()].some((r) => !r.ended);
    while (!this.closed && anyLive() && !this.coveredUpTo(toMs) && this.now() < deadline) {
      await new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          this.waiters.delete(done);
          resolve();
        };
        const timer = setTimeout(done, Math.max(1, deadline - this.now()));
        this.waiters.add(done);
      });
    }
  }

  private wake(): void {
    for (const w of [...this.waiters]) w();
  }

  private async build(fromMs: number, toMs: number): Promise<ClipResult> {
    await this.waitUntilCovered(toMs);
    let best: { run: Run; segments: TimedSegment[]; covers: boolean } | undefined;
    let bestSpan = 0;
    for (const run of this.runs.values()) {
      const pick = selectSegments(this.timed(run), fromMs, toMs);
      const span = pick.segments.reduce(
        (sum, s) => sum + Math.min(s.endAt, toMs) - Math.max(s.startAt, fromMs),
        0,
      );
      if (pick.segments.length > 0 && span > bestSpan) {
        best = { run, ...pick };
        bestSpan = span;
      }
    }
    if (!best) {
      return {
        status: 'missing',
        reason:
          this.runs.size === 0
            ? 'the camera was not streaming (no recording in the buffer)'
            : 'the camera stream did not cover the moment (dropped or reconnecting)',
      };
    }
    const { run, segments, covers } = best;
    const alive = () => segments.every((s) => s.seq >= run.nextSeq + 1 - run.wrap);
    if (!alive())
      return { status: 'missing', reason: 'the recording was overwritten before the clip was cut' };

    const tmp = path.join(this.dir, 'clips');
    await fs.mkdir(tmp, { recursive: true });
    const name = `clip-${randomBytes(6).toString('hex')}`;
    const listFile = path.join(tmp, `${name}.txt`);
    const output = path.join(tmp, `${name}.mp4`);
    try {
      await fs.writeFile(listFile, concatList(segments.map((s) => path.join(run.dir, s.file))));
      await concatSegments(
        listFile,
        output,
        this.opts.ffmpegPath ? { ffmpegPath: this.opts.ffmpegPath } : {},
      );
      // A segment reused while ffmpeg read it would splice a later second into the clip.
      if (!alive()) {
        return { status: 'missing', reason: 'the recording was overwritten while the clip was cut' };
      }
      const probe = await probeVideo(
        output,
        this.opts.ffmpegPath ? { ffmpegPath: this.opts.ffmpegPath } : {},
      );
      const bytes = await fs.readFile(output);
      const startAt = Math.round(segments[0]!.startAt);
      const endAt = Math.round(segments.at(-1)!.endAt);
      this.log.debug(
        { from: fromMs, to: toMs, startAt, endAt, segments: segments.length, bytes: bytes.length, covers },
        'clip cut',
      );
      return {
        status: covers ? 'ok' : 'partial',
        bytes,
        mediaType: 'video/mp4',
        codec: probe.codec,
        startAt,
        endAt,
        frameCount: probe.frames,
        durationS: probe.durationS,
        ...(!covers && {
          reason: `the camera stream covered ${new Date(startAt).toISOString()} to ${new Date(endAt).toISOString()} only`,
        }),
      };
    } finally {
      await Promise.allSettled([fs.rm(listFile, { force: true }), fs.rm(output, { force: true })]);
    }
  }

  /** Removes ended runs whose newest segment is older than the buffer (or that recorded nothing). */
  private prune(): void {
    const now = this.now();
    for (const run of [...this.runs.values()]) {
      if (!run.ended) continue;
      if (run.entries.length > 0 && now - run.lastSeenAt <= this.keepMs) continue;
      this.runs.delete(run.id);
      const removal = fs
        .rm(run.dir, { recursive: true, force: true })
        .catch((err: unknown) =>
          this.log.warn({ err: errorMessage(err), dir: run.dir }, 'old segment folder not removed'),
        )
        .finally(() => this.removing.delete(removal));
      this.removing.add(removal);
    }
  }
}

/** This process's folder under the clip root: `<host>-<pid>`, so processes sharing a disk never collide. */
export function processClipDir(root: string, host: string, pid = process.pid): string {
  return path.join(root, `${host.replace(/[^A-Za-z0-9._-]/g, '_')}-${pid}`);
}

/**
 * Removes the folders that ingest processes of this host left behind when they died (killed before
 * their shutdown ran): `<host>-<pid>` whose pid no longer runs. Returns the folders removed.
 */
export async function sweepDeadClipDirs(root: string, host: string): Promise<string[]> {
  const prefix = `${host.replace(/[^A-Za-z0-9._-]/g, '_')}-`;
  let names: string[];
  try {
    names = await fs.readdir(root);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  const removed: string[] = [];
  for (const name of names) {
    if (!name.startsWith(prefix)) continue;
    const pid = Number(name.slice(prefix.length));
    if (!Number.isInteger(pid) || pid <= 0 || pid === process.pid || isAlive(pid)) continue;
    await fs.rm(path.join(root, name), { recursive: true, force: true });
    removed.push(name);
  }
  return removed;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'; // alive, someone else's
  }
}
