/**
 * Seeded scenario generator: a camera-like scene with ground truth. Pure and deterministic by seed.
 *
 * The camera is a pinhole over a flat, straight road (ground X metres across, Z metres ahead): a ground
 * point projects to x = W/2 + F·(X − camX)/Z, y = horizonY + F·h/Z. Vehicles follow scripted paths
 * (keyframes in time, X and Z, with linear or eased segments); the ground truth is computed from the
 * scripts with the same geometry the scene configuration (the project's SceneConfig) is drawn from.
 *
 * Two kinds of site, chosen by seed:
 *   - `signal`: an approach with a stop line and a signal (fixed-time, or `observed` from a signal head
 *     drawn in the frame). Red-light runners are violations; green and amber crossings (Law 36 Art
 *     11.4: amber lets a vehicle at the line go on) and vehicles that stop at the line are not.
 *   - `road`: a one-way or two-way road with a speed gate, a no-parking shoulder and a sidewalk.
 *     Speeders, wrong-way drivers (one-way), drivers in the opposite half (two-way: `wrong_lane`),
 *     vehicles parked beyond the dwell and cars driven along the sidewalk are violations; traffic within
 *     the limit, in its lane, and short stops are not.
 */
import { PROVINCE_CODES, SERIES_LETTERS } from '../../detector/plates/plate-grammar.js';
import type { RuleCode } from '../../violations/rules/rule.js';
import { deriveSeed, mulberry32, type Prng } from './prng.js';
import { SPRITE_HEIGHT_M, SPRITE_WIDTH_M, type VnPlateText } from './sprites.js';
import { TIMECODE_MASK } from './timecode.js';

export const SCENARIO_SCHEMA = 'phat-nguoi/scenario@1';
export const FRAME = { width: 1280, height: 720, fps: 10 } as const;
/** Rules the generator scripts violations of. */
export const COVERED_RULES = [
  'red_light',
  'stop_line',
  'speeding',
  'wrong_way',
  'wrong_lane',
  'no_parking',
  'sidewalk',
] as const satisfies readonly RuleCode[];
export type CoveredRule = (typeof COVERED_RULES)[number];

export interface CameraModel {
  horizonY: number;
  heightM: number;
  focalPx: number;
  camX: number;
}

export type Ease = 'linear' | 'in' | 'out';
export interface Key {
  t: number;
  x: number;
  z: number;
  /** How the segment from the previous key to this one moves: steady, accelerating, braking. */
  ease?: Ease;
}

export interface VehicleScript {
  id: string;
  /** Photo id of the sprite (`us/abc.jpg`). */
  photo: string;
  plate: VnPlateText;
  label: 'car';
  behaviour: string;
  keys: Key[];
}

/** One act the scripts commit: what the pipeline should record (rule, plate, time). */
export interface TruthAct {
  rule: CoveredRule;
  vehicle: string;
  plate: string;
  /** Clip seconds of the act (the crossing, the moment a dwell is reached...). */
  atS: number;
  /** The window in which the engine may establish it (rules that need several observations). */
  fromS: number;
  toS: number;
  details: Record<string, number | string>;
  /**
   * An act a camera analysed at 2 frames a second cannot establish (a car that crosses the view too
   * fast for the observations the rule needs): neither counted nor, if recorded, a false flag.
   */
  unobservable?: boolean;
}

export interface LaneSpec {
  id: string;
  xFrom: number;
  xTo: number;
  /** Travel direction: `down` the frame (towards the camera) or `up` (away). */
  direction: 'down' | 'up';
}

export interface SignalSpec {
  kind: 'fixed-time' | 'observed';
  greenS: number;
  amberS: number;
  redS: number;
  /** Clip second at which a green starts (the cycle repeats from there, and before it). */
  greenAtS: number;
  stopLineZ: number;
  /** Signal head lamps in pixels (observed): centre and radius per colour. */
  head: { x: number; y: number; w: number; h: number; lamps: Record<'red' | 'amber' | 'green', Circle> };
}
export interface Circle {
  cx: number;
  cy: number;
  r: number;
}

export interface ScenarioSpec {
  schema: typeof SCENARIO_SCHEMA;
  id: string;
  seed: number;
  site: 'signal' | 'road';
  frame: { width: number; height: number; fps: number; durationS: number };
  camera: CameraModel;
  look: { brightness: number; contrast: number; noise: number; blur: number; sky: string; asphalt: string };
  lanes: LaneSpec[];
  twoWay: boolean;
  shoulder?: { xFrom: number; xTo: number; zFrom: number; zTo: number; dwellS: number };
  sidewalk?: { xFrom: number; xTo: number; zFrom: number; zTo: number };
  gate?: { entryZ: number; exitZ: number; limitKmh: number; toleranceKmh: number };
  signal?: SignalSpec;
  /** Scene configuration input (parseSceneConfig); a fixed-time plan's offsetS is set when the clip plays. */
  scene: Record<string, unknown>;
  vehicles: VehicleScript[];
  truth: TruthAct[];
  /** Vehicles that must not be flagged, with what they do. */
  clean: { vehicle: string; plate: string; behaviour: string }[];
}

