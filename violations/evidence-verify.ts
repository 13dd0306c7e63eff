import { createHash, type KeyObject } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { AppError } from '../core/errors.js';
import { verifyManifestSignature, type SignatureCheck } from './evidence-signature.js';
import { EvidenceStore } from './evidence-store.js';

/**
 * Re-checks a stored violation's evidence from its manifest alone: the manifest's own hash (when it is
 * addressed by one), its signature, and every file it lists (present, same sha256, same size). Each
 * fault is named; nothing is repaired.
 */

export interface FileCheck {
  kind: string;
  sha256: string;
  ok: boolean;
  reason?: string;
}

export interface EvidenceVerification {
  ok: boolean;
  manifestPath: string;
  manifestSha256: string;
  signature: SignatureCheck;
  files: FileCheck[];
  /** The manifest's clip section as written (status, times, codec, frames; or why it is missing). */
  clip?: Record<string, unknown>;
  /** Every fault, one line each. */
  problems: string[];
}

const SHA256 = /^[0-9a-f]{64}$/;
const manifestFiles = z.array(
  z.looseObject({
    kind: z.string(),
    sha256: z.string().regex(SHA256),
    mediaType: z.string(),
    sizeBytes: z.number().int().nonnegative(),
  }),
);

/**
 * `manifest` is a file path or the manifest's sha256 (looked up in `evidenceDir`). Without
 * `evidenceDir`, a manifest path inside a store (`…/sha256/ab/<sha256>.json`) names its store.
 */
export async function verifyEvidence(opts: {
  manifest: string;
  evidenceDir?: string;
  publicKey?: KeyObject;
}): Promise<EvidenceVerification> {
  const bySha = SHA256.test(opts.manifest);
  const evidenceDir = opts.evidenceDir ?? (bySha ? undefined : storeRootOf(opts.manifest));
  if (!evidenceDir) {
    throw new AppError('bad_request', 'the evidence directory is needed to find the files (--evidence-dir)', {
      permanent: true,
    });
  }
  const store = new EvidenceStore(evidenceDir);
  const manifestPath = bySha
    ? store.resolve(store.uriFor(opts.manifest, 'application/json'))
    : path.resolve(opts.manifest);
  const problems: string[] = [];
  let bytes: Buffer;
  try {
    bytes = await fs.readFile(manifestPath);
  } catch (err) {
    throw new AppError('not_found', `manifest ${manifestPath} cannot be read`, {
      permanent: true,
      cause: err,
    });
  }
  const manifestSha256 = sha256(bytes);
  const expected = bySha ? opts.manifest : /([0-9a-f]{64})\.json$/.exec(path.basename(manifestPath))?.[1];
  if (expected && expected !== manifestSha256) {
    problems.push(`manifest: content hash ${manifestSha256} does not match its address ${expected}`);
  }

  let manifest: unknown;
  try {
    manifest = JSON.parse(bytes.toString('utf8'));
  } catch (err) {
    problems.push(`manifest: not valid JSON (${(err as Error).message})`);
  }
  const signature: SignatureCheck =
    manifest === undefined
      ? { ok: false, pinned: opts.publicKey !== undefined, reason: 'manifest could not be read' }
      : verifyManifestSignature(manifest, opts.publicKey);
  if (!signature.ok) problems.push(`signature: ${signature.reason}`);

  const files: FileCheck[] = [];
  const listed = manifestFiles.safeParse((manifest as { files?: unknown } | undefined)?.files);
  if (manifest !== undefined && !listed.success)
    problems.push('manifest: its file list is missing or malformed');
  for (const f of listed.success ? listed.data : []) {
    const check = await checkFile(store, f);
    files.push(check);
    if (!check.ok) problems.push(`file ${f.kind} ${f.sha256}: ${check.reason}`);
  }
  if (listed.success) problems.push(...clipProblems(manifest, listed.data));
  const clip = (manifest as { clip?: unknown } | undefined)?.clip;
  return {
    ok: problems.length === 0,
    manifestPath,
    manifestSha256,
    signature,
    files,
    ...(clip !== null && typeof clip === 'object' && { clip: clip as Record<string, unknown> }),
    problems,
  };
}

async function checkFile(
  store: EvidenceStore,
  f: { kind: string; sha256: string; mediaType: string; sizeBytes: number },
): Promise<FileCheck> {
  const base = { kind: f.kind, sha256: f.sha256 };
  let file: string;
  try {
    file = store.resolve(store.uriFor(f.sha256, f.mediaType));
  } catch (err) {
    return { ...base, ok: false, reason: (err as Error).message };
  }
  let bytes: Buffer;
  try {
    bytes = await fs.readFile(file);
  } catch {
    return { ...base, ok: false, reason: `missing (${file})` };
  }
  const actual = sha256(bytes);
  if (actual !== f.sha256) return { ...base, ok: false, reason: `content hash is ${actual}` };
  if (bytes.length !== f.sizeBytes) {
    return { ...base, ok: false, reason: `size is ${bytes.length} bytes, manifest says ${f.sizeBytes}` };
  }
  return { ...base, ok: true };
}

/**
 * The manifest's clip section against its file list: a recorded clip must be the listed `clip` file
 * (same sha256), and a clip said to be missing must say why and list none.
 */
function clipProblems(manifest: unknown, files: readonly { kind: string; sha256: string }[]): string[] {
  const clip = (manifest as { clip?: unknown }).clip;
  if (clip === undefined) return []; // bundles made before clips existed
  const listed = files.filter((f) => f.kind === 'clip');
  const c = clip as { status?: unknown; sha256?: unknown; reason?: unknown } | null;
  if (c?.status === 'ok' || c?.status === 'partial') {
    if (listed.length !== 1 || listed[0]!.sha256 !== c.sha256)
      return [`manifest: clip ${String(c.sha256)} is not the clip in its file list`];
    return [];
  }
  if (c?.status === 'missing') {
    if (typeof c.reason !== 'string' || c.reason === '') return ['manifest: clip missing without a reason'];
    return listed.length > 0 ? ['manifest: clip said missing but a clip file is listed'] : [];
  }
  return ['manifest: clip section is malformed'];
}

/** `<root>/sha256/ab/<sha256>.json` → `<root>`. */
function storeRootOf(manifestPath: string): string | undefined {
  const abs = path.resolve(manifestPath);
  const m = /^(.*)[/\\]sha256[/\\]([0-9a-f]{2})[/\\]([0-9a-f]{64})\.json$/.exec(abs);
  return m && m[3]!.startsWith(m[2]!) ? m[1] : undefined;
}

function sha256(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}
