import type { Box } from './geometry.js';
import type { SignalHead } from './scene-config.js';
import type { SignalPhase } from './signal-timeline.js';

/**
 * Reading a signal's phase from its lamps in the camera's own frames.
 *
 * Each lamp region is measured in HSV on the raw RGB bytes: the share of pixels that are bright and
 * saturated in the lamp's own hue, and the share of near-white "core" pixels. A lit LED lamp is
 * saturated in its hue by day; at night it blooms into a white core with a coloured halo, so core
 * pixels count only next to some halo of the right hue. Glare (sun on the lenses, headlights) is bright
 * but unsaturated, or tints a dark lens weakly, and is outweighed by the lamp that is really lit.
 * Each lamp switches on and off with hysteresis (two thresholds), the head's reading is the lit lamp
 * (`dark` with none lit, `unknown` when two compete), and a new reading is believed only after it has
 * persisted for `confirmFrames` frames. Amber alternating with dark and nothing else is flashing amber.
 */

export interface RgbFrame {
  data: Uint8Array;
  width: number;
  height: number;
  /** Bytes per pixel: 3 (RGB, the ingest format) or 4 (RGBA). */
  channels?: 3 | 4;
}

export const LAMP_COLOURS = ['red', 'amber', 'green'] as const;
export type LampColour = (typeof LAMP_COLOURS)[number];

export interface LampThresholds {
  /** Hue ranges of each colour, degrees (a range may not wrap; red takes two). */
  hue: Record<LampColour, readonly (readonly [number, number])[]>;
  /** A colour pixel: saturation and value at least these (0..1). */
  minSaturation: number;
  minValue: number;
  /** A core pixel: value at least this, any saturation (an overexposed lamp at night). */
  coreValue: number;
  /** Core pixels count (half) only when at least this share of the region is halo of the lamp's hue. */
  minHalo: number;
  /** A lamp turns on at this score and off below `offScore` (hysteresis). */
  onScore: number;
  offScore: number;
  /** With two lamps on, the stronger wins when its score is this many times the other's; else unknown. */
  dominance: number;
}

export const DEFAULT_LAMP_THRESHOLDS: LampThresholds = {
  hue: {
    red: [
      [330, 360],
      [0, 20],
    ],
    amber: [[20, 70]],
    green: [[80, 210]],
  },
  minSaturation: 0.5,
  minValue: 0.45,
  coreValue: 0.9,
  minHalo: 0.02,
  onScore: 0.12,
  offScore: 0.06,
  dominance: 1.5,
};

export interface LampMeasure {
  /** Share of the region's pixels bright and saturated in the lamp's hue. */
  colourFraction: number;
  /** Share of near-white overexposed pixels. */
  coreFraction: number;
  meanValue: number;
  /** colourFraction, plus half the core when a halo is present. */
  score: number;
  pixels: number;
}

/** Measures one lamp region (normalised box) of a frame. */
export function measureLamp(
  frame: RgbFrame,
  region: Box,
  colour: LampColour,
  thresholds: LampThresholds = DEFAULT_LAMP_THRESHOLDS,
): LampMeasure {
  const { data, width, height } = frame;
  const channels = frame.channels ?? 3;
  const x0 = clamp(Math.floor(region.x * width), 0, width);
  const x1 = clamp(Math.ceil((region.x + region.w) * width), 0, width);
  const y0 = clamp(Math.floor(region.y * height), 0, height);
  const y1 = clamp(Math.ceil((region.y + region.h) * height), 0, height);
  const ranges = thresholds.hue[colour];
  const minMax = thresholds.minValue * 255;
  const coreMax = thresholds.coreValue * 255;
  let pixels = 0;
  let coloured = 0;
  let core = 0;
  let valueSum = 0;
  for (let y = y0; y < y1; y++) {
    let o = (y * width + x0) * channels;
    for (let x = x0; x < x1; x++, o += channels) {
      const r = data[o]!;
      const g = data[o + 1]!;
      const b = data[o + 2]!;
      const max = r > g ? (r > b ? r : b) : g > b ? g : b;
      const min = r < g ? (r < b ? r : b) : g < b ? g : b;
      pixels++;
      valueSum += max;
      if (max < minMax) continue;
      const chroma = max - min;
      const saturation = chroma / max;
      if (saturation >= thresholds.minSaturation) {
        if (inRanges(hueOf(r, g, b, max, chroma), ranges)) coloured++;
      } else if (max >= coreMax) core++;
    }
  }
  if (pixels === 0) return { colourFraction: 0, coreFraction: 0, meanValue: 0, score: 0, pixels: 0 };
  const colourFraction = coloured / pixels;
  const coreFraction = core / pixels;
  const score = colourFraction + (colourFraction >= thresholds.minHalo ? coreFraction / 2 : 0);
  return { colourFraction, coreFraction, meanValue: valueSum / pixels / 255, score, pixels };
}