const ROAD_FAR_Z = 90;
/** The device tolerance the road scenes' speed gates take off a measured speed. */
export const SPEED_TOLERANCE_KMH = 3;
const LANE_W = 3.5;

// --- geometry ------------------------------------------------------------------------------------

export function projectPx(cam: CameraModel, x: number, z: number): { x: number; y: number } {
  return {
    x: FRAME.width / 2 + (cam.focalPx * (x - cam.camX)) / z,
    y: cam.horizonY + (cam.focalPx * cam.heightM) / z,
  };
}

/** Normalised image point, clamped into the frame (scene configurations hold points inside it). */
export function projectNorm(cam: CameraModel, x: number, z: number): { x: number; y: number } {
  const p = projectPx(cam, x, z);
  const c = (v: number) => Math.round(Math.min(1, Math.max(0, v)) * 1e4) / 1e4;
  return { x: c(p.x / FRAME.width), y: c(p.y / FRAME.height) };
}

/** Ground distance (Z) at which a ground point shows at image row y (pixels). */
export function zAtRow(cam: CameraModel, y: number): number {
  return (cam.focalPx * cam.heightM) / (y - cam.horizonY);
}

/**
 * The ground quadrilateral X∈[x0,x1], Z∈[z0,z1] as a normalised polygon (near edge first), clipped to
 * the frame. Clamping each corner into the frame instead would bend the edges that leave it: a sidewalk
 * running out of the right edge would shrink to a sliver, and vehicles on it would be outside it.
 */
export function quad(cam: CameraModel, x0: number, x1: number, z0: number, z1: number) {
  const corners = [
    [x0, z0],
    [x1, z0],
    [x1, z1],
    [x0, z1],
  ].map(([x, z]) => {
    const p = projectPx(cam, x!, z!);
    return { x: p.x / FRAME.width, y: p.y / FRAME.height };
  });
  const r = (v: number) => Math.round(Math.min(1, Math.max(0, v)) * 1e4) / 1e4;
  return clipToUnit(corners).map((p) => ({ x: r(p.x), y: r(p.y) }));
}

/** Sutherland–Hodgman clipping of a convex polygon to the unit square. */
function clipToUnit(polygon: { x: number; y: number }[]): { x: number; y: number }[] {
  type P = { x: number; y: number };
  const edges: [(p: P) => number, (a: P, b: P) => P][] = (
    [
      ['x', 0, 1],
      ['x', 1, -1],
      ['y', 0, 1],
      ['y', 1, -1],
    ] as const
  ).map(([axis, bound, sign]) => {
    const inside = (p: P) => sign * (p[axis] - bound);
    const cut = (a: P, b: P): P => {
      const f = inside(a) / (inside(a) - inside(b));
      return { x: a.x + (b.x - a.x) * f, y: a.y + (b.y - a.y) * f };
    };
    return [inside, cut];
  });
  let out = polygon;
  for (const [inside, cut] of edges) {
    const input = out;
    out = [];
    for (let i = 0; i < input.length; i++) {
      const cur = input[i]!;
      const prev = input[(i + input.length - 1) % input.length]!;
      if (inside(cur) >= 0) {
        if (inside(prev) < 0) out.push(cut(prev, cur));
        out.push(cur);
      } else if (inside(prev) >= 0) out.push(cut(prev, cur));
    }
  }
  return out;
}

function easeFraction(u: number, ease: Ease | undefined): number {
  if (ease === 'out') return 1 - (1 - u) * (1 - u);
  if (ease === 'in') return u * u;
  return u;
}

/** Where a script puts its vehicle at clip second t (undefined before the first key or after the last). */
export function positionAt(keys: readonly Key[], t: number): { x: number; z: number } | undefined {
  if (keys.length === 0 || t < keys[0]!.t || t > keys[keys.length - 1]!.t) return undefined;
  for (let i = 1; i < keys.length; i++) {
    const a = keys[i - 1]!;
    const b = keys[i]!;
    if (t > b.t) continue;
    const u = b.t === a.t ? 1 : (t - a.t) / (b.t - a.t);
    const f = easeFraction(u, b.ease);
    return { x: a.x + (b.x - a.x) * f, z: a.z + (b.z - a.z) * f };
  }
  return { x: keys[0]!.x, z: keys[0]!.z };
}

/** The first clip second at which the vehicle's z passes `z` (either way), to 1 ms. */
export function crossingTime(keys: readonly Key[], z: number): number | undefined {
  const t0 = keys[0]!.t;
  const t1 = keys[keys.length - 1]!.t;
  let prev = positionAt(keys, t0)!.z - z;
  for (let t = t0 + 0.001; t <= t1 + 1e-9; t += 0.001) {
    const cur = positionAt(keys, t)!.z - z;
    if (prev === 0 || Math.sign(cur) !== Math.sign(prev)) return Math.round(t * 1000) / 1000;
    prev = cur;
  }
  return undefined;
}

