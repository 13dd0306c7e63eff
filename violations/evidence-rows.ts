import type { EvidenceVerification } from './evidence-verify.js';

/**
 * The database's evidence rows of a violation against its signed manifest: they must name the same
 * files (kind and sha256), the manifest itself aside. Adds a problem per difference and clears `ok`
 * when there is one; returns the same verification.
 */
export function checkEvidenceRows(
  result: EvidenceVerification,
  rows: readonly { kind: string; sha256: string }[],
): EvidenceVerification {
  const files = rows.filter((r) => r.kind !== 'manifest');
  const listed = new Map(result.files.map((f) => [f.kind, f.sha256]));
  for (const row of files) {
    if (listed.get(row.kind) !== row.sha256) {
      result.problems.push(`database row ${row.kind} ${row.sha256} is not in the manifest`);
      result.ok = false;
    }
  }
  for (const [kind] of listed) {
    if (!files.some((r) => r.kind === kind)) {
      result.problems.push(`manifest file ${kind} has no database row`);
      result.ok = false;
    }
  }
  return result;
}
