import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { ensureSimClip, SHARED_CLIP } from '../../../ingest/sim/simulated-fleet.js';
import { ffmpegMissing, log, sharedDir } from './sim-env.js';

const run = promisify(execFile);

interface ClipFacts {
  codec: string;
  profile: string;
  pixFmt: string;
  hasBFrames: number;
  duration: number;
  keyframeGaps: number[];
}

async function probe(clip: string): Promise<ClipFacts> {
  const { stdout: s } = await run('ffprobe', [
    '-v',
    'error',
    '-select_streams',
    'v:0',
    '-of',
    'json',
    '-show_entries',
    'stream=codec_name,profile,pix_fmt,has_b_frames,duration',
    clip,
  ]);
  const stream = (JSON.parse(s) as { streams: Array<Record<string, string | number>> }).streams[0]!;
  const { stdout: k } = await run('ffprobe', [
    '-v',
    'error',
    '-select_streams',
    'v:0',
    '-skip_frame',
    'nokey',
    '-of',
    'csv=p=0',
    '-show_entries',
    'frame=pts_time',
    clip,
  ]);
  const keys = k
    .split('\n')
    .map((l) => parseFloat(l))
    .filter((n) => Number.isFinite(n));
  return {
    codec: String(stream['codec_name']),
    profile: String(stream['profile']),
    pixFmt: String(stream['pix_fmt']),
    hasBFrames: Number(stream['has_b_frames']),
    duration: Number(stream['duration']),
    keyframeGaps: keys.slice(1).map((t, i) => t - keys[i]!),
  };
}

function expectLoopable(facts: ClipFacts): void {
  expect(facts.codec).toBe('h264');
  expect(['Main', 'Constrained Baseline', 'Baseline']).toContain(facts.profile);
  expect(facts.pixFmt).toBe('yuv420p');
  expect(facts.hasBFrames).toBe(0);
  expect(facts.duration).toBeGreaterThan(29);
  expect(facts.duration).toBeLessThan(31);
  expect(facts.keyframeGaps.length).toBeGreaterThan(20);
  expect(Math.max(...facts.keyframeGaps)).toBeLessThanOrEqual(1.1);
}

const hasSharedClip = await fs.stat(path.join(sharedDir, SHARED_CLIP)).then(
  () => true,
  () => false,
);
if (!hasSharedClip)
  console.warn(`[ingest integration tests] ${SHARED_CLIP} not under ${sharedDir}: shared-clip case skipped`);

const tmpDirs: string[] = [];
afterAll(async () => {
  await Promise.all(tmpDirs.map((d) => fs.rm(d, { recursive: true, force: true })));
});

async function tmpDir(): Promise<string> {
  const d = await fs.mkdtemp(path.join(os.tmpdir(), 'pn-sim-'));
  tmpDirs.push(d);
  return d;
}

describe.skipIf(ffmpegMissing)('ensureSimClip', () => {
  it('generates a loopable synthetic road clip when ../shared is absent, and caches it', async () => {
    const dataDir = await tmpDir();
    const clip = await ensureSimClip({ dataDir, sharedDir: path.join(dataDir, 'no-shared-here'), log });
    expect(path.dirname(clip)).toBe(path.join(dataDir, 'sim'));
    expect(path.basename(clip)).toMatch(/^sim-synthetic-[0-9a-f]{12}\.mp4$/);
    expectLoopable(await probe(clip));
    const before = (await fs.stat(clip)).mtimeMs;
    expect(await ensureSimClip({ dataDir, sharedDir: path.join(dataDir, 'no-shared-here'), log })).toBe(clip);
    expect((await fs.stat(clip)).mtimeMs).toBe(before);
    expect((await fs.readdir(path.dirname(clip))).filter((f) => f.includes('.tmp'))).toEqual([]);
  });

  it.skipIf(!hasSharedClip)(
    're-encodes the shared car-park clip with a 1 s keyframe interval and no B-frames',
    async () => {
      const dataDir = await tmpDir();
      const clip = await ensureSimClip({ dataDir, sharedDir, log });
      expect(path.basename(clip)).toMatch(/^sim-shared-[0-9a-f]{12}\.mp4$/);
      expectLoopable(await probe(clip));
    },
  );
});