/** Clip seconds during which the vehicle is in view well enough to be tracked (sprite ≥ 70 px wide). */
export function visibleSpan(
  cam: CameraModel,
  keys: readonly Key[],
  minWidthPx = 70,
): { from: number; to: number } | undefined {
  let from: number | undefined;
  let to: number | undefined;
  for (let t = keys[0]!.t; t <= keys[keys.length - 1]!.t; t += 0.05) {
    const p = positionAt(keys, t)!;
    if (trackable(cam, p.x, p.z, minWidthPx)) {
      from ??= t;
      to = t;
    }
  }
  return from === undefined || to === undefined ? undefined : { from, to };
}

function trackable(cam: CameraModel, x: number, z: number, minWidthPx: number): boolean {
  const scale = cam.focalPx / z;
  const p = projectPx(cam, x, z);
  return scale * 2 >= minWidthPx && p.y <= FRAME.height && p.x > 0 && p.x < FRAME.width;
}

/**
 * The last clip second at which at least `minVisiblePx` of the vehicle's width is in the frame, with its
 * top inside it: a detector still boxes a vehicle cut off by the frame's edge (its box clipped to the
 * edge), so an act can be established after the vehicle's ground point has left the picture.
 */
export function lastInFrame(cam: CameraModel, keys: readonly Key[], minVisiblePx = 30): number | undefined {
  let last: number | undefined;
  for (let t = keys[0]!.t; t <= keys[keys.length - 1]!.t; t += 0.05) {
    const { x, z } = positionAt(keys, t)!;
    const scale = cam.focalPx / z;
    const p = projectPx(cam, x, z);
    const half = (SPRITE_WIDTH_M * scale) / 2;
    const visible = Math.min(FRAME.width, p.x + half) - Math.max(0, p.x - half);
    const top = p.y - SPRITE_HEIGHT_M * scale;
    if (visible >= minVisiblePx && top < FRAME.height) last = t;
  }
  return last;
}

// --- plates --------------------------------------------------------------------------------------

const PROVINCES = [...PROVINCE_CODES.keys()].sort();

/** A car plate, one row (`30A-123.45`) or two (`30A` over `123.45`), never one of `used`. */
export function randomCarPlate(rng: Prng, used: Set<string>): VnPlateText {
  for (;;) {
    const province = rng.pick(PROVINCES);
    const series = rng.pick([...SERIES_LETTERS]);
    const digits = String(rng.int(0, 99_999)).padStart(5, '0');
    const compact = `${province}${series}${digits}`;
    if (used.has(compact)) continue;
    used.add(compact);
    const number = `${digits.slice(0, 3)}.${digits.slice(3)}`;
    return rng.chance(0.5)
      ? { compact, rows: [`${province}${series}-${number}`] }
      : { compact, rows: [`${province}${series}`, number] };
  }
}

// --- the generator -------------------------------------------------------------------------------

export interface GenerateOptions {
  /** Photo ids of usable sprites (sprites.ts usablePhotos), in a stable order. */
  photos: readonly string[];
  /** Force a site kind (default: by seed). */
  site?: 'signal' | 'road';
  durationS?: number;
  /**
   * Metres added to every road gate's entry line (default 0: 31–34 m, a 9–14 m gate): a longer gate is
   * timed over more frame intervals. Nothing else in the scenario changes.
   */
  gateLengthenM?: number;
}

export function generateScenario(seed: number, opts: GenerateOptions): ScenarioSpec {
  if (opts.photos.length === 0) throw new Error('no vehicle photos to make sprites from');
  const rng = mulberry32(deriveSeed(seed, 0));
  const site = opts.site ?? (rng.chance(0.5) ? 'signal' : 'road');
  const durationS = opts.durationS ?? 40;
  const horizonY = Math.round(rng.range(50, 110));
  const heightM = Math.round(rng.range(3.8, 4.8) * 100) / 100;
  const bottomZ = rng.range(9.5, 11);
  const camera: CameraModel = {
    horizonY,
    heightM,
    focalPx: Math.round(((FRAME.height - horizonY) * bottomZ) / heightM),
    camX: Math.round(rng.range(0.6, 1.6) * 100) / 100,
  };
  const night = rng.chance(0.25);
  const look = {
    brightness: Math.round((night ? rng.range(-0.18, -0.1) : rng.range(-0.05, 0.08)) * 100) / 100,
    contrast: Math.round(rng.range(0.85, 1.1) * 100) / 100,
    noise: rng.int(2, night ? 12 : 7),
    blur: rng.chance(0.3) ? Math.round(rng.range(0.4, 0.9) * 10) / 10 : 0,
    sky: rng.pick(['#9fb4c8', '#b8c2c8', '#8d9aa6', '#c9cfd2']),
    asphalt: rng.pick(['#55585b', '#4b4e52', '#5f6163', '#46494c']),
  };
  const ctx: Ctx = {
    rng,
    // Choices added after the first generator (stop-line overshoot, class-restricted lanes) draw from
    // their own stream, so the scripts of every other vehicle, and their rendered clips, stay as they were.
    extra: mulberry32(deriveSeed(seed, EXTRA_STREAM)),
    camera,
    photos: opts.photos,
    usedPlates: new Set(),
    vehicles: [],
    truth: [],
    clean: [],
    durationS,
    gateLengthenM: opts.gateLengthenM ?? 0,
    density: rng.range(0.6, 1),
  };
  const body = site === 'signal' ? signalSite(ctx) : roadSite(ctx);
  const id = `s${seed}-${site}`;
  return {
    schema: SCENARIO_SCHEMA,
    id,
    seed,
    site,
    frame: { ...FRAME, durationS },
    camera,
    look,
    ...body,
    vehicles: ctx.vehicles,
    truth: ctx.truth.sort((a, b) => a.atS - b.atS),
    clean: ctx.clean,
  };
}

