import type { Point } from './geometry.js';

/**
 * A plane-to-plane projective map (3×3, row-major, h[8] = 1): here from normalised image coordinates to
 * metres on the road surface, fitted to four point pairs an installer measured (lane markings, a
 * surveyed rectangle). It holds on the road plane only: map ground contact points, never box centres
 * of tall vehicles seen obliquely.
 */
export type Homography = readonly [number, number, number, number, number, number, number, number, number];

/**
 * The homography taking each `from[i]` to `to[i]` (exactly four pairs, no three points collinear on
 * either side); undefined when the points are degenerate.
 */
export function fitHomography(from: readonly Point[], to: readonly Point[]): Homography | undefined {
  if (from.length !== 4 || to.length !== 4) return undefined;
  if (hasCollinearTriple(from) || hasCollinearTriple(to)) return undefined;
  // Eight equations in h0..h7 (h8 = 1): u = (h0 x + h1 y + h2) / (h6 x + h7 y + 1), v likewise.
  const a: number[][] = [];
  for (let i = 0; i < 4; i++) {
    const { x, y } = from[i]!;
    const { x: u, y: v } = to[i]!;
    a.push([x, y, 1, 0, 0, 0, -u * x, -u * y, u]);
    a.push([0, 0, 0, x, y, 1, -v * x, -v * y, v]);
  }
  const h = solve(a);
  if (!h || h.some((v) => !Number.isFinite(v))) return undefined;
  return [h[0]!, h[1]!, h[2]!, h[3]!, h[4]!, h[5]!, h[6]!, h[7]!, 1];
}

export function applyHomography(h: Homography, p: Point): Point | undefined {
  const w = h[6] * p.x + h[7] * p.y + h[8];
  if (Math.abs(w) < 1e-12) return undefined;
  return { x: (h[0] * p.x + h[1] * p.y + h[2]) / w, y: (h[3] * p.x + h[4] * p.y + h[5]) / w };
}

/** Whether four points, in the order given, go round a convex quadrilateral (either way). */
export function isConvexQuad(p: readonly Point[]): boolean {
  if (p.length !== 4) return false;
  let sign = 0;
  for (let i = 0; i < 4; i++) {
    const a = p[i]!;
    const b = p[(i + 1) % 4]!;
    const c = p[(i + 2) % 4]!;
    const z = (b.x - a.x) * (c.y - b.y) - (b.y - a.y) * (c.x - b.x);
    if (z === 0) return false;
    if (sign === 0) sign = Math.sign(z);
    else if (Math.sign(z) !== sign) return false;
  }
  return true;
}

function hasCollinearTriple(p: readonly Point[]): boolean {
  const scale = Math.max(1e-9, ...p.map((q) => Math.max(Math.abs(q.x), Math.abs(q.y))));
  for (let i = 0; i < 4; i++)
    for (let j = i + 1; j < 4; j++)
      for (let k = j + 1; k < 4; k++) {
        const c = (p[j]!.x - p[i]!.x) * (p[k]!.y - p[i]!.y) - (p[j]!.y - p[i]!.y) * (p[k]!.x - p[i]!.x);
        if (Math.abs(c) < 1e-9 * scale * scale) return true;
      }
  return false;
}

/** Gaussian elimination with partial pivoting on an augmented n×(n+1) matrix. */
function solve(m: number[][]): number[] | undefined {
  const n = m.length;
  for (let col = 0; col < n; col++) {
    let pivot = col;
    for (let r = col + 1; r < n; r++) if (Math.abs(m[r]![col]!) > Math.abs(m[pivot]![col]!)) pivot = r;
    if (Math.abs(m[pivot]![col]!) < 1e-12) return undefined;
    [m[col], m[pivot]] = [m[pivot]!, m[col]!];
    const row = m[col]!;
    for (let r = 0; r < n; r++) {
      if (r === col) continue;
      const f = m[r]![col]! / row[col]!;
      if (f === 0) continue;
      for (let c = col; c <= n; c++) m[r]![c]! -= f * row[c]!;
    }
  }
  return m.map((row, i) => row[n]! / row[i]!);
}