/** Measures every lamp of a head. */
export function measureHead(
  frame: RgbFrame,
  head: Pick<SignalHead, 'lamps'>,
  thresholds: LampThresholds = DEFAULT_LAMP_THRESHOLDS,
): Partial<Record<LampColour, LampMeasure>> {
  const out: Partial<Record<LampColour, LampMeasure>> = {};
  for (const colour of LAMP_COLOURS) {
    const region = head.lamps[colour];
    if (region) out[colour] = measureLamp(frame, region, colour, thresholds);
  }
  return out;
}

export type LampReading = 'red' | 'amber' | 'green' | 'dark' | 'unknown';

/**
 * The head's reading from which lamps are on: none → dark, one → its colour, several → the one whose
 * score dominates, else unknown.
 */
export function headReading(
  on: Partial<Record<LampColour, boolean>>,
  measures: Partial<Record<LampColour, LampMeasure>>,
  dominance = DEFAULT_LAMP_THRESHOLDS.dominance,
): LampReading {
  const lit = LAMP_COLOURS.filter((c) => on[c])
    .map((c) => ({ colour: c, score: measures[c]?.score ?? 0 }))
    .sort((a, b) => b.score - a.score);
  if (lit.length === 0) return 'dark';
  if (lit.length === 1) return lit[0]!.colour;
  return lit[0]!.score >= dominance * lit[1]!.score ? lit[0]!.colour : 'unknown';
}

/** Several heads of one group: agreeing colours win over heads that read nothing (one may be hidden). */
export function combineReadings(readings: readonly LampReading[]): LampReading {
  const colours = new Set(readings.filter((r) => r !== 'dark' && r !== 'unknown'));
  if (colours.size === 1) return [...colours][0]!;
  if (colours.size > 1) return 'unknown';
  return readings.length > 0 && readings.every((r) => r === 'dark') ? 'dark' : 'unknown';
}

export interface ObserverOptions {
  /** Consecutive frames a new reading must persist before it is believed. */
  confirmFrames: number;
  thresholds: LampThresholds;
  /** Flashing amber: amber and dark alternating, nothing else, within this window... */
  flashWindowMs: number;
  /** ...with at least this many changes between them. */
  flashMinChanges: number;
}

export const DEFAULT_OBSERVER_OPTIONS: ObserverOptions = {
  confirmFrames: 2,
  thresholds: DEFAULT_LAMP_THRESHOLDS,
  flashWindowMs: 4_000,
  flashMinChanges: 3,
};

export interface PhaseSample {
  at: number;
  phase: SignalPhase;
}

/**
 * Reads one signal group's heads frame after frame and returns the samples that are settled: a frame's
 * sample is held back while its reading is a candidate change that has not yet persisted. A reading
 * that does not persist is a glitch: a dark or unreadable frame keeps the current phase (a hidden lamp
 * did not change), a contradicting colour becomes `unknown` for that instant. A confirmed change dates
 * from its first frame. Feed frames in time order.
 */
export class SignalLampObserver {
  private readonly options: ObserverOptions;
  private readonly on = new Map<string, Partial<Record<LampColour, boolean>>>();
  private confirmed: SignalPhase | undefined;
  private pending: { at: number; phase: SignalPhase }[] = [];
  private recent: { at: number; reading: LampReading }[] = [];
  private flashing = false;
  /** The last frame's readings, per head (for logs and tests). */
  lastReadings: Record<string, LampReading> = {};