/** The index of the generator's second random stream (deriveSeed(seed, EXTRA_STREAM)). */
const EXTRA_STREAM = 0x5c1;

/**
 * How far past the stop line a stop-line violator stands: the bottom of its sprite (the ground point)
 * past the line by this share of the sprite's height. A detector boxes the car inside the sprite:
 * measured on the rendered clips, the box's bottom lies 0–0.2 sprite heights above the sprite's and
 * the box is 0.75–0.9 of its height, so the box's front is 0.33–0.5 box heights past the line:
 * inside the window the generated scenes configure (`SIGNAL_RULES`: at least 0.15, the stop-line
 * rule's minOvershoot, and under 0.6, where the red-light rule's minPastLine and the stop-line rule's
 * maxOvershoot put a vehicle in the intersection).
 */
export const STOP_LINE_OVERSHOOT = 0.45;

/**
 * Thresholds of the generated signalled scenes (per camera, as an operator sets them). The defaults
 * overlap: a vehicle standing 0.25–1 box heights past the line satisfies both the red-light rule
 * (minPastLine 0.25) and the stop-line rule (maxOvershoot 1). Here one boundary, 0.6, separates
 * "stopped past the line" from "went into the intersection".
 */
export const SIGNAL_RULES = {
  redLight: { minPastLine: 0.6 },
  stopLine: { minOvershoot: 0.15, maxOvershoot: 0.6 },
} as const;

interface Ctx {
  rng: Prng;
  extra: Prng;
  camera: CameraModel;
  photos: readonly string[];
  usedPlates: Set<string>;
  vehicles: VehicleScript[];
  truth: TruthAct[];
  clean: ScenarioSpec['clean'];
  durationS: number;
  gateLengthenM: number;
  /** 0.6..1: how much of the free time in each lane is filled. */
  density: number;
}

type SiteBody = Pick<
  ScenarioSpec,
  'lanes' | 'twoWay' | 'shoulder' | 'sidewalk' | 'gate' | 'signal' | 'scene'
>;

function addVehicle(ctx: Ctx, behaviour: string, keys: Key[]): VehicleScript {
  const v: VehicleScript = {
    id: `v${ctx.vehicles.length + 1}`,
    photo: ctx.rng.pick(ctx.photos),
    plate: randomCarPlate(ctx.rng, ctx.usedPlates),
    label: 'car',
    behaviour,
    keys: keys.map((k) => ({ ...k, t: Math.round(k.t * 1000) / 1000 })),
  };
  ctx.vehicles.push(v);
  return v;
}

function kmh(v: number): number {
  return v / 3.6;
}

/** Z where a down-moving vehicle enters (far) and leaves (its sprite gone below the frame). */
function farZ(): number {
  return 75;
}
function exitZ(cam: CameraModel): number {
  // The sprite's top (SPRITE_HEIGHT_M above the ground point... in image rows) below the frame.
  for (let z = 12; z > 1; z -= 0.25) {
    const p = projectPx(cam, 0, z);
    if (p.y - (SPRITE_HEIGHT_M * cam.focalPx) / z > FRAME.height + 4) return z;
  }
  return 2;
}

// --- signal site ---------------------------------------------------------------------------------

