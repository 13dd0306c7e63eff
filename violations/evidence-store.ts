import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { AppError } from '../core/errors.js';

/**
 * Content-addressed evidence store on a filesystem (a local disk in the demo, a shared volume in
 * production). A file's name is its sha256, so a stored asset cannot change without its address changing,
 * writes are idempotent, and the database row (sha256, size, uri) is the index. Blobs stay out of Redis
 * and out of the database's hot tables.
 */
export interface StoredAsset {
  sha256: string;
  sizeBytes: number;
  mediaType: string;
  storageUri: string;
}

const EXTENSIONS: Record<string, string> = {
  'image/jpeg': 'jpg',
  'video/mp4': 'mp4',
  'application/json': 'json',
};

export class EvidenceStore {
  constructor(readonly root: string) {}

  async put(bytes: Buffer, mediaType: string): Promise<StoredAsset> {
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    const rel = this.relativePath(sha256, mediaType);
    const file = path.join(this.root, rel);
    try {
      const stat = await fs.stat(file);
      if (stat.size === bytes.length)
        return { sha256, sizeBytes: bytes.length, mediaType, storageUri: `cas:${rel}` };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    await fs.mkdir(path.dirname(file), { recursive: true });
    const tmp = `${file}.${randomBytes(6).toString('hex')}.tmp`;
    await fs.writeFile(tmp, bytes, { flag: 'wx' });
    await fs.rename(tmp, file);
    return { sha256, sizeBytes: bytes.length, mediaType, storageUri: `cas:${rel}` };
  }

  async read(storageUri: string): Promise<Buffer> {
    return fs.readFile(this.resolve(storageUri));
  }

  /** Re-reads an asset and checks its hash and size; throws AppError('evidence_invalid') naming the fault. */
  async verify(asset: Pick<StoredAsset, 'sha256' | 'sizeBytes' | 'storageUri'>): Promise<void> {
    let bytes: Buffer;
    try {
      bytes = await this.read(asset.storageUri);
    } catch (err) {
      throw new AppError('evidence_invalid', `evidence ${asset.sha256} is missing from the store`, {
        permanent: true,
        cause: err,
      });
    }
    const actual = createHash('sha256').update(bytes).digest('hex');
    if (actual !== asset.sha256 || bytes.length !== asset.sizeBytes) {
      throw new AppError('evidence_invalid', `evidence ${asset.sha256} does not match its hash or size`, {
        permanent: true,
      });
    }
  }

  /** The address a file of this hash and media type has in the store. */
  uriFor(sha256: string, mediaType: string): string {
    if (!/^[0-9a-f]{64}$/.test(sha256))
      throw new AppError('bad_request', 'not a sha256', { permanent: true });
    return `cas:${this.relativePath(sha256, mediaType)}`;
  }

  resolve(storageUri: string): string {
    const match = /^cas:(sha256\/[0-9a-f]{2}\/[0-9a-f]{64}\.[a-z0-9]+)$/.exec(storageUri);
    if (!match) throw new AppError('bad_request', 'not an evidence store address', { permanent: true });
    return path.join(this.root, match[1]!);
  }

  private relativePath(sha256: string, mediaType: string): string {
    const ext = EXTENSIONS[mediaType];
    if (!ext)
      throw new AppError('bad_request', `unsupported evidence media type ${mediaType}`, { permanent: true });
    return `sha256/${sha256.slice(0, 2)}/${sha256}.${ext}`;
  }
}
