/** Command line of `npm run bench:fleet`. Pure: argv in, options out (or a usage error). */
import { parseArgs } from 'node:util';
import { DECODE_MODES, type DecodeMode } from '../../ingest/ffmpeg-adapter.js';

export const USAGE = `Usage: npm run bench:fleet -- [options]

Serves simulated RTSP cameras (GStreamer) looping an H.264 clip with a 1 s keyframe interval and no
B-frames, runs the whole chain on them (RTSP → ffmpeg → detector worker thread → tracker and rules →
evidence → BullMQ → worker → PostgreSQL) and measures CPU from /proc. Progress on stderr, a summary on
stdout, everything in the JSON file.

  --mode pipeline|fleet388   pipeline (default): the full chain in this process at --cameras × --fps,
                             then the decode-only ceiling of the same streams. fleet388: 388 small
                             cameras through two real ingest processes (apps/ingest.ts): assignment,
                             monitoring and the failover time when one of them is killed.
  --cameras <n>              simulated cameras (default 4; fleet388: 388)
  --fps <f>                  analysed frames per second per camera (default 2; fleet388: 1)
  --duration <s>             measured seconds, after all cameras are up (default 60)
  --out <file.json>          where the JSON report goes (default: none, summary only)
  --resolution <WxH>         camera stream size (default 1920x1080; fleet388: 320x180)
  --source-fps <f>           camera stream frame rate (default 25; fleet388: 1)
  --keyframe-interval <s>    seconds between the stream's keyframes (default 1)
  --decode all|keyframes|reduced
                             ffmpeg decode mode (default INGEST_DECODE, i.e. all; fleet388: keyframes)
  --width <px>               analysed frame width (default INGEST_WIDTH, i.e. 640; fleet388: 320)
  --ceiling-duration <s>     seconds of the decode-only measurement (default: min(duration, 30); 0: skip)
  --warmup <s>               seconds between all cameras up and the start of measuring (default 5)
  --db auto|postgres|embedded
                             throwaway database: a new database on TEST_DATABASE_URL's server (postgres),
                             the embedded PGlite (embedded), or postgres when it answers (auto, default)
  --ingest-processes <n>     fleet388: ingest processes sharing the cameras (default 2)
  --no-failover              fleet388: do not kill an ingest process at the end
  --help                     this text
`;

export type BenchMode = 'pipeline' | 'fleet388';
export type DbChoice = 'auto' | 'postgres' | 'embedded';

export interface BenchArgs {
  mode: BenchMode;
  cameras: number;
  fps: number;
  durationS: number;
  out: string | undefined;
  width: number;
  height: number;
  sourceFps: number;
  keyframeIntervalS: number;
  decode: DecodeMode;
  analysedWidth: number;
  ceilingDurationS: number;
  warmupS: number;
  db: DbChoice;
  ingestProcesses: number;
  failover: boolean;
}

export class UsageError extends Error {}

function positive(name: string, raw: string | undefined, fallback: number, integer = false): number {
  if (raw === undefined) return fallback;
  const v = Number(raw);
  if (!Number.isFinite(v) || v <= 0 || (integer && !Number.isInteger(v)))
    throw new UsageError(`--${name} must be a positive ${integer ? 'integer' : 'number'} (got ${raw})`);
  return v;
}

/** Parses argv (without node and the script). `defaults` carries the configuration's INGEST_* values. */
export function parseBenchArgs(
  argv: readonly string[],
  defaults: { decode: DecodeMode; width: number } = { decode: 'all', width: 640 },
): BenchArgs {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: {
        mode: { type: 'string' },
        cameras: { type: 'string' },
        fps: { type: 'string' },
        duration: { type: 'string' },
        out: { type: 'string' },
        resolution: { type: 'string' },
        'source-fps': { type: 'string' },
        'keyframe-interval': { type: 'string' },
        decode: { type: 'string' },
        width: { type: 'string' },
        'ceiling-duration': { type: 'string' },
        warmup: { type: 'string' },
        db: { type: 'string' },
        'ingest-processes': { type: 'string' },
        'no-failover': { type: 'boolean' },
      },
    }));
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const mode = values.mode ?? 'pipeline';
  if (mode !== 'pipeline' && mode !== 'fleet388')
    throw new UsageError(`--mode must be pipeline or fleet388 (got ${mode})`);
  const fleet = mode === 'fleet388';

  let width = fleet ? 320 : 1920;
  let height = fleet ? 180 : 1080;
  if (values.resolution !== undefined) {
    const m = /^(\d{2,5})x(\d{2,5})$/.exec(values.resolution);
    if (!m) throw new UsageError(`--resolution must look like 1920x1080 (got ${values.resolution})`);
    width = Number(m[1]);
    height = Number(m[2]);
    if (width % 2 || height % 2) throw new UsageError('--resolution must have an even width and height');
  }
  const decode = (values.decode ?? (fleet ? 'keyframes' : defaults.decode)) as DecodeMode;
  if (!DECODE_MODES.includes(decode))
    throw new UsageError(`--decode must be one of ${DECODE_MODES.join(', ')} (got ${String(values.decode)})`);
  const db = values.db ?? 'auto';
  if (db !== 'auto' && db !== 'postgres' && db !== 'embedded')
    throw new UsageError(`--db must be auto, postgres or embedded (got ${db})`);

  const durationS = positive('duration', values.duration, 60);
  let ceilingDurationS = Math.min(durationS, 30);
  if (values['ceiling-duration'] !== undefined) {
    ceilingDurationS = Number(values['ceiling-duration']);
    if (!Number.isFinite(ceilingDurationS) || ceilingDurationS < 0)
      throw new UsageError(`--ceiling-duration must be ≥ 0 (got ${values['ceiling-duration']})`);
  }
  const warmupS = values.warmup === undefined ? 5 : Number(values.warmup);
  if (!Number.isFinite(warmupS) || warmupS < 0)
    throw new UsageError(`--warmup must be ≥ 0 (got ${values.warmup})`);
  const analysedWidth = positive('width', values.width, fleet ? 320 : defaults.width, true);
  if (analysedWidth % 2) throw new UsageError('--width must be even');

  return {
    mode,
    cameras: positive('cameras', values.cameras, fleet ? 388 : 4, true),
    fps: positive('fps', values.fps, fleet ? 1 : 2),
    durationS,
    out: values.out,
    width,
    height,
    sourceFps: positive('source-fps', values['source-fps'], fleet ? 1 : 25),
    keyframeIntervalS: positive('keyframe-interval', values['keyframe-interval'], 1),
    decode,
    analysedWidth,
    ceilingDurationS,
    warmupS,
    db,
    ingestProcesses: positive('ingest-processes', values['ingest-processes'], 2, true),
    failover: !values['no-failover'],
  };
}

/**
 * The analysed frame rate a decode mode can deliver: keyframes mode decodes only keyframes, so it is
 * min(fps, keyframe rate); the bench clips have a keyframe every second.
 */
export function analysedFps(fps: number, decode: DecodeMode, keyframesPerSecond: number): number {
  return decode === 'keyframes' ? Math.min(fps, keyframesPerSecond) : fps;
}