function signalSite(ctx: Ctx): SiteBody {
  const { rng, camera } = ctx;
  const observed = rng.chance(0.5);
  const stopLineZ = Math.round(rng.range(17, 22) * 10) / 10;
  const greenS = rng.int(7, 10);
  const amberS = 3;
  const redS = rng.int(9, 12);
  const cycle = greenS + amberS + redS;
  const greenAtS = Math.round(rng.range(0, cycle) * 10) / 10;
  const headX = FRAME.width - 70;
  const head = {
    x: headX,
    y: 14,
    w: 46,
    h: 128,
    lamps: {
      red: { cx: headX + 23, cy: 14 + 22, r: 15 },
      amber: { cx: headX + 23, cy: 14 + 64, r: 15 },
      green: { cx: headX + 23, cy: 14 + 106, r: 15 },
    },
  };
  const signal: SignalSpec = {
    kind: observed ? 'observed' : 'fixed-time',
    greenS,
    amberS,
    redS,
    greenAtS,
    stopLineZ,
    head,
  };
  const lanes: LaneSpec[] = [
    { id: 'L1', xFrom: -LANE_W, xTo: 0, direction: 'down' },
    { id: 'L2', xFrom: 0, xTo: LANE_W, direction: 'down' },
  ];
  const phaseAt = (t: number) => {
    const u = (((t - greenAtS) % cycle) + cycle) % cycle;
    return u < greenS ? 'green' : u < greenS + amberS ? 'amber' : 'red';
  };
  /** Clip seconds at which each phase of each cycle begins, over the clip. */
  const phases: { phase: 'green' | 'amber' | 'red'; from: number; to: number }[] = [];
  for (let g = greenAtS - cycle * 3; g < ctx.durationS + cycle; g += cycle) {
    phases.push({ phase: 'green', from: g, to: g + greenS });
    phases.push({ phase: 'amber', from: g + greenS, to: g + greenS + amberS });
    phases.push({ phase: 'red', from: g + greenS + amberS, to: g + cycle });
  }
  const margin = observed ? 1.5 : 1.0;
  const exit = exitZ(camera);

  for (const lane of lanes) {
    const xc = (lane.xFrom + lane.xTo) / 2 + rng.range(-0.3, 0.3);
    // `free`: the earliest next crossing of the line; `startFree`: the earliest next appearance.
    let free = 1.0;
    let startFree = 0.5;
    let guard = 0;
    while (free < ctx.durationS - 5 && guard++ < 60) {
      const speed = kmh(rng.range(28, 45));
      const approachS = (farZ() - stopLineZ) / speed;
      const earliest = Math.max(free, startFree + approachS) + rng.range(0.3, 3) / ctx.density;
      // The phase when it reaches the line decides what it does (kept clear of the phase changes).
      const current = phases.find((p) => p.from <= earliest && earliest < p.to)!;
      const stopper = current.phase === 'red' && rng.chance(0.3);
      if (stopper) {
        // Arrives during a red, stops short of the line (or, a stop-line violator, a little past it),
        // goes on green.
        const brakeS = 3;
        const red = current;
        const stopAt = red.from + rng.range(1, 2.5);
        const shortOf = stopLineZ + rng.range(2.5, 4.5);
        const pastLine = ctx.extra.chance(0.5);
        const stopZ = pastLine
          ? stopLineZ * (1 - (STOP_LINE_OVERSHOOT * SPRITE_HEIGHT_M) / camera.heightM)
          : shortOf;
        const brakeFrom = stopZ + (speed * brakeS) / 2;
        const t0 = stopAt - brakeS - (farZ() - brakeFrom) / speed;
        const go = red.to + rng.range(0.8, 1.6);
        const accS = 3;
        const accZ = stopZ - (speed * accS) / 2;
        if (t0 < startFree || go + accS > ctx.durationS - 2) {
          free += 2;
          continue;
        }
        const v = addVehicle(
          ctx,
          pastLine ? 'stops past the stop line on red, goes on green' : 'stops at the red, goes on green',
          [
            { t: t0, x: xc, z: farZ() },
            { t: stopAt - brakeS, x: xc, z: brakeFrom },
            { t: stopAt, x: xc, z: stopZ, ease: 'out' },
            { t: go, x: xc, z: stopZ },
            { t: go + accS, x: xc, z: accZ, ease: 'in' },
            { t: go + accS + (accZ - exit) / speed, x: xc, z: exit },
          ],
        );
        if (pastLine) {
          // Standing still past the line on red for minStoppedS (1.5 s): the engine counts standing from
          // the first observation within its drift of the final spot, up to a second before the stop
          // while it creeps the last metre.
          const at = stopAt + 1.5;
          ctx.truth.push({
            rule: 'stop_line',
            vehicle: v.id,
            plate: v.plate.compact,
            atS: round3(at),
            fromS: round3(at - 1.5),
            toS: round3(at + 1.5),
            details: { overshoot: STOP_LINE_OVERSHOOT, stopZ: round3(stopZ), stopLineZ },
          });
        } else ctx.clean.push({ vehicle: v.id, plate: v.plate.compact, behaviour: v.behaviour });
        free = go + accS + 1.5;
        startFree = go;
        continue;
      }
      const want = current.phase;
      const lead = want === 'amber' ? 0.4 : margin;
      const tail = want === 'amber' ? 0.8 : margin;
      const window = current;
      if (window.to - tail <= Math.max(earliest, window.from + lead)) {
        free = window.to;
        continue;
      }
      const lo = Math.max(earliest, window.from + lead);
      const hi = window.to - tail;
      const crossAt = rng.range(lo, Math.min(hi, lo + 2.5));
      if (crossAt > ctx.durationS - 4) break;
      const t0 = crossAt - (farZ() - stopLineZ) / speed;
      const keys: Key[] = [
        { t: t0, x: xc, z: farZ() },
        { t: crossAt + (stopLineZ - exit) / speed, x: xc, z: exit },
      ];
      const behaviour =
        want === 'red'
          ? 'crosses the stop line on red'
          : want === 'amber'
            ? 'crosses on amber (allowed, Law 36 Art 11.4)'
            : 'crosses on green';
      const v = addVehicle(ctx, behaviour, keys);
      const at = crossingTime(v.keys, stopLineZ)!;
      if (phaseAt(at) !== want) throw new Error(`generator: crossing at ${at} is not ${want}`);
      if (want === 'red') {
        ctx.truth.push({
          rule: 'red_light',
          vehicle: v.id,
          plate: v.plate.compact,
          atS: at,
          fromS: round3(at - 0.8),
          toS: round3(at + 0.8),
          details: { redForS: round3(at - window.from) },
        });
      } else ctx.clean.push({ vehicle: v.id, plate: v.plate.compact, behaviour });
      // The next one in this lane crosses a little later and appears after this one did.
      free = crossAt + 2.5;
      startFree = t0 + 1.5;
    }
  }

  const a = projectNorm(camera, -LANE_W - 0.2, stopLineZ);
  const b = projectNorm(camera, LANE_W + 0.2, stopLineZ);
  const towards = projectNorm(camera, 0, stopLineZ - 5);
  const lampRegion = (c: Circle) => {
    const r = c.r * 0.75;
    return {
      x: round4((c.cx - r) / FRAME.width),
      y: round4((c.cy - r) / FRAME.height),
      w: round4((2 * r) / FRAME.width),
      h: round4((2 * r) / FRAME.height),
    };
  };
  const scene: Record<string, unknown> = {
    // The frame counter, masked as a camera's on-screen clock is (the motion gate must not see it move).
    ignoreMasks: [TIMECODE_MASK],
    stopLines: [{ id: 'SL-1', a, b, towards, signal: 'main' }],
    signals: {
      main: observed
        ? { kind: 'observed', confirmFrames: 2 }
        : { kind: 'fixed-time', offsetS: 0, greenS, amberS, redS },
    },
    ...(observed
      ? {
          signalHeads: [
            {
              id: 'H1',
              group: 'main',
              lamps: {
                red: lampRegion(head.lamps.red),
                amber: lampRegion(head.lamps.amber),
                green: lampRegion(head.lamps.green),
              },
            },
          ],
        }
      : {}),
    lanes: lanes.map((l) => laneConfig(camera, l, 'wrong_way')),
    rules: structuredClone(SIGNAL_RULES),
  };
  return { lanes, twoWay: false, signal, scene };
}

