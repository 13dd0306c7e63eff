/**
 * `npm run eval:scenarios -- --seed <n> --count <k> --out <file.json> [--rules a,b] [--concurrency c]
 * [--keep] [--fps f] [--width px] [--duration s] [--db auto|postgres|embedded] [--no-plates]`
 *
 * Rule accuracy on seeded, rendered scenarios with ground truth, through the real chain (RTSP → ingest →
 * detector → tracker → rules → evidence → BullMQ → PostgreSQL): per rule precision, recall and plate
 * exact match, duplicates and evidence verification. Progress on stderr, a summary table on stdout,
 * everything in the JSON file. See docs/ACCURACY.md ("Rules on seeded scenarios").
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfig } from '../core/config.js';
import { errorMessage, isAppError } from '../core/errors.js';
import { createLogger } from '../core/logger.js';
import { stopBench } from './bench-fleet/abort.js';
import { COVERED_RULES } from './scenarios/generate.js';
import { runEvaluation, type EvalArgs, type EvalReport } from './scenarios/run.js';

export const USAGE = `Usage: npm run eval:scenarios -- --seed <n> --count <k> [--out <file.json>] [options]

Generates k seeded scenarios (a road or a signalled approach, vehicles cut from real photos carrying
rendered Vietnamese plates, scripted paths, ground truth), renders each to H.264 (cached under
DATA_DIR/scenarios), serves it over RTSP and runs the real chain on it, then matches the recorded
violations to the ground truth and re-verifies every evidence bundle.

  --seed <n>            first seed (default 1)
  --count <k>           scenarios (default 1)
  --out <file.json>     the JSON report
  --rules a,b           only these rules' ground truth (default: ${COVERED_RULES.join(',')})
  --concurrency <c>     scenarios at once (default 2)
  --fps <f>             analysed frames per second (default 2, as INGEST_FPS)
  --width <px>          analysed frame width (default 1280: the clip's own; plates need the pixels)
  --duration <s>        seconds per scenario clip (default 40)
  --db auto|postgres|embedded   throwaway database (default auto)
  --keep                keep the database and the evidence directory
  --no-plates           do not read plates (plate figures are then empty)
  --gate-lengthen <m>   move every road gate's entry line this many metres further away (default 0: a
                        9–14 m gate); the scenarios are otherwise the same
  --no-tiles            ignore the scenes' zoom windows (detectionTiles): the whole frame only, for a
                        side-by-side comparison
  --replay              decode the clip files frame for frame instead of serving them over RTSP in
                        real time: every analysed frame reaches the engine and its evidence is done
                        before the next frame (the models and rules without the machine's load)
  --help                this text
`;

class UsageError extends Error {}

export function parseEvalArgs(argv: readonly string[]): EvalArgs {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: {
        seed: { type: 'string' },
        count: { type: 'string' },
        out: { type: 'string' },
        rules: { type: 'string' },
        concurrency: { type: 'string' },
        fps: { type: 'string' },
        width: { type: 'string' },
        duration: { type: 'string' },
        db: { type: 'string' },
        keep: { type: 'boolean' },
        'no-plates': { type: 'boolean' },
        'no-tiles': { type: 'boolean' },
        'gate-lengthen': { type: 'string' },
        replay: { type: 'boolean' },
      },
    }));
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const num = (name: string, raw: string | undefined, fallback: number, min: number, integer: boolean) => {
    if (raw === undefined) return fallback;
    const v = Number(raw);
    if (!Number.isFinite(v) || v < min || (integer && !Number.isInteger(v)))
      throw new UsageError(`--${name} must be ${integer ? 'an integer' : 'a number'} ≥ ${min} (got ${raw})`);
    return v;
  };
  const rules = values.rules
    ?.split(',')
    .map((r) => r.trim())
    .filter(Boolean);
  for (const r of rules ?? [])
    if (!(COVERED_RULES as readonly string[]).includes(r))
      throw new UsageError(`--rules: ${r} is not scripted by the generator (${COVERED_RULES.join(', ')})`);
  const db = values.db ?? 'auto';
  if (db !== 'auto' && db !== 'postgres' && db !== 'embedded')
    throw new UsageError(`--db must be auto, postgres or embedded (got ${db})`);
  const width = num('width', values.width, 1280, 64, true);
  if (width % 2) throw new UsageError('--width must be even');
  return {
    seed: num('seed', values.seed, 1, 0, true),
    count: num('count', values.count, 1, 1, true),
    out: values.out,
    rules,
    keep: values.keep ?? false,
    concurrency: num('concurrency', values.concurrency, 2, 1, true),
    fps: num('fps', values.fps, 2, 0.5, false),
    width,
    durationS: num('duration', values.duration, 40, 15, false),
    db,
    plates: !values['no-plates'],
    replay: values.replay ?? false,
    tiles: !values['no-tiles'],
    gateLengthenM: num('gate-lengthen', values['gate-lengthen'], 0, 0, false),
  };
}

const pct = (v: number | null) => (v === null ? '—' : `${(v * 100).toFixed(1)} %`);

function speedLine(m: EvalReport['speed_measurement']): string {
  if (!('error_kmh' in m) || !m.error_kmh) return 'speed measured: no matched speeding row';
  const e = m.error_kmh;
  const sign = (v: number) => `${v > 0 ? '+' : ''}${v.toFixed(2)}`;
  return `speed measured − true (km/h, ${m.n} rows): median ${sign(e.median)}, mean ${sign(e.mean)}, from ${sign(e.min)} to ${sign(e.max)}; above the ${m.tolerance_kmh} km/h tolerance: ${m.over_tolerance}`;
}

export function summary(r: EvalReport): string {
  const lines = [
    `${r.config.count} scenarios from seed ${r.config.seed} (${r.config.source === 'replay' ? 'replayed frame for frame' : 'real time over RTSP'}, ${r.config.detector_model}${r.config.detection_tiles ? '' : ', no zoom windows'}); ${r.machine.nproc} CPUs, ${r.machine.cpu_model}`,
    '',
    'rule                   n  recorded  matched  false  dup  precision  recall  plate exact',
  ];
  for (const [rule, f] of Object.entries(r.per_rule)) {
    lines.push(
      `${rule.padEnd(20)} ${String(f.n).padStart(3)} ${String(f.recorded).padStart(9)} ${String(f.matched).padStart(8)} ${String(f.false_flags).padStart(6)} ${String(f.duplicates).padStart(4)} ${pct(f.precision).padStart(10)} ${pct(f.recall).padStart(7)} ${pct(f.plate_exact_rate).padStart(12)}`,
    );
  }
  lines.push(
    '',
    `all: n ${r.n}, precision ${pct(r.precision)}, recall ${pct(r.recall)}, plate exact ${pct(r.plate_exact)}, duplicates ${r.duplicates}, false flags ${r.false_flags}`,
    `evidence bundles verified ${r.bundles_verified}, failed ${r.bundles_failed}`,
    speedLine(r.speed_measurement),
    `scenarios with errors: ${r.scenarios.filter((s) => s.error).length}`,
  );
  return `${lines.join('\n')}\n`;
}

async function main(argv: string[]): Promise<void> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(USAGE);
    return;
  }
  const args = parseEvalArgs(argv);
  const config = loadConfig(process.env);
  process.env['LOG_LEVEL'] ??= 'warn';
  const log = createLogger({ level: process.env['LOG_LEVEL'], name: 'eval-scenarios' });
  const t0 = Date.now();
  const progress = (line: string) =>
    process.stderr.write(`[eval-scenarios ${((Date.now() - t0) / 1000).toFixed(0).padStart(4)} s] ${line}\n`);
  const command = `npm run eval:scenarios -- ${argv.join(' ')}`.trim();
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      progress(`${signal}: cleaning up`);
      stopBench();
    });
  }
  const report = await runEvaluation(args, { config, log, progress, command });
  if (args.out) {
    await fs.mkdir(path.dirname(path.resolve(args.out)), { recursive: true });
    await fs.writeFile(args.out, `${JSON.stringify(report, null, 2)}\n`);
    progress(`report written to ${args.out}`);
  }
  process.stdout.write(`\n${command}\n\n${summary(report)}`);
}

main(process.argv.slice(2)).then(
  () => process.exit(process.exitCode ?? 0),
  (err: unknown) => {
    if (err instanceof UsageError) process.stderr.write(`${err.message}\n\n${USAGE}`);
    else
      process.stderr.write(
        `eval-scenarios: ${isAppError(err) ? `${err.code}: ${err.message}` : errorMessage(err)}\n`,
      );
    process.exit(err instanceof UsageError ? 2 : 1);
  },
);
