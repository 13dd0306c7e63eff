/**
 * `npm run user:create -- --username u --role reviewer [--role supervisor] [--unit X] [--scope camera:TN-101]
 *    [--display-name "Nguyễn Văn A"] [--token [--token-name ci] [--token-days 90]]`
 *
 * Creates a staff account. The password is read from stdin when stdin is not a terminal (one line:
 * `printf '%s\n' "$PW" | npm run user:create -- …`); otherwise, or when stdin is empty, a random one is
 * generated and printed once. `--unit X` records the user's unit and scopes the roles to it (`unit:X`);
 * `--scope` (repeatable: `*`, `unit:X`, `camera:CODE`) sets the scopes explicitly (default `*`). `--token`
 * also makes a personal access token and prints it once. The creation is audited (actor system:cli).
 *
 * Exits 0 on success, 1 on failure (with the reason), 2 on a usage error.
 */
import { parseArgs } from 'node:util';
import { isValidScope, ROLES, type Role } from '../api/principal.js';
import {
  generatePassword,
  hashPassword,
  MAX_PASSWORD_LENGTH,
  MIN_PASSWORD_LENGTH,
} from '../api/security/password.js';
import { issueApiToken } from '../api/services/auth.service.js';
import { loadConfig } from '../core/config.js';
import { errorMessage } from '../core/errors.js';
import { createLogger } from '../core/logger.js';
import { inTransaction, openDatabase, type Database } from '../db/database.js';
import { appendAudit } from '../db/repositories/audit.repository.js';
import { createUser, normalizeUsername } from '../db/repositories/user.repository.js';

const USAGE =
  'usage: npm run user:create -- --username NAME --role ROLE [--role ROLE…] [--unit UNIT] [--scope SCOPE…]\n' +
  '         [--display-name TEXT] [--token [--token-name NAME] [--token-days N]]   (password on stdin, or generated)\n' +
  `       roles: ${ROLES.join(', ')}; scopes: *, unit:<unit>, camera:<camera code>`;

interface Command {
  username: string;
  roles: Role[];
  scopes: string[];
  unit: string | null;
  displayName: string;
  token: { name: string; days: number | null } | null;
}

function parseCommand(argv: string[]): Command | string {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        username: { type: 'string' },
        role: { type: 'string', multiple: true },
        unit: { type: 'string' },
        scope: { type: 'string', multiple: true },
        'display-name': { type: 'string' },
        token: { type: 'boolean' },
        'token-name': { type: 'string' },
        'token-days': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (err) {
    return errorMessage(err);
  }
  if (values.help) return '';
  const username = normalizeUsername(values.username ?? '');
  if (!/^[a-z0-9][a-z0-9._-]{2,63}$/.test(username)) {
    return '--username: 3 to 64 of a-z, 0-9, ".", "_", "-", starting with a letter or digit';
  }
  const roles = [...new Set(values.role ?? [])];
  if (roles.length === 0) return '--role is required';
  for (const r of roles) if (!(ROLES as readonly string[]).includes(r)) return `--role ${r}: unknown role`;
  const unit = values.unit ?? null;
  if (unit !== null && !/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(unit)) {
    return '--unit: 1 to 64 of letters, digits, ".", "_", "-"';
  }
  const scopes = [...new Set(values.scope ?? (unit ? [`unit:${unit}`] : ['*']))];
  for (const s of scopes)
    if (!isValidScope(s)) return `--scope ${s}: expected *, unit:<unit> or camera:<code>`;
  let token: Command['token'] = null;
  if (values.token) {
    const days = values['token-days'];
    if (days !== undefined && !/^[1-9]\d{0,3}$/.test(days)) return '--token-days: a whole number of days';
    token = { name: values['token-name'] ?? 'cli', days: days === undefined ? null : Number(days) };
    if (token.name.length < 1 || token.name.length > 100) return '--token-name: 1 to 100 characters';
  } else if (values['token-name'] !== undefined || values['token-days'] !== undefined) {
    return '--token-name and --token-days go with --token';
  }
  const displayName = (values['display-name'] ?? username).trim();
  if (displayName.length < 1 || displayName.length > 200) return '--display-name: 1 to 200 characters';
  return { username, roles: roles as Role[], scopes, unit, displayName, token };
}

/** The first line of stdin when it is not a terminal; '' when empty or a terminal. */
async function readPasswordFromStdin(): Promise<string> {
  if (process.stdin.isTTY) return '';
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of process.stdin as AsyncIterable<Buffer>) {
    chunks.push(chunk);
    size += chunk.length;
    if (size > 64 * 1024) break;
  }
  return (Buffer.concat(chunks).toString('utf8').split(/\r?\n/)[0] ?? '').trimEnd();
}

async function main(): Promise<number> {
  const command = parseCommand(process.argv.slice(2));
  if (typeof command === 'string') {
    process.stderr.write(`${command ? `user:create: ${command}\n` : ''}${USAGE}\n`);
    return 2;
  }
  let config;
  try {
    config = loadConfig(process.env);
  } catch (err) {
    process.stderr.write(`user:create: ${errorMessage(err)}\n`);
    return 1;
  }
  const supplied = await readPasswordFromStdin();
  if (supplied && (supplied.length < MIN_PASSWORD_LENGTH || supplied.length > MAX_PASSWORD_LENGTH)) {
    process.stderr.write(
      `user:create: the password needs ${MIN_PASSWORD_LENGTH} to ${MAX_PASSWORD_LENGTH} characters\n`,
    );
    return 2;
  }
  const password = supplied || generatePassword();
  const log = createLogger({ name: 'user-create', level: config.LOG_LEVEL });
  let database: Database | undefined;
  try {
    database = await openDatabase(config, log);
    const passwordHash = await hashPassword(password);
    const { user, token } = await inTransaction(database.db, async (trx) => {
      const created = await createUser(trx, {
        username: command.username,
        passwordHash,
        displayName: command.displayName,
        unit: command.unit,
        roles: command.roles.flatMap((role) => command.scopes.map((scope) => ({ role, scope }))),
      });
      await appendAudit(trx, {
        actor: 'system:cli',
        action: 'user.create',
        entityType: 'app_user',
        entityId: created.id,
        details: {
          username: created.username,
          unit: created.unit,
          roles: created.roles.map((g) => `${g.role}@${g.scope}`),
        },
      });
      const issued = command.token
        ? await issueApiToken(trx, {
            userId: created.id,
            name: command.token.name,
            actor: 'system:cli',
            expiresAt: command.token.days ? new Date(Date.now() + command.token.days * 86_400_000) : null,
          })
        : undefined;
      return { user: created, token: issued };
    });
    const lines = [
      `user:create: created ${user.username} (id ${user.id})`,
      `  roles     ${user.roles.map((g) => `${g.role} @ ${g.scope}`).join(', ')}`,
    ];
    if (!supplied) lines.push(`  password  ${password}    (shown once)`);
    if (token) {
      lines.push(
        `  token     ${token.secret}    (shown once; send as "Authorization: Bearer …")`,
        `            id ${token.token.id}, name ${token.token.name}, expires ${token.token.expiresAt ?? 'never'}`,
      );
    }
    process.stdout.write(`${lines.join('\n')}\n`);
    return 0;
  } catch (err) {
    process.stderr.write(`user:create: ${errorMessage(err)}\n`);
    return 1;
  } finally {
    await database?.close().catch((err: unknown) => {
      process.stderr.write(`user:create: closing the database failed: ${errorMessage(err)}\n`);
    });
  }
}

process.exit(await main());
