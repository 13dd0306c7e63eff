/**
 * `npm run bench:gpu -- --out <file.json> [--provider cpu|cuda|tensorrt] [--batch-sizes 1,2,4,8,16,32] ...`
 *
 * Batched detection per model and batch size, on the CPU or a GPU provider (see detector/batch-benchmark.ts).
 * Progress on stderr, a summary table on stdout, everything in the JSON file.
 */
import { isAppError } from '../core/errors.js';
import { USAGE, main } from '../detector/batch-benchmark.js';

const argv = process.argv.slice(2);
if (argv.includes('--help') || argv.includes('-h')) {
  console.log(USAGE);
} else {
  main(argv).catch((err: unknown) => {
    console.error(isAppError(err) ? err.message : err);
    process.exitCode = 1;
  });
}
