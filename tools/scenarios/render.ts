/**
 * Renders a scenario (generate.ts) to an H.264 clip like a camera's: the road, its markings and the
 * signal head drawn once as SVG, each frame composed with sharp (vehicle sprites scaled by their ground
 * distance, far ones first; the lit lamp; the frame counter), piped to ffmpeg (libx264, yuv420p, main
 * profile, no B-frames, a keyframe every second) with the scenario's light, haze and sensor noise.
 * Clips are cached under `${dataDir}/scenarios/` by the hash of the spec and the recipe.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import { AppError } from '../../core/errors.js';
import {
  FRAME,
  positionAt,
  projectPx,
  type CameraModel,
  type Circle,
  type ScenarioSpec,
} from './generate.js';
import { makeSprite, SPRITE_HEIGHT_M, SPRITE_WIDTH_M, type PhotoEntry, type Sprite } from './sprites.js';
import { timecodeStrip, TIMECODE_STRIP } from './timecode.js';

/** Bump when the drawing or the encoding changes: cached clips of older recipes are not reused. */
const RECIPE = 'scenario-render-v1';

export function clipPath(dataDir: string, spec: ScenarioSpec): string {
  // Only what is drawn: ground truth, scene configuration and speed gates (not drawn) can change
  // without re-rendering.
  const { truth: _truth, clean: _clean, scene: _scene, gate: _gate, ...drawn } = spec;
  const hash = createHash('sha256')
    .update(`${RECIPE}|${JSON.stringify(drawn)}`)
    .digest('hex')
    .slice(0, 12);
  return path.resolve(dataDir, 'scenarios', `${spec.id}-${hash}.mp4`);
}

function poly(cam: CameraModel, pts: [number, number][], fill: string): string {
  const p = pts
    .map(([x, z]) => projectPx(cam, x, z))
    .map((q) => `${q.x.toFixed(1)},${q.y.toFixed(1)}`)
    .join(' ');
  return `<polygon points="${p}" fill="${fill}"/>`;
}

/** A strip of road marking from (x, z0) to (x, z1), `w` metres wide. */
function marking(cam: CameraModel, x: number, z0: number, z1: number, w: number, colour: string): string {
  return poly(
    cam,
    [
      [x - w / 2, z0],
      [x + w / 2, z0],
      [x + w / 2, z1],
      [x - w / 2, z1],
    ],
    colour,
  );
}

function backgroundSvg(spec: ScenarioSpec): string {
  const cam = spec.camera;
  const { width: W, height: H } = FRAME;
  const near = 2;
  const far = 400;
  const parts: string[] = [];
  parts.push(`<rect width="${W}" height="${H}" fill="${spec.look.asphalt}"/>`);
  parts.push(`<rect width="${W}" height="${Math.ceil(cam.horizonY + 1)}" fill="${spec.look.sky}"/>`);
  // Verge on the left, the road, the shoulder, the kerb and the sidewalk on the right.
  parts.push(
    poly(
      cam,
      [
        [-60, near],
        [-3.5 - 0.6, near],
        [-3.5 - 0.6, far],
        [-60, far],
      ],
      '#5d6b4a',
    ),
  );
  const kerbX = spec.sidewalk?.xFrom ?? 3.5 + 2.2;
  parts.push(
    poly(
      cam,
      [
        [kerbX, near],
        [60, near],
        [60, far],
        [kerbX, far],
      ],
      '#a9a59c',
    ),
  );
  parts.push(marking(cam, kerbX + 0.1, near, far, 0.2, '#d8d4c8'));
  // Paving joints on the sidewalk, every 3 m.
  for (let z = 6; z < 120; z += 3) {
    parts.push(
      poly(
        cam,
        [
          [kerbX + 0.2, z],
          [60, z],
          [60, z + 0.05],
          [kerbX + 0.2, z + 0.05],
        ],
        '#8f8b83',
      ),
    );
  }
  // Edge lines and the centre line (dashed one-way, solid yellow two-way).
  parts.push(marking(cam, -3.5, near, far, 0.15, '#e8e8e2'));
  parts.push(marking(cam, 3.5, near, far, 0.15, '#e8e8e2'));
  if (spec.twoWay) parts.push(marking(cam, 0, near, far, 0.15, '#e0b020'));
  else for (let z = 3; z < 200; z += 9) parts.push(marking(cam, 0, z, z + 3, 0.15, '#e8e8e2'));
  if (spec.shoulder) {
    // No-parking zone: yellow zig-zag stand-in (a yellow kerb line), as P.131 zones are marked.
    parts.push(marking(cam, kerbX - 0.1, spec.shoulder.zFrom, spec.shoulder.zTo, 0.15, '#e0b020'));
  }
  if (spec.signal) {
    const z = spec.signal.stopLineZ;
    parts.push(
      poly(
        cam,
        [
          [-3.5, z],
          [3.5, z],
          [3.5, z + 0.4],
          [-3.5, z + 0.4],
        ],
        '#f0f0ea',
      ),
    );
    // A zebra crossing beyond the line.
    for (let x = -3.3; x < 3.5; x += 1.0)
      parts.push(
        poly(
          cam,
          [
            [x, z - 1.5],
            [x + 0.5, z - 1.5],
            [x + 0.5, z - 4.5],
            [x, z - 4.5],
          ],
          '#dcdcd6',
        ),
      );
    const h = spec.signal.head;
    parts.push(
      `<rect x="${h.x + h.w / 2 - 3}" y="${h.y + h.h}" width="6" height="${cam.horizonY + 60}" fill="#303030"/>`,
    );
    parts.push(`<rect x="${h.x}" y="${h.y}" width="${h.w}" height="${h.h}" rx="6" fill="#1a1a1a"/>`);
    for (const c of Object.values(h.lamps)) parts.push(circle(c, '#2a2a2a'));
  }
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}">${parts.join('')}</svg>`;
}

