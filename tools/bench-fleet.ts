/**
 * `npm run bench:fleet -- --cameras <n> --fps <f> --duration <s> --out <file.json> [--resolution 1920x1080]
 * [--decode all|keyframes|reduced] [--mode pipeline|fleet388]`
 *
 * Fleet capacity on this machine: cameras per CPU core through the whole chain, against the decode-only
 * ceiling of the same streams, with CPU shares and frame-to-violation latency; or (fleet388) the whole
 * fleet's assignment, monitoring and failover through real ingest processes. Progress on stderr, a summary
 * on stdout, everything in the JSON file. See `--help` and docs/PERFORMANCE.md ("Fleet capacity").
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { loadConfig } from '../core/config.js';
import { errorMessage, isAppError } from '../core/errors.js';
import { createLogger } from '../core/logger.js';
import { stopBench } from './bench-fleet/abort.js';
import { parseBenchArgs, UsageError, USAGE } from './bench-fleet/args.js';
import { runFleet388 } from './bench-fleet/fleet388.js';
import { runPipelineBench } from './bench-fleet/pipeline-run.js';
import { fleetSummary, pipelineSummary } from './bench-fleet/summary.js';

async function main(argv: string[]): Promise<void> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(USAGE);
    return;
  }
  const config = loadConfig(process.env);
  const args = parseBenchArgs(argv, { decode: config.INGEST_DECODE, width: config.INGEST_WIDTH });
  // Component logs: warnings and worse unless LOG_LEVEL says otherwise (progress has its own lines).
  // The detector's worker thread and the ingest processes read LOG_LEVEL themselves.
  process.env['LOG_LEVEL'] ??= 'warn';
  const log = createLogger({ level: process.env['LOG_LEVEL'], name: 'bench-fleet' });
  const t0 = Date.now();
  const progress = (line: string) =>
    process.stderr.write(`[bench-fleet ${((Date.now() - t0) / 1000).toFixed(0).padStart(4)} s] ${line}\n`);
  const command = `npm run bench:fleet -- ${argv.join(' ')}`.trim();

  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      progress(`${signal}: cleaning up`);
      stopBench();
    });
  }

  const ctx = { config, log, progress };
  const report = args.mode === 'fleet388' ? await runFleet388(args, ctx) : await runPipelineBench(args, ctx);
  const withCommand = { command, ...report };
  if (args.out) {
    await fs.mkdir(path.dirname(path.resolve(args.out)), { recursive: true });
    await fs.writeFile(args.out, `${JSON.stringify(withCommand, null, 2)}\n`);
    progress(`report written to ${args.out}`);
  }
  process.stdout.write(
    `\n${command}\n\n${report.mode === 'fleet388' ? fleetSummary(report) : pipelineSummary(report)}`,
  );
}

main(process.argv.slice(2)).then(
  () => process.exit(process.exitCode ?? 0),
  (err: unknown) => {
    if (err instanceof UsageError) process.stderr.write(`${err.message}\n\n${USAGE}`);
    else
      process.stderr.write(
        `bench-fleet: ${isAppError(err) ? `${err.code}: ${err.message}` : errorMessage(err)}\n`,
      );
    process.exit(err instanceof UsageError ? 2 : 1);
  },
);