  constructor(
    readonly group: string,
    private readonly heads: readonly SignalHead[],
    options: Partial<ObserverOptions> = {},
  ) {
    this.options = { ...DEFAULT_OBSERVER_OPTIONS, ...options };
  }

  observe(frame: RgbFrame, at: number): PhaseSample[] {
    const { thresholds } = this.options;
    const readings: LampReading[] = [];
    for (const head of this.heads) {
      const measures = measureHead(frame, head, thresholds);
      const state = this.on.get(head.id) ?? {};
      for (const colour of LAMP_COLOURS) {
        const m = measures[colour];
        if (!m) continue;
        if (m.score >= thresholds.onScore) state[colour] = true;
        else if (m.score < thresholds.offScore) state[colour] = false;
      }
      this.on.set(head.id, state);
      const reading = headReading(state, measures, thresholds.dominance);
      this.lastReadings[head.id] = reading;
      readings.push(reading);
    }
    const reading = combineReadings(readings);
    return this.settle(at, this.flashingPhase(at, reading));
  }

  /** Tracks amber/dark alternation; maps the reading to `flashing-amber` while it lasts. */
  private flashingPhase(at: number, reading: LampReading): SignalPhase {
    const { flashWindowMs, flashMinChanges } = this.options;
    this.recent.push({ at, reading });
    while (this.recent.length > 0 && at - this.recent[0]!.at > flashWindowMs) this.recent.shift();
    if (reading === 'red' || reading === 'green') this.flashing = false;
    else if (!this.flashing) {
      const window = this.recent;
      const onlyAmberDark = window.every((r) => r.reading === 'amber' || r.reading === 'dark');
      let changes = 0;
      for (let i = 1; i < window.length; i++) if (window[i]!.reading !== window[i - 1]!.reading) changes++;
      const ambers = window.filter((r) => r.reading === 'amber').length;
      this.flashing =
        onlyAmberDark && changes >= flashMinChanges && ambers >= 2 && window.length - ambers >= 2;
    }
    if (this.flashing && (reading === 'amber' || reading === 'dark')) return 'flashing-amber';
    return reading;
  }

  private settle(at: number, phase: SignalPhase): PhaseSample[] {
    const n = this.options.confirmFrames;
    if (phase === this.confirmed) {
      const held = this.pending.map((p) => ({
        at: p.at,
        phase: p.phase === 'dark' || p.phase === 'unknown' ? this.confirmed! : ('unknown' as const),
      }));
      this.pending = [];
      return [...held, { at, phase }];
    }
    this.pending.push({ at, phase });
    const run = this.pending.slice(-n);
    if (run.length === n && run.every((p) => p.phase === phase)) {
      const out: PhaseSample[] = this.pending
        .slice(0, -n)
        .map((p) => ({ at: p.at, phase: 'unknown' as const }));
      for (const p of run) out.push({ at: p.at, phase });
      this.confirmed = phase;
      this.pending = [];
      return out;
    }
    // A reading that keeps changing never settles: let the oldest frames go as unknown.
    const out: PhaseSample[] = [];
    while (this.pending.length > 4 * n) out.push({ at: this.pending.shift()!.at, phase: 'unknown' });
    return out;
  }
}

function hueOf(r: number, g: number, b: number, max: number, chroma: number): number {
  if (chroma === 0) return 0;
  let h: number;
  if (max === r) h = ((g - b) / chroma) % 6;
  else if (max === g) h = (b - r) / chroma + 2;
  else h = (r - g) / chroma + 4;
  h *= 60;
  return h < 0 ? h + 360 : h;
}

function inRanges(h: number, ranges: readonly (readonly [number, number])[]): boolean {
  for (const [lo, hi] of ranges) if (h >= lo && h <= hi) return true;
  return false;
}

function clamp(v: number, lo: number, hi: number): number {
  return v < lo ? lo : v > hi ? hi : v;
}
