/**
 * Small dense tensors known at conversion time: weights, shapes, paddings, and whatever a constant
 * subgraph (shape math, SparseToDense) evaluates to. Row-major, static shapes only.
 */

export type DType = 'float32' | 'int32' | 'int64' | 'bool';

export interface ConstTensor {
  readonly dtype: DType;
  readonly shape: readonly number[];
  /** float32 → Float32Array; int32 and int64 → Int32Array (values here always fit); bool → Uint8Array. */
  readonly data: Float32Array | Int32Array | Uint8Array;
}

export function sizeOf(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

export function stridesOf(shape: readonly number[]): number[] {
  const strides = new Array<number>(shape.length);
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    strides[i] = s;
    s *= shape[i]!;
  }
  return strides;
}

function allocate(dtype: DType, n: number): Float32Array | Int32Array | Uint8Array {
  if (dtype === 'float32') return new Float32Array(n);
  if (dtype === 'bool') return new Uint8Array(n);
  return new Int32Array(n);
}

export function makeTensor(dtype: DType, shape: readonly number[], values: ArrayLike<number>): ConstTensor {
  const n = sizeOf(shape);
  if (values.length !== n)
    throw new Error(`tensor of shape [${shape.join(',')}] needs ${n} values, got ${values.length}`);
  const data = allocate(dtype, n);
  for (let i = 0; i < n; i++) data[i] = values[i]!;
  return { dtype, shape: [...shape], data };
}

export function scalarValue(t: ConstTensor): number {
  if (t.data.length !== 1) throw new Error(`expected a scalar, got shape [${t.shape.join(',')}]`);
  return t.data[0]!;
}

export function toNumbers(t: ConstTensor): number[] {
  return Array.from(t.data);
}

/** NumPy broadcasting of two shapes (TensorFlow and ONNX both use it). */
export function broadcastShapes(a: readonly number[], b: readonly number[]): number[] {
  const rank = Math.max(a.length, b.length);
  const out = new Array<number>(rank);
  for (let i = 0; i < rank; i++) {
    const da = a[a.length - rank + i] ?? 1;
    const db = b[b.length - rank + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) {
      throw new Error(`shapes [${a.join(',')}] and [${b.join(',')}] do not broadcast`);
    }
    out[i] = da === 1 ? db : da;
  }
  return out;
}

/** Offsets into `shape`'s data for every element of `outShape`, following broadcasting rules. */
function broadcastIndex(shape: readonly number[], outShape: readonly number[]): Int32Array {
  const n = sizeOf(outShape);
  const idx = new Int32Array(n);
  const rank = outShape.length;
  const inStrides = stridesOf(shape);
  const stepFor = new Array<number>(rank);
  for (let i = 0; i < rank; i++) {
    const j = shape.length - rank + i;
    stepFor[i] = j >= 0 && shape[j] !== 1 ? inStrides[j]! : 0;
  }
  const counter = new Array<number>(rank).fill(0);
  let offset = 0;
  for (let k = 0; k < n; k++) {
    idx[k] = offset;
    for (let axis = rank - 1; axis >= 0; axis--) {
      counter[axis]!++;
      offset += stepFor[axis]!;
      if (counter[axis]! < outShape[axis]!) break;
      offset -= stepFor[axis]! * counter[axis]!;
      counter[axis] = 0;
    }
  }
  return idx;
}

export type BinaryOp = 'add' | 'sub' | 'mul' | 'div' | 'max' | 'min';

export function binary(op: BinaryOp, a: ConstTensor, b: ConstTensor): ConstTensor {
  if (a.dtype !== b.dtype) throw new Error(`${op}: dtype mismatch ${a.dtype} vs ${b.dtype}`);
  const shape = broadcastShapes(a.shape, b.shape);
  const ia = broadcastIndex(a.shape, shape);
  const ib = broadcastIndex(b.shape, shape);
  const out = allocate(a.dtype, sizeOf(shape));
  const isInt = a.dtype !== 'float32';
  const fn = BINARY[op];
  for (let i = 0; i < out.length; i++) {
    const v = fn(a.data[ia[i]!]!, b.data[ib[i]!]!);
    out[i] = isInt ? Math.trunc(v) : v;
  }
  return { dtype: a.dtype, shape, data: out };
}

const BINARY: Record<BinaryOp, (x: number, y: number) => number> = {
  add: (x, y) => x + y,
  sub: (x, y) => x - y,
  mul: (x, y) => x * y,
  div: (x, y) => x / y,
  max: (x, y) => Math.max(x, y),
  min: (x, y) => Math.min(x, y),
};

export function cast(t: ConstTensor, dtype: DType): ConstTensor {
  const out = allocate(dtype, t.data.length);
  for (let i = 0; i < out.length; i++) {
    const v = t.data[i]!;
    out[i] = dtype === 'bool' ? (v !== 0 ? 1 : 0) : dtype === 'float32' ? v : Math.trunc(v);
  }
  return { dtype, shape: [...t.shape], data: out };
}

