/**
 * Minimum-cost assignment of rows to columns (Hungarian method with potentials, O(n²·m)). `cost[i][j]`
 * is the cost of pairing row i with column j; pairs at or above `forbidden` are never returned. Rows and
 * columns may differ in number; each is used at most once.
 */
export function assign(cost: readonly (readonly number[])[], forbidden = 1e6): [number, number][] {
  const rows = cost.length;
  const cols = rows > 0 ? cost[0]!.length : 0;
  if (rows === 0 || cols === 0) return [];
  const transposed = rows > cols;
  const n = transposed ? cols : rows;
  const m = transposed ? rows : cols;
  const at = (i: number, j: number) => {
    const c = transposed ? cost[j]![i]! : cost[i]![j]!;
    return Math.min(c, forbidden);
  };
  // 1-indexed: p[j] is the row matched to column j, way[j] the previous column on the augmenting path.
  const u = new Float64Array(n + 1);
  const v = new Float64Array(m + 1);
  const p = new Int32Array(m + 1);
  const way = new Int32Array(m + 1);
  for (let i = 1; i <= n; i++) {
    p[0] = i;
    let j0 = 0;
    const minv = new Float64Array(m + 1).fill(Infinity);
    const used = new Uint8Array(m + 1);
    do {
      used[j0] = 1;
      const i0 = p[j0]!;
      let delta = Infinity;
      let j1 = 0;
      for (let j = 1; j <= m; j++) {
        if (used[j]) continue;
        const cur = at(i0 - 1, j - 1) - u[i0]! - v[j]!;
        if (cur < minv[j]!) {
          minv[j] = cur;
          way[j] = j0;
        }
        if (minv[j]! < delta) {
          delta = minv[j]!;
          j1 = j;
        }
      }
      for (let j = 0; j <= m; j++) {
        if (used[j]) {
          u[p[j]!] = u[p[j]!]! + delta;
          v[j] = v[j]! - delta;
        } else {
          minv[j] = minv[j]! - delta;
        }
      }
      j0 = j1;
    } while (p[j0] !== 0);
    do {
      const j1 = way[j0]!;
      p[j0] = p[j1]!;
      j0 = j1;
    } while (j0 !== 0);
  }
  const pairs: [number, number][] = [];
  for (let j = 1; j <= m; j++) {
    if (p[j] === 0) continue;
    const i = p[j]! - 1;
    const [r, c] = transposed ? [j - 1, i] : [i, j - 1];
    if (cost[r]![c]! < forbidden) pairs.push([r, c]);
  }
  return pairs.sort((a, b) => a[0] - b[0]);
}
