/**
 * `npm run bench:detector -- --out <file.json> [--iterations N] [--models nanodet-coco,...] [--peer]`
 *
 * Detector timings on one intra-op thread: the whole pipeline against the bare session.run, interleaved,
 * per model and input size, and the worker-thread round trip. Progress on stderr, a summary table on
 * stdout, everything in the JSON file. The measurement lives in detector/benchmark.ts.
 */
import { isAppError } from '../core/errors.js';
import { USAGE, main } from '../detector/benchmark.js';

const argv = process.argv.slice(2);
if (argv.includes('--help') || argv.includes('-h')) {
  console.log(USAGE);
} else {
  main(argv).catch((err: unknown) => {
    console.error(isAppError(err) ? err.message : err);
    process.exitCode = 1;
  });
}