/** Resolves one -1 in a target shape and checks the element count. */
export function resolveShape(target: readonly number[], count: number): number[] {
  const known = target.reduce((p, d) => (d === -1 ? p : p * d), 1);
  const unknown = target.filter((d) => d === -1).length;
  if (unknown > 1) throw new Error(`reshape target [${target.join(',')}] has more than one -1`);
  const out = target.map((d) => (d === -1 ? count / known : d));
  if (sizeOf(out) !== count || out.some((d) => !Number.isInteger(d) || d < 0)) {
    throw new Error(`cannot reshape ${count} elements to [${target.join(',')}]`);
  }
  return out;
}

export function reshape(t: ConstTensor, target: readonly number[]): ConstTensor {
  return { dtype: t.dtype, shape: resolveShape(target, t.data.length), data: t.data };
}

export function transpose(t: ConstTensor, perm: readonly number[]): ConstTensor {
  const rank = t.shape.length;
  if (perm.length !== rank) throw new Error(`transpose: perm [${perm.join(',')}] for rank ${rank}`);
  const outShape = perm.map((p) => t.shape[p]!);
  const inStrides = stridesOf(t.shape);
  const step = perm.map((p) => inStrides[p]!);
  const out = allocate(t.dtype, t.data.length);
  const counter = new Array<number>(rank).fill(0);
  let offset = 0;
  for (let k = 0; k < out.length; k++) {
    out[k] = t.data[offset]!;
    for (let axis = rank - 1; axis >= 0; axis--) {
      counter[axis]!++;
      offset += step[axis]!;
      if (counter[axis]! < outShape[axis]!) break;
      offset -= step[axis]! * counter[axis]!;
      counter[axis] = 0;
    }
  }
  return { dtype: t.dtype, shape: outShape, data: out };
}

export function concat(ts: readonly ConstTensor[], axis: number): ConstTensor {
  const first = ts[0];
  if (!first) throw new Error('concat of nothing');
  const rank = first.shape.length;
  const ax = axis < 0 ? axis + rank : axis;
  for (const t of ts) {
    if (t.dtype !== first.dtype || t.shape.length !== rank) throw new Error('concat: mismatched inputs');
    for (let i = 0; i < rank; i++) {
      if (i !== ax && t.shape[i] !== first.shape[i]) throw new Error('concat: mismatched shapes');
    }
  }
  const outShape = [...first.shape];
  outShape[ax] = ts.reduce((s, t) => s + t.shape[ax]!, 0);
  const outer = sizeOf(first.shape.slice(0, ax));
  const out = allocate(first.dtype, sizeOf(outShape));
  let o = 0;
  for (let i = 0; i < outer; i++) {
    for (const t of ts) {
      const chunk = sizeOf(t.shape.slice(ax));
      out.set(t.data.subarray(i * chunk, (i + 1) * chunk), o);
      o += chunk;
    }
  }
  return { dtype: first.dtype, shape: outShape, data: out };
}

/** tf.gather / ONNX Gather along one axis (batch_dims = 0). */
export function gather(params: ConstTensor, indices: ConstTensor, axis: number): ConstTensor {
  const ax = axis < 0 ? axis + params.shape.length : axis;
  const outer = sizeOf(params.shape.slice(0, ax));
  const dim = params.shape[ax]!;
  const inner = sizeOf(params.shape.slice(ax + 1));
  const outShape = [...params.shape.slice(0, ax), ...indices.shape, ...params.shape.slice(ax + 1)];
  const out = allocate(params.dtype, sizeOf(outShape));
  let o = 0;
  for (let i = 0; i < outer; i++) {
    for (let j = 0; j < indices.data.length; j++) {
      let k = indices.data[j]!;
      if (k < 0) k += dim;
      if (k < 0 || k >= dim) throw new Error(`gather: index ${indices.data[j]} out of range [0,${dim})`);
      const start = (i * dim + k) * inner;
      out.set(params.data.subarray(start, start + inner), o);
      o += inner;
    }
  }
  return { dtype: params.dtype, shape: outShape, data: out };
}

/** tf.sparseToDense: indices [N, rank], [N] or scalar; values [N] or scalar; default scalar. */
export function sparseToDense(
  indices: ConstTensor,
  outputShape: ConstTensor,
  values: ConstTensor,
  defaultValue: ConstTensor,
): ConstTensor {
  const shape = toNumbers(outputShape);
  const out = allocate(values.dtype, sizeOf(shape)).fill(scalarValue(defaultValue));
  const rank = shape.length;
  const n = indices.shape.length === 0 ? 1 : indices.shape[0]!;
  const perIndex = indices.shape.length === 2 ? indices.shape[1]! : 1;
  if (perIndex !== rank) throw new Error(`sparseToDense: indices of width ${perIndex} for rank ${rank}`);
  const strides = stridesOf(shape);
  for (let i = 0; i < n; i++) {
    let offset = 0;
    for (let d = 0; d < rank; d++) offset += indices.data[i * perIndex + d]! * strides[d]!;
    out[offset] = values.data.length === 1 ? values.data[0]! : values.data[i]!;
  }
  return { dtype: values.dtype, shape, data: out };
}

/** tf.stack along axis 0 of same-shaped tensors. */
export function stack(ts: readonly ConstTensor[]): ConstTensor {
  const expanded = ts.map((t) => ({ ...t, shape: [1, ...t.shape] }));
  return concat(expanded, 0);
}
