/**
 * `npm run evidence:verify -- <violation-id | manifest-path | manifest-sha256> [--evidence-dir DIR] [--public-key PEM] [--json]`
 *
 * With a violation id the manifest is found through the database (DATABASE_URL, or the embedded one), and
 * the evidence rows recorded for the violation must be exactly the files the manifest lists.
 * Re-checks a violation's evidence: every file the manifest lists (present, sha256, size), the
 * manifest's own hash when it is addressed by one, and its Ed25519 signature, against the public key
 * given (PEM file) or else only against the key embedded in the manifest. Prints each check and names
 * every fault. Exit status: 0 all good, 1 a check failed, 2 bad usage. The checks live in
 * violations/evidence-verify.ts.
 */
import fs from 'node:fs/promises';
import { loadConfig } from '../core/config.js';
import { AppError, errorMessage, isAppError } from '../core/errors.js';
import { createLogger } from '../core/logger.js';
import { openDatabase } from '../db/database.js';
import { getViolationById } from '../db/repositories/violation.repository.js';
import { checkEvidenceRows } from '../violations/evidence-rows.js';
import { publicKeyFromPem } from '../violations/evidence-signature.js';
import { verifyEvidence } from '../violations/evidence-verify.js';

const USAGE =
  'usage: npm run evidence:verify -- <violation-id | manifest-path | manifest-sha256> [--evidence-dir DIR] [--public-key PEM] [--json]';

/** The manifest of a violation from the database, and the problems between its rows and the manifest. */
async function fromDatabase(
  violationId: number,
): Promise<{ sha256: string; rows: { kind: string; sha256: string }[] }> {
  const config = loadConfig(process.env);
  const database = await openDatabase(config, createLogger({ level: 'warn', name: 'evidence:verify' }));
  try {
    const v = await getViolationById(database.db, violationId);
    if (!v) throw new AppError('not_found', `violation ${violationId} does not exist`);
    const manifest = v.evidence.find((e) => e.kind === 'manifest');
    if (!manifest) throw new AppError('evidence_invalid', `violation ${violationId} has no manifest`);
    return { sha256: manifest.sha256, rows: v.evidence.filter((e) => e.kind !== 'manifest') };
  } finally {
    await database.close();
  }
}

async function main(argv: string[]): Promise<number> {
  let manifest: string | undefined;
  let evidenceDir: string | undefined;
  let publicKeyPath: string | undefined;
  let json = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--evidence-dir') evidenceDir = argv[++i];
    else if (arg === '--public-key') publicKeyPath = argv[++i];
    else if (arg === '--json') json = true;
    else if (arg === '--help' || arg === '-h') {
      console.log(USAGE);
      return 0;
    } else if (!arg.startsWith('--') && manifest === undefined) manifest = arg;
    else {
      console.error(`unknown argument ${arg}\n${USAGE}`);
      return 2;
    }
  }
  if (
    !manifest ||
    (argv.includes('--evidence-dir') && !evidenceDir) ||
    (argv.includes('--public-key') && !publicKeyPath)
  ) {
    console.error(USAGE);
    return 2;
  }
  let rows: { kind: string; sha256: string }[] | undefined;
  if (/^\d{1,15}$/.test(manifest)) {
    const found = await fromDatabase(Number(manifest));
    manifest = found.sha256;
    rows = found.rows;
  }
  if (!evidenceDir && /^[0-9a-f]{64}$/.test(manifest)) evidenceDir = loadConfig(process.env).evidenceDir;
  const publicKey = publicKeyPath ? publicKeyFromPem(await fs.readFile(publicKeyPath)) : undefined;

  const result = await verifyEvidence({ manifest, evidenceDir, publicKey });
  // The database's evidence rows and the signed manifest must name the same files.
  if (rows) checkEvidenceRows(result, rows);
  if (json) {
    console.log(JSON.stringify(result, null, 2));
    return result.ok ? 0 : 1;
  }
  const mark = (ok: boolean) => (ok ? 'ok  ' : 'FAIL');
  console.log(`manifest  ${result.manifestPath}`);
  console.log(`          sha256 ${result.manifestSha256}`);
  const sig = result.signature;
  console.log(
    `${mark(sig.ok)} signature${sig.keyId ? ` ${sig.keyId}` : ''}${sig.ok ? (sig.pinned ? ' (trusted key)' : ' (embedded key only)') : `: ${sig.reason}`}`,
  );
  for (const f of result.files)
    console.log(`${mark(f.ok)} ${f.kind.padEnd(13)} ${f.sha256}${f.ok ? '' : `: ${f.reason}`}`);
  const clip = result.clip;
  if (clip) {
    console.log(
      clip['status'] === 'missing'
        ? `note: no clip: ${String(clip['reason'])}`
        : `clip      ${String(clip['status'])}: ${String(clip['codec'])}, ${String(clip['frameCount'])} frames, ${String(clip['startCapturedAt'])} to ${String(clip['endCapturedAt'])}`,
    );
  }
  if (sig.ok && !sig.pinned) {
    console.log('note: without --public-key the signature proves integrity, not who signed it');
  }
  if (result.ok) console.log(`VERIFIED: ${result.files.length} files and the signature`);
  else {
    console.log(
      `NOT VERIFIED (${result.problems.length} problem${result.problems.length === 1 ? '' : 's'}):`,
    );
    for (const p of result.problems) console.log(`  - ${p}`);
  }
  return result.ok ? 0 : 1;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    console.error(isAppError(err) ? err.message : errorMessage(err));
    process.exitCode = isAppError(err) && err.code === 'bad_request' ? 2 : 1;
  },
);
