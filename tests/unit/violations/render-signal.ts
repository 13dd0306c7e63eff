import type { LampColour } from '../../../violations/signal-lamps.js';

/**
 * Renders RGB frames with a three-lamp signal head (vertical: red over amber over green), by day, by
 * night (lit lamp blooms into a white core with a wide coloured halo spilling over its neighbours) or
 * in glare (sun on the lenses: a white blob over one unlit lamp, a sunlit tint on another).
 */

export const W = 320;
export const H = 180;

/** Lamp centres in pixels and the lamp regions (normalised) a scene would declare. */
const CX = 264;
const CY: Record<LampColour, number> = { red: 26, amber: 44, green: 62 };
const HALF = 8;
export const LAMP_REGIONS: Record<LampColour, { x: number; y: number; w: number; h: number }> = {
  red: region('red'),
  amber: region('amber'),
  green: region('green'),
};

function region(c: LampColour) {
  return { x: (CX - HALF) / W, y: (CY[c] - HALF) / H, w: (2 * HALF) / W, h: (2 * HALF) / H };
}

export type Light = 'day' | 'night' | 'glare';

const LIT_DAY: Record<LampColour, [number, number, number]> = {
  red: [255, 62, 44],
  amber: [255, 184, 30],
  green: [50, 255, 170],
};
const UNLIT_DAY: Record<LampColour, [number, number, number]> = {
  red: [72, 26, 24],
  amber: [74, 60, 22],
  green: [22, 62, 42],
};

/** A frame showing `lit` (null: all lamps dark; `hidden`: a grey vehicle in front of the head). */
export function renderSignalFrame(lit: LampColour | null | 'hidden', light: Light = 'day', seed = 1): Buffer {
  const data = Buffer.alloc(W * H * 3);
  let s = seed;
  const noise = () => {
    s = (s * 1103515245 + 12345) & 0x7fffffff;
    return (s % 17) - 8;
  };
  const put = (x: number, y: number, rgb: readonly number[]) => {
    const o = (y * W + x) * 3;
    data[o] = clamp(rgb[0]!);
    data[o + 1] = clamp(rgb[1]!);
    data[o + 2] = clamp(rgb[2]!);
  };
  const background = light === 'night' ? [8, 10, 14] : [140, 160, 185];
  const housing = light === 'night' ? [10, 10, 11] : [26, 26, 29];
  for (let y = 0; y < H; y++)
    for (let x = 0; x < W; x++) {
      const inHousing = Math.abs(x - CX) <= 11 && y >= 14 && y <= 74;
      const base = inHousing ? housing : background;
      put(
        x,
        y,
        base.map((v) => v + noise()),
      );
    }
  for (const c of ['red', 'amber', 'green'] as const) {
    for (let y = CY[c] - 12; y <= CY[c] + 12; y++)
      for (let x = CX - 12; x <= CX + 12; x++) {
        const r = Math.hypot(x - CX, y - CY[c]);
        if (lit === c && light === 'night') {
          // Overexposed: white core, then a halo of the lamp's colour fading out to 11 px.
          if (r <= 4) put(x, y, [255, 250, 242]);
          else if (r <= 11) {
            const k = 1 - (r - 4) / 7;
            put(
              x,
              y,
              LIT_DAY[c].map((v) => 14 + (v - 14) * (0.55 + 0.45 * k)),
            );
          }
        } else if (r <= 6) {
          if (lit === c)
            put(
              x,
              y,
              LIT_DAY[c].map((v) => v + noise()),
            );
          else
            put(
              x,
              y,
              (light === 'night' ? [14, 10, 10] : UNLIT_DAY[c]).map((v) => v + noise()),
            );
        }
      }
  }
  if (light === 'glare') {
    // Sun glint over the unlit green lens and a sunlit, weakly tinted red lens.
    for (let y = 0; y < H; y++)
      for (let x = 0; x < W; x++) {
        const g = Math.hypot(x - CX, y - CY.green);
        if (g <= 9 && lit !== 'green') put(x, y, [250, 248, 236]);
        if (Math.hypot(x - CX, y - CY.red) <= 6 && lit !== 'red') put(x, y, [205, 128, 116]);
      }
  }
  if (lit === 'hidden') {
    for (let y = 10; y < 80; y++) for (let x = CX - 20; x < CX + 20; x++) put(x, y, [118, 120, 122]);
  }
  return data;
}

function clamp(v: number): number {
  return Math.max(0, Math.min(255, Math.round(v)));
}