function round4(v: number): number {
  return Math.round(v * 1e4) / 1e4;
}

function laneConfig(
  cam: CameraModel,
  lane: LaneSpec,
  against: 'wrong_way' | 'wrong_lane',
  allowedClasses?: readonly string[],
) {
  const xc = (lane.xFrom + lane.xTo) / 2;
  const near = zAtRow(cam, FRAME.height);
  const far = 60;
  const [entryZ, exitZ_] = lane.direction === 'down' ? [far, near] : [near, far];
  return {
    id: lane.id,
    polygon: quad(cam, lane.xFrom, lane.xTo, near, ROAD_FAR_Z),
    direction: { entry: projectNorm(cam, xc, entryZ), exit: projectNorm(cam, xc, exitZ_) },
    against,
    ...(allowedClasses ? { allowedClasses: [...allowedClasses] } : {}),
  };
}

// --- road site -----------------------------------------------------------------------------------

function roadSite(ctx: Ctx): SiteBody {
  const { rng, camera } = ctx;
  const twoWay = rng.chance(0.5);
  const lanes: LaneSpec[] = [
    { id: 'L1', xFrom: -LANE_W, xTo: 0, direction: twoWay ? 'up' : 'down' },
    { id: 'L2', xFrom: 0, xTo: LANE_W, direction: 'down' },
  ];
  const shoulder = { xFrom: LANE_W, xTo: LANE_W + 2.2, zFrom: 15, zTo: 27, dwellS: 8 };
  const sidewalk = { xFrom: LANE_W + 2.2, xTo: LANE_W + 5.5, zFrom: 12, zTo: ROAD_FAR_Z };
  // Placed for 2 analysed frames per second (12.4 m a frame at the highest scripted speed, 89 km/h):
  // the exit line far enough from the frame's bottom edge that the vehicle is still in view one frame
  // after crossing it (it leaves the picture at about 6–8 m; nearer, no 2 fps camera can observe the
  // crossing), the entry line near enough that the frame before it still sees the vehicle large
  // enough for the detector (about 45 m at most). A 9–14 m gate.
  const gate = {
    entryZ: Math.round(rng.range(31, 34)) + ctx.gateLengthenM,
    exitZ: Math.round(rng.range(20, 22)),
    limitKmh: 50,
    toleranceKmh: SPEED_TOLERANCE_KMH,
  };
  const exit = exitZ(camera);
  const far = farZ();

  // Each lane (and the shoulder, the sidewalk) is a queue of vehicles one after another.
  const laneX = (l: LaneSpec) => (l.xFrom + l.xTo) / 2;
  const freeAt = new Map<string, number>([
    ['L1', rng.range(0.5, 3)],
    ['L2', rng.range(0.5, 3)],
    ['shoulder', rng.range(1, 6)],
  ]);
  let guard = 0;
  while (guard++ < 60) {
    const [laneId, from] = [...freeAt.entries()].sort((p, q) => p[1] - q[1])[0]!;
    if (from > ctx.durationS - 8) break;
    const start = from;
    const gap = rng.range(0.5, 3.5) / ctx.density;
    if (laneId === 'shoulder') {
      // Stopping on the shoulder: parked beyond the dwell (violation) or a short stop (not).
      const park = rng.chance(0.6);
      const speed = kmh(rng.range(25, 35));
      const stopZ = rng.range(18, 24);
      const xs = (shoulder.xFrom + shoulder.xTo) / 2;
      const brakeS = 3;
      const brakeFrom = stopZ + (speed * brakeS) / 2;
      const stopAt = start + (far - brakeFrom) / speed + brakeS;
      const standS = park ? shoulder.dwellS + rng.range(4, 8) : rng.range(2, 3.5);
      const leaveAt = stopAt + standS;
      if (leaveAt + 4 > ctx.durationS) {
        freeAt.set('shoulder', Infinity);
        continue;
      }
      const accS = 3;
      const accZ = stopZ - (speed * accS) / 2;
      const v = addVehicle(
        ctx,
        park
          ? `parks on the no-parking shoulder for ${standS.toFixed(1)} s`
          : 'stops briefly on the shoulder',
        [
          { t: start, x: xs - 0.3, z: far },
          { t: stopAt - brakeS, x: xs, z: brakeFrom },
          { t: stopAt, x: xs, z: stopZ, ease: 'out' },
          { t: leaveAt, x: xs, z: stopZ },
          { t: leaveAt + accS, x: xs, z: accZ, ease: 'in' },
          { t: leaveAt + accS + (accZ - exit) / speed, x: xs, z: exit },
        ],
      );
      if (park) {
        const at = stopAt + shoulder.dwellS;
        ctx.truth.push({
          rule: 'no_parking',
          vehicle: v.id,
          plate: v.plate.compact,
          atS: round3(at),
          // The engine counts standing from the first observation within its drift of the final spot.
          fromS: round3(at - 2),
          toS: round3(at + 2.5),
          details: { dwellS: shoulder.dwellS, standS: round3(standS) },
        });
      } else ctx.clean.push({ vehicle: v.id, plate: v.plate.compact, behaviour: v.behaviour });
      freeAt.set('shoulder', leaveAt + 6 + gap);
      continue;
    }
    const lane = lanes.find((l) => l.id === laneId)!;
    const x = laneX(lane) + rng.range(-0.3, 0.3);
    const roll = rng.next();
    // What this vehicle does: most drive legally; some commit one offence.
    let kind: 'legal' | 'speeder' | 'against' | 'sidewalk';
    if (roll < 0.4) kind = 'legal';
    else if (roll < 0.65) kind = 'speeder';
    else if (roll < 0.85) kind = 'against';
    else kind = 'sidewalk';
    if (kind === 'speeder' && lane.direction !== 'down') kind = 'legal';
    const down = kind === 'against' ? lane.direction === 'up' : lane.direction === 'down';
    const speed = kmh(kind === 'speeder' ? rng.pick([64, 70, 78, 88]) + rng.range(-1, 1) : rng.range(28, 46));
    const pathX = kind === 'sidewalk' ? (sidewalk.xFrom + sidewalk.xTo) / 2 : x;
    const [z0, z1] = down ? [far, exit] : [exit, far];
    const travelS = Math.abs(z1 - z0) / speed;
    const v = addVehicle(
      ctx,
      kind === 'legal'
        ? `drives ${down ? 'down' : 'up'} its lane at ${(speed * 3.6).toFixed(0)} km/h`
        : kind === 'speeder'
          ? `drives at ${(speed * 3.6).toFixed(1)} km/h where the limit is ${gate.limitKmh}`
          : kind === 'sidewalk'
            ? 'drives along the sidewalk'
            : twoWay
              ? 'drives in the opposite half of a two-way road'
              : 'drives the wrong way up a one-way road',
      [
        { t: start, x: pathX, z: z0 },
        { t: start + travelS, x: pathX, z: z1 },
      ],
    );
    const span = visibleSpan(camera, v.keys);
    // From the first frame a detector could see it at all: rules that need a run may fire early.
    const onScreen = visibleSpan(camera, v.keys, 30);
    if (kind === 'speeder') {
      const entryAt = crossingTime(v.keys, gate.entryZ)!;
      const exitAt = crossingTime(v.keys, gate.exitZ)!;
      const measured = ((gate.entryZ - gate.exitZ) / (exitAt - entryAt)) * 3.6;
      ctx.truth.push({
        rule: 'speeding',
        vehicle: v.id,
        plate: v.plate.compact,
        atS: exitAt,
        fromS: exitAt - 0.8,
        toS: exitAt + 0.8,
        details: {
          speedKmh: round3(measured),
          limitKmh: gate.limitKmh,
          excessKmh: round3(measured - gate.limitKmh - gate.toleranceKmh),
        },
      });
    } else if (kind === 'against' && span) {
      ctx.truth.push({
        rule: twoWay ? 'wrong_lane' : 'wrong_way',
        vehicle: v.id,
        plate: v.plate.compact,
        atS: round3(span.from),
        fromS: round3(onScreen?.from ?? span.from),
        toS: round3(span.to + 1),
        details: twoWay ? { lane: lane.id, kind: 'half' } : { lane: lane.id },
      });
    } else if (kind === 'sidewalk' && span) {
      // Until the vehicle has left the frame altogether: cut off by the edge it is still detected (the
      // sidewalk runs out of the frame's side, so its ground point leaves the picture first).
      const gone = Math.max(span.to, lastInFrame(camera, v.keys) ?? span.to);
      ctx.truth.push({
        rule: 'sidewalk',
        vehicle: v.id,
        plate: v.plate.compact,
        atS: round3(span.from),
        fromS: round3(onScreen?.from ?? span.from),
        toS: round3(gone + 1),
        details: { sidewalk: 'SW-1' },
      });
    } else ctx.clean.push({ vehicle: v.id, plate: v.plate.compact, behaviour: v.behaviour });
    // Next in this lane once this one has gone a good way (no two vehicles overlap in a lane).
    const busy = kind === 'sidewalk' ? travelS : travelS * 0.7;
    freeAt.set(laneId, start + busy + gap);
  }

  // On some one-way roads the left lane is reserved for motorbikes (per the scene configuration; the
  // marking is not drawn): every car driven in it is in the wrong lane for its class, whatever else it
  // does. The cars are the ones scripted above; only the configuration and the truth change.
  // (Configuration only: the lane specs are part of what is drawn, and the clip's cache key.)
  const reserved = !twoWay && ctx.extra.chance(0.5) ? lanes[0]! : undefined;
  if (reserved) {
    for (const v of ctx.vehicles) {
      if (!v.keys.every((k) => k.x > reserved.xFrom && k.x < reserved.xTo)) continue;
      const span = visibleSpan(camera, v.keys);
      if (!span) continue;
      const onScreen = visibleSpan(camera, v.keys, 30);
      ctx.truth.push({
        rule: 'wrong_lane',
        vehicle: v.id,
        plate: v.plate.compact,
        atS: round3(span.from),
        fromS: round3(onScreen?.from ?? span.from),
        toS: round3(span.to + 1),
        details: { lane: reserved.id, kind: 'class', allowedClasses: 'motorcycle' },
        // The rule wants 4 observations in the lane (wrongLane.minFrames, 1.5 s at 2 fps): a speeder
        // trackable for less than 2.5 s cannot give them.
        ...(span.to - span.from < 2.5 ? { unobservable: true } : {}),
      });
      ctx.clean = ctx.clean.filter((c) => c.vehicle !== v.id);
    }
  }

  const near = zAtRow(camera, FRAME.height);
  const across = (z: number) => ({
    a: projectNorm(camera, -LANE_W - 0.2, z),
    b: projectNorm(camera, LANE_W + 0.2, z),
  });
  const scene: Record<string, unknown> = {
    // The frame counter, masked as a camera's on-screen clock is (the motion gate must not see it move).
    ignoreMasks: [TIMECODE_MASK],
    lanes: lanes.map((l) =>
      laneConfig(camera, l, twoWay ? 'wrong_lane' : 'wrong_way', l === reserved ? ['motorcycle'] : undefined),
    ),
    // A zoom window over the far end of the gate, as an operator would draw one: cars reach the entry
    // line 31–46 m away, where the whole frame gives the detector too few pixels to see them in time.
    detectionTiles: [gateTile(camera, gate.entryZ)],
    speed: {
      limitsKmh: { car: gate.limitKmh, truck: gate.limitKmh, bus: gate.limitKmh },
      toleranceKmh: gate.toleranceKmh,
      gates: [
        {
          id: 'G1',
          entry: across(gate.entryZ),
          exit: across(gate.exitZ),
          distanceM: gate.entryZ - gate.exitZ,
        },
      ],
    },
    stoppingZones: [
      {
        id: 'NP-1',
        kind: 'no_parking',
        polygon: quad(camera, shoulder.xFrom, shoulder.xTo, shoulder.zFrom, shoulder.zTo),
        dwellS: shoulder.dwellS,
      },
    ],
    sidewalks: [
      {
        id: 'SW-1',
        polygon: quad(camera, sidewalk.xFrom, sidewalk.xTo, Math.max(near, sidewalk.zFrom), sidewalk.zTo),
        classes: ['car', 'truck', 'bus', 'motorcycle'],
      },
    ],
  };
  return { lanes, twoWay, shoulder, sidewalk, gate, scene };
}

/**
 * The zoom window of a road scene: the frame's own aspect, from the top of a car 60 m away down to the
 * ground 4 m short of the gate's entry line, centred on the road there; at least a third of the frame
 * wide (an enlargement of at most 3×), inside the frame.
 */
export function gateTile(camera: CameraModel, entryZ: number) {
  const far = 60;
  const top = projectPx(camera, 0, far).y - (SPRITE_HEIGHT_M * camera.focalPx) / far;
  const bottom = projectPx(camera, 0, entryZ - 4).y;
  const h = Math.min(1, Math.max(1 / 3, (bottom - top) / FRAME.height));
  const w = h;
  const cx = projectPx(camera, 0, entryZ).x / FRAME.width;
  const y = Math.min(1 - h, Math.max(0, top / FRAME.height - 0.02));
  const x = Math.min(1 - w, Math.max(0, cx - w / 2));
  const r4 = (v: number) => Math.round(v * 1e4) / 1e4;
  return { x: r4(x), y: r4(y), w: r4(Math.min(w, 1 - r4(x))), h: r4(Math.min(h, 1 - r4(y))) };
}

function round3(v: number): number {
  return Math.round(v * 1000) / 1000;
}
