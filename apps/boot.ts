import { loadConfig, type Config } from '../core/config.js';
import { errorMessage, isAppError } from '../core/errors.js';
import { createLogger, setRootLogger, type Logger } from '../core/logger.js';
import { Lifecycle } from '../core/lifecycle.js';

/** Common start of every process role: config parsed once (or a clean exit naming the bad keys), logger, closers. */
export function boot(
  role: string,
  options: { quietByDefault?: boolean } = {},
): { config: Config; log: Logger; lifecycle: Lifecycle } {
  let config: Config;
  try {
    config = loadConfig(process.env);
  } catch (err) {
    process.stderr.write(`${role}: ${errorMessage(err)}\n`);
    process.exit(78); // EX_CONFIG
  }
  // An interactive role (the demo) prints its own progress; its log shows warnings unless LOG_LEVEL says more.
  const level = options.quietByDefault && process.env['LOG_LEVEL'] === undefined ? 'warn' : config.LOG_LEVEL;
  const log = createLogger({ level, name: role });
  setRootLogger(log);
  const lifecycle = new Lifecycle(log);
  lifecycle.installSignalHandlers();
  process.on('unhandledRejection', (reason) => {
    log.error({ err: errorMessage(reason) }, 'unhandled rejection');
  });
  return { config, log, lifecycle };
}

/** Runs main(); a failure at boot is logged in one line and ends the process non-zero. */
export function run(role: string, main: () => Promise<void>): void {
  main().catch((err: unknown) => {
    const message = isAppError(err) ? `${err.code}: ${err.message}` : errorMessage(err);
    process.stderr.write(`${role}: failed to start: ${message}\n`);
    process.exit(1);
  });
}
