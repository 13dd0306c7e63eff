import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from 'pino';
import { z } from 'zod';
import { errorMessage } from '../core/errors.js';
import type { FlagSummary } from './evidence-builder.js';
import { evidenceRefSchema, recordViolationSchema, type RecordViolationPayload } from './payloads.js';
import type { TrackPlate } from './plate-evidence.js';

/**
 * The evidence journal: a flagged act is written to disk as soon as its stills are stored, updated when
 * its plate is read and when its manifest is sealed, and removed only once the job that records it has
 * reached Redis. A worker killed in between (reading plates, waiting the seconds after the act for the
 * clip, or holding a payload in the outbox while Redis is down) leaves the entry behind, and whoever runs
 * the camera next finishes it: the act is never lost.
 *
 * It lives next to the content-addressed store (`<evidence root>/journal/camera-<id>/`), on the same
 * volume as the stills it points at, so a worker on another machine that takes the camera over sees the
 * dead worker's entries. One small JSON file per act, named by its exactly-once key (camera, track,
 * rule), written to a temporary name, flushed to disk and renamed: a reader sees a whole entry or none.
 * Finishing an entry twice is harmless: the job id and the database's unique key are deterministic.
 */
const SCHEMA = 'phat-nguoi/evidence-journal@1';

const plateSchema = z.object({
  consensus: z.record(z.string(), z.unknown()),
  reads: z.array(z.record(z.string(), z.unknown())),
  best: z.record(z.string(), z.unknown()).optional(),
  crop: z.string().optional(),
  failures: z.array(z.string()),
  models: z.record(z.string(), z.unknown()),
  confidence: z.number(),
});

const entrySchema = z.object({
  schema: z.literal(SCHEMA),
  cameraId: z.number().int().positive(),
  trackKey: z.string().min(1),
  ruleCode: z.string().min(1),
  workerId: z.string(),
  sceneConfigVersion: z.number().int().positive(),
  /** The flag without pixels: what the manifest needs. */
  flag: z.record(z.string(), z.unknown()),
  images: z.array(evidenceRefSchema),
  plate: plateSchema.optional(),
  /** Set once the manifest is sealed: then only the job is left to send. */
  payload: recordViolationSchema.optional(),
  writtenAt: z.iso.datetime(),
});

export type JournalEntry = Omit<z.output<typeof entrySchema>, 'flag' | 'plate'> & {
  flag: FlagSummary;
  plate?: TrackPlate;
};

export interface JournalKey {
  cameraId: number;
  trackKey: string;
  ruleCode: string;
}

export class EvidenceJournal {
  /** Entries that could not be read back; moved aside, never deleted. */
  corrupt = 0;

  constructor(
    readonly dir: string,
    private readonly log: Logger,
  ) {}

  /** Creates or replaces the entry of one act. Resolves once it is on disk. */
  async write(entry: Omit<JournalEntry, 'schema' | 'writtenAt'>): Promise<void> {
    const file = this.file(entry);
    await fs.mkdir(path.dirname(file), { recursive: true });
    const body = JSON.stringify({
      schema: SCHEMA,
      ...entry,
      flag: { ...entry.flag, sightings: [] },
      ...(entry.plate ? { plate: { ...entry.plate, crop: entry.plate.crop?.toString('base64') } } : {}),
      writtenAt: new Date().toISOString(),
    });
    const tmp = `${file}.${randomBytes(6).toString('hex')}.tmp`;
    const handle = await fs.open(tmp, 'wx');
    try {
      await handle.writeFile(body);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await fs.rename(tmp, file);
  }

  /** The act is recorded (its job is in Redis): its entry goes. */
  async remove(key: JournalKey): Promise<void> {
    await fs.rm(this.file(key), { force: true });
  }

  /**
   * The camera's entries last written at least `minAgeMs` ago, oldest first. An entry that does not parse
   * is moved to `<name>.corrupt` and logged, so it is neither retried for ever nor lost to inspection.
   */
  async pending(cameraId: number, minAgeMs: number, now = Date.now()): Promise<JournalEntry[]> {
    const dir = this.cameraDir(cameraId);
    let names: string[];
    try {
      names = await fs.readdir(dir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
    const out: JournalEntry[] = [];
    for (const name of names.filter((n) => n.endsWith('.json'))) {
      const file = path.join(dir, name);
      let entry: JournalEntry;
      try {
        entry = decode(await fs.readFile(file, 'utf8'));
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue; // finished meanwhile
        this.corrupt += 1;
        this.log.error({ file, err: errorMessage(err) }, 'evidence journal entry unreadable; set aside');
        await fs.rename(file, `${file}.corrupt`).catch(() => undefined);
        continue;
      }
      if (now - Date.parse(entry.writtenAt) >= minAgeMs) out.push(entry);
    }
    return out.sort((a, b) => Date.parse(a.writtenAt) - Date.parse(b.writtenAt));
  }

  private cameraDir(cameraId: number): string {
    return path.join(this.dir, `camera-${cameraId}`);
  }

  private file(key: JournalKey): string {
    // Track keys and rule codes are the engine's own ([A-Za-z0-9_-]); anything else is escaped.
    const safe = (s: string) => s.replace(/[^A-Za-z0-9_-]/g, (c) => `~${c.charCodeAt(0).toString(16)}`);
    return path.join(this.cameraDir(key.cameraId), `${safe(key.ruleCode)}.${safe(key.trackKey)}.json`);
  }
}

function decode(text: string): JournalEntry {
  const raw = entrySchema.parse(JSON.parse(text));
  const { plate, flag, ...rest } = raw;
  return {
    ...rest,
    flag: flag as unknown as FlagSummary,
    ...(plate
      ? {
          plate: {
            ...(plate as unknown as Omit<TrackPlate, 'crop'>),
            crop: plate.crop === undefined ? undefined : Buffer.from(plate.crop, 'base64'),
          },
        }
      : {}),
  };
}

/** The exactly-once key of a sealed payload. */
export function journalKeyOf(
  p: Pick<RecordViolationPayload, 'cameraId' | 'trackKey' | 'ruleCode'>,
): JournalKey {
  return { cameraId: p.cameraId, trackKey: p.trackKey, ruleCode: p.ruleCode };
}
