/**
 * A frame counter drawn into every rendered frame (a strip of black and white blocks at the top left),
 * so that the evaluation knows which clip frame each analysed frame is, whatever the RTSP server's loop
 * point and the network's delays. Pure: the blocks' layout, drawing them, and reading them back.
 */
export const TIMECODE_BITS = 16;
const BLOCK = 14;
const PITCH = 16;
const X0 = 6;
const Y0 = 6;
/** Blocks: a white start marker, 16 bits (most significant first), an even-parity bit, a black end marker. */
const BLOCKS = TIMECODE_BITS + 3;

/** The strip's size in pixels on the 1280-wide rendered frame. */
export const TIMECODE_STRIP = { x: X0, y: Y0, width: BLOCKS * PITCH, height: BLOCK };

/**
 * The strip as a scene ignore mask (fractions of the 1280 × 720 frame, 2 px margin), as a camera's
 * on-screen clock is masked: its pixels change every frame and must not count as motion.
 */
export const TIMECODE_MASK: readonly { x: number; y: number }[] = (() => {
  const [x0, y0] = [(X0 - 2) / 1280, (Y0 - 2) / 720];
  const [x1, y1] = [(X0 + BLOCKS * PITCH + 2) / 1280, (Y0 + BLOCK + 2) / 720];
  const r = (v: number) => Math.round(v * 1e4) / 1e4;
  return [
    { x: r(x0), y: r(y0) },
    { x: r(x1), y: r(y0) },
    { x: r(x1), y: r(y1) },
    { x: r(x0), y: r(y1) },
  ];
})();

function bitsOf(index: number): number[] {
  if (!Number.isInteger(index) || index < 0 || index >= 2 ** TIMECODE_BITS)
    throw new RangeError(`frame index ${index} does not fit ${TIMECODE_BITS} bits`);
  const bits = Array.from({ length: TIMECODE_BITS }, (_, i) => (index >> (TIMECODE_BITS - 1 - i)) & 1);
  const parity = bits.reduce((a, b) => a ^ b, 0);
  return [1, ...bits, parity, 0];
}

/** The strip as RGB24 pixels (width × height × 3), to composite at (x, y) of a 1280-wide frame. */
export function timecodeStrip(index: number): Buffer {
  const bits = bitsOf(index);
  const { width, height } = TIMECODE_STRIP;
  const out = Buffer.alloc(width * height * 3, 96);
  for (let b = 0; b < BLOCKS; b++) {
    const v = bits[b] ? 255 : 0;
    for (let y = 0; y < BLOCK; y++)
      for (let x = 0; x < BLOCK; x++)
        out.fill(v, (y * width + b * PITCH + x) * 3, (y * width + b * PITCH + x) * 3 + 3);
  }
  return out;
}

/**
 * Reads the frame index from an RGB24 frame of any width (the strip scales with it, from a 1280-wide
 * original); undefined when the markers or the parity do not check out.
 */
export function readTimecode(frame: { data: Uint8Array; width: number; height: number }): number | undefined {
  const s = frame.width / 1280;
  const luma = (cx: number, cy: number) => {
    let sum = 0;
    let n = 0;
    const r = Math.max(1, Math.floor((BLOCK * s) / 4));
    for (let y = Math.round(cy - r); y <= Math.round(cy + r); y++)
      for (let x = Math.round(cx - r); x <= Math.round(cx + r); x++) {
        if (x < 0 || y < 0 || x >= frame.width || y >= frame.height) continue;
        const o = (y * frame.width + x) * 3;
        sum += 0.299 * frame.data[o]! + 0.587 * frame.data[o + 1]! + 0.114 * frame.data[o + 2]!;
        n++;
      }
    return n ? sum / n : 0;
  };
  const bits: number[] = [];
  for (let b = 0; b < BLOCKS; b++) {
    const v = luma((X0 + b * PITCH + BLOCK / 2) * s, (Y0 + BLOCK / 2) * s);
    bits.push(v >= 110 ? 1 : 0);
  }
  if (bits[0] !== 1 || bits[BLOCKS - 1] !== 0) return undefined;
  const payload = bits.slice(1, 1 + TIMECODE_BITS);
  if (payload.reduce((a, b) => a ^ b, 0) !== bits[1 + TIMECODE_BITS]) return undefined;
  return payload.reduce((n, b) => n * 2 + b, 0);
}
