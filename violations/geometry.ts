/** Plane geometry in normalised image coordinates (0..1 on both axes, origin top-left). */

export interface Point {
  x: number;
  y: number;
}

export interface Box {
  x: number;
  y: number;
  w: number;
  h: number;
}

export type Polygon = readonly Point[];

/** Twice the signed area of (a, b, c): > 0 when c lies to the left of a→b (y grows downwards). */
export function cross(a: Point, b: Point, c: Point): number {
  return (b.x - a.x) * (c.y - a.y) - (b.y - a.y) * (c.x - a.x);
}

/** Which side of the directed line a→b the point lies on: 1, -1, or 0 when on the line. */
export function sideOf(a: Point, b: Point, p: Point): -1 | 0 | 1 {
  const c = cross(a, b, p);
  return c > 0 ? 1 : c < 0 ? -1 : 0;
}

/**
 * Where segment p→q crosses segment a→b, as the fraction t along p→q (0..1), or undefined.
 * Touching an end point counts as crossing.
 */
export function segmentCrossing(p: Point, q: Point, a: Point, b: Point): number | undefined {
  const r = { x: q.x - p.x, y: q.y - p.y };
  const s = { x: b.x - a.x, y: b.y - a.y };
  const denom = r.x * s.y - r.y * s.x;
  if (denom === 0) return undefined;
  const t = ((a.x - p.x) * s.y - (a.y - p.y) * s.x) / denom;
  const u = ((a.x - p.x) * r.y - (a.y - p.y) * r.x) / denom;
  if (t < 0 || t > 1 || u < 0 || u > 1) return undefined;
  return t;
}

export function pointInPolygon(p: Point, polygon: Polygon): boolean {
  let inside = false;
  for (let i = 0, j = polygon.length - 1; i < polygon.length; j = i++) {
    const a = polygon[i]!;
    const b = polygon[j]!;
    if (a.y > p.y !== b.y > p.y && p.x < ((b.x - a.x) * (p.y - a.y)) / (b.y - a.y) + a.x) inside = !inside;
  }
  return inside;
}

export function iou(a: Box, b: Box): number {
  const x1 = Math.max(a.x, b.x);
  const y1 = Math.max(a.y, b.y);
  const x2 = Math.min(a.x + a.w, b.x + b.w);
  const y2 = Math.min(a.y + a.h, b.y + b.h);
  const inter = Math.max(0, x2 - x1) * Math.max(0, y2 - y1);
  const union = a.w * a.h + b.w * b.h - inter;
  return union > 0 ? inter / union : 0;
}

/** Intersection over the smaller box's area: 1 when one box lies inside the other. */
export function overlapOfSmaller(a: Box, b: Box): number {
  const w = Math.min(a.x + a.w, b.x + b.w) - Math.max(a.x, b.x);
  const h = Math.min(a.y + a.h, b.y + b.h) - Math.max(a.y, b.y);
  if (w <= 0 || h <= 0) return 0;
  const smaller = Math.min(a.w * a.h, b.w * b.h);
  return smaller > 0 ? (w * h) / smaller : 0;
}

/** The point of a vehicle box that stands for its position on the road (see SceneConfig.anchor). */
export function groundPoint(box: Box, anchor: 'bottom-center' | 'center' = 'bottom-center'): Point {
  return { x: box.x + box.w / 2, y: anchor === 'center' ? box.y + box.h / 2 : box.y + box.h };
}

export function lerp(p: Point, q: Point, t: number): Point {
  return { x: p.x + (q.x - p.x) * t, y: p.y + (q.y - p.y) * t };
}

export function sub(a: Point, b: Point): Point {
  return { x: a.x - b.x, y: a.y - b.y };
}

export function dot(a: Point, b: Point): number {
  return a.x * b.x + a.y * b.y;
}

export function norm(v: Point): number {
  return Math.hypot(v.x, v.y);
}

export function distance(a: Point, b: Point): number {
  return Math.hypot(a.x - b.x, a.y - b.y);
}

/** v scaled to length 1 (undefined for the zero vector). */
export function unit(v: Point): Point | undefined {
  const n = norm(v);
  return n > 0 ? { x: v.x / n, y: v.y / n } : undefined;
}

/** The angle between two vectors, in degrees (0..180); undefined when either is zero. */
export function angleBetweenDeg(a: Point, b: Point): number | undefined {
  const na = norm(a);
  const nb = norm(b);
  if (na === 0 || nb === 0) return undefined;
  const c = Math.max(-1, Math.min(1, dot(a, b) / (na * nb)));
  return (Math.acos(c) * 180) / Math.PI;
}

/**
 * Signed distance of p from the line through a and b, positive on the side of `towards` (the same unit
 * as the coordinates). Zero when a = b.
 */
export function signedDistance(a: Point, b: Point, towards: Point, p: Point): number {
  const len = distance(a, b);
  if (len === 0) return 0;
  const d = cross(a, b, p) / len;
  return sideOf(a, b, towards) < 0 ? -d : d;
}

/** Where the foot of the perpendicular from p falls on a→b, as a fraction of a→b (0..1 inside it). */
export function projectionFraction(a: Point, b: Point, p: Point): number {
  const ab = sub(b, a);
  const len2 = dot(ab, ab);
  return len2 === 0 ? 0 : dot(sub(p, a), ab) / len2;
}

/** The corners of a box, clockwise from the top left. */
export function boxCorners(box: Box): Point[] {
  return [
    { x: box.x, y: box.y },
    { x: box.x + box.w, y: box.y },
    { x: box.x + box.w, y: box.y + box.h },
    { x: box.x, y: box.y + box.h },
  ];
}

/** Twice the signed area of a polygon (shoelace); > 0 for clockwise order in image coordinates. */
export function polygonArea2(polygon: Polygon): number {
  let s = 0;
  for (let i = 0, j = polygon.length - 1; i < polygon.length; j = i++) {
    s += polygon[j]!.x * polygon[i]!.y - polygon[i]!.x * polygon[j]!.y;
  }
  return s;
}

/** How far a box reaches across the line a→b (its extent along the line's normal). */
export function extentAcross(box: Box, a: Point, b: Point): number {
  const n = unit({ x: -(b.y - a.y), y: b.x - a.x });
  return n ? Math.abs(n.x) * box.w + Math.abs(n.y) * box.h : 0;
}