function circle(c: Circle, fill: string): string {
  return `<circle cx="${c.cx}" cy="${c.cy}" r="${c.r}" fill="${fill}"/>`;
}

const LAMP_COLOUR = { red: '#ff2a1a', amber: '#ffb000', green: '#10e070' } as const;

/** The phase a scenario's signal shows at clip second t. */
export function scenarioPhase(spec: ScenarioSpec, t: number): 'green' | 'amber' | 'red' | undefined {
  const s = spec.signal;
  if (!s) return undefined;
  const cycle = s.greenS + s.amberS + s.redS;
  const u = (((t - s.greenAtS) % cycle) + cycle) % cycle;
  return u < s.greenS ? 'green' : u < s.greenS + s.amberS ? 'amber' : 'red';
}

async function lampImage(c: Circle, colour: string): Promise<Buffer> {
  const d = 2 * c.r + 2;
  const svg =
    `<svg xmlns="http://www.w3.org/2000/svg" width="${d}" height="${d}">` +
    `<circle cx="${d / 2}" cy="${d / 2}" r="${c.r}" fill="${colour}"/>` +
    `<circle cx="${d / 2}" cy="${d / 2}" r="${c.r * 0.45}" fill="#fff6e0" opacity="0.55"/></svg>`;
  return sharp(Buffer.from(svg)).png().toBuffer();
}

interface Placed {
  input: Buffer;
  raw?: { width: number; height: number; channels: 3 | 4 };
  left: number;
  top: number;
}

/** The visible part of a sprite scaled to `w` px wide with its bottom centre at (cx, bottom). */
async function placeSprite(
  sprite: Sprite,
  cx: number,
  bottom: number,
  w: number,
): Promise<Placed | undefined> {
  const width = Math.max(2, Math.round(w));
  const height = Math.max(2, Math.round((width * SPRITE_HEIGHT_M) / SPRITE_WIDTH_M));
  const left = Math.round(cx - width / 2);
  const top = Math.round(bottom - height);
  const x0 = Math.max(0, left);
  const y0 = Math.max(0, top);
  const x1 = Math.min(FRAME.width, left + width);
  const y1 = Math.min(FRAME.height, top + height);
  if (x1 - x0 < 2 || y1 - y0 < 2) return undefined;
  const resized = await sharp(sprite.data, {
    raw: { width: sprite.width, height: sprite.height, channels: 4 },
  })
    .resize(width, height, { kernel: 'lanczos3' })
    .extract({ left: x0 - left, top: y0 - top, width: x1 - x0, height: y1 - y0 })
    .raw()
    .toBuffer();
  return { input: resized, raw: { width: x1 - x0, height: y1 - y0, channels: 4 }, left: x0, top: y0 };
}

/** The ffmpeg arguments that encode the raw frames: light, haze and noise, then a camera-like H.264. */
export function encodeArgs(spec: ScenarioSpec, out: string): string[] {
  const { brightness, contrast, noise, blur } = spec.look;
  const filters = [
    `eq=brightness=${brightness}:contrast=${contrast}`,
    ...(blur > 0 ? [`gblur=sigma=${blur}`] : []),
    `noise=alls=${noise}:allf=t`,
    'format=yuv420p',
  ];
  const gop = String(spec.frame.fps);
  return [
    '-hide_banner',
    '-loglevel',
    'error',
    '-y',
    '-f',
    'rawvideo',
    '-pix_fmt',
    'rgb24',
    '-s',
    `${spec.frame.width}x${spec.frame.height}`,
    '-r',
    String(spec.frame.fps),
    '-i',
    'pipe:0',
    '-vf',
    filters.join(','),
    '-c:v',
    'libx264',
    '-preset',
    'veryfast',
    '-crf',
    '21',
    '-profile:v',
    'main',
    '-bf',
    '0',
    '-g',
    gop,
    '-keyint_min',
    gop,
    '-sc_threshold',
    '0',
    '-movflags',
    '+faststart',
    '-an',
    out,
  ];
}

/**
 * The clip of a scenario (rendered and encoded once, then cached). `photos` maps the spec's photo ids
 * to the dataset's files.
 */
export async function renderScenario(opts: {
  spec: ScenarioSpec;
  photos: ReadonlyMap<string, PhotoEntry>;
  dataDir: string;
  ffmpegPath?: string;
  onProgress?: (frame: number, frames: number) => void;
}): Promise<string> {
  const { spec } = opts;
  const out = clipPath(opts.dataDir, spec);
  if (
    await fs
      .stat(out)
      .then((s) => s.size > 0)
      .catch(() => false)
  )
    return out;
  await fs.mkdir(path.dirname(out), { recursive: true });

  const sprites = new Map<string, Sprite>();
  for (const v of spec.vehicles) {
    const photo = opts.photos.get(v.photo);
    if (!photo)
      throw new AppError('bad_request', `photo ${v.photo} is not in the dataset`, { permanent: true });
    sprites.set(v.id, await makeSprite(photo, v.plate));
  }
  const background = await sharp(Buffer.from(backgroundSvg(spec)))
    .removeAlpha()
    .raw()
    .toBuffer();
  const lamps = spec.signal
    ? {
        red: await lampImage(spec.signal.head.lamps.red, LAMP_COLOUR.red),
        amber: await lampImage(spec.signal.head.lamps.amber, LAMP_COLOUR.amber),
        green: await lampImage(spec.signal.head.lamps.green, LAMP_COLOUR.green),
      }
    : undefined;

  const tmp = `${out}.${process.pid}.${Date.now()}.tmp.mp4`;
  const ffmpeg = spawn(opts.ffmpegPath ?? 'ffmpeg', encodeArgs(spec, tmp), {
    stdio: ['pipe', 'ignore', 'pipe'],
  });
  let stderr = '';
  ffmpeg.stderr.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-4000);
  });
  const exited = new Promise<number | null>((resolve) => {
    ffmpeg.once('close', (code) => resolve(code));
    ffmpeg.once('error', () => resolve(-1));
  });
  const frames = Math.round(spec.frame.durationS * spec.frame.fps);
  try {
    for (let i = 0; i < frames; i++) {
      const t = i / spec.frame.fps;
      const layers: Placed[] = [];
      const placed = spec.vehicles
        .map((v) => ({ v, p: positionAt(v.keys, t) }))
        .filter((e): e is { v: (typeof spec.vehicles)[number]; p: { x: number; z: number } } => !!e.p)
        .sort((a, b) => b.p.z - a.p.z);
      for (const { v, p } of placed) {
        if (p.z <= 0.5) continue;
        const at = projectPx(spec.camera, p.x, p.z);
        const w = (SPRITE_WIDTH_M * spec.camera.focalPx) / p.z;
        if (w < 6) continue;
        const layer = await placeSprite(sprites.get(v.id)!, at.x, at.y, w);
        if (layer) layers.push(layer);
      }
      if (spec.signal && lamps) {
        const phase = scenarioPhase(spec, t)!;
        const c = spec.signal.head.lamps[phase];
        layers.push({ input: lamps[phase], left: c.cx - c.r - 1, top: c.cy - c.r - 1 });
      }
      layers.push({
        input: timecodeStrip(i),
        raw: { width: TIMECODE_STRIP.width, height: TIMECODE_STRIP.height, channels: 3 },
        left: TIMECODE_STRIP.x,
        top: TIMECODE_STRIP.y,
      });
      const frame = await sharp(background, {
        raw: { width: FRAME.width, height: FRAME.height, channels: 3 },
      })
        .composite(layers)
        .removeAlpha()
        .raw()
        .toBuffer();
      if (!ffmpeg.stdin.write(frame)) await new Promise((r) => ffmpeg.stdin.once('drain', r));
      opts.onProgress?.(i + 1, frames);
    }
    ffmpeg.stdin.end();
    const code = await exited;
    if (code !== 0) throw new Error(`ffmpeg exited with ${String(code)}: ${stderr.trim()}`);
    await fs.rename(tmp, out); // atomic: a concurrent run never reads half a clip
  } catch (err) {
    ffmpeg.kill('SIGKILL');
    await fs.rm(tmp, { force: true });
    throw new AppError('dependency_down', `cannot render scenario ${spec.id}: ${(err as Error).message}`, {
      cause: err,
    });
  }
  return out;
}
