/**
 * Reading a TF.js graph model (model.json + binary weight shards named by its weights manifest) from
 * disk, without TensorFlow: the topology stays JSON, the weights become ConstTensors (dequantised the
 * way TF.js does it, so that both runtimes see the same numbers).
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { ConstTensor, DType } from './const-tensor.js';
import { sizeOf } from './const-tensor.js';

export interface TfAttrList {
  s?: string[];
  i?: (string | number)[];
  f?: number[];
  b?: boolean[];
  type?: string[];
}

export interface TfAttr {
  s?: string;
  i?: string | number;
  f?: number;
  b?: boolean;
  type?: string;
  shape?: { dim?: { size?: string | number }[]; unknownRank?: boolean };
  list?: TfAttrList;
}

export interface TfNode {
  name: string;
  op: string;
  input?: string[];
  attr?: Record<string, TfAttr>;
  device?: string;
}

export interface TfWeightSpec {
  name: string;
  shape: number[];
  dtype: string;
  quantization?: { dtype: string; scale?: number; min?: number; original_dtype?: string };
}

export interface TfWeightGroup {
  paths: string[];
  weights: TfWeightSpec[];
}

export interface TfSignatureEntry {
  name: string;
  dtype?: string;
  tensorShape?: { dim?: { size?: string | number }[] };
}

export interface TfjsModelJson {
  format?: string;
  generatedBy?: string;
  convertedBy?: string | null;
  modelTopology: { node: TfNode[] };
  weightsManifest: TfWeightGroup[];
  signature?: { inputs?: Record<string, TfSignatureEntry>; outputs?: Record<string, TfSignatureEntry> };
}

export interface TfjsGraphModel {
  json: TfjsModelJson;
  weights: Map<string, ConstTensor>;
}

export async function loadTfjsGraphModel(modelJsonPath: string): Promise<TfjsGraphModel> {
  const json = JSON.parse(await readFile(modelJsonPath, 'utf8')) as TfjsModelJson;
  if (!json.modelTopology || !Array.isArray(json.modelTopology.node)) {
    throw new Error(`${modelJsonPath}: not a TF.js graph model (no modelTopology.node)`);
  }
  const dir = path.dirname(modelJsonPath);
  const shards: Buffer[] = [];
  for (const group of json.weightsManifest ?? []) {
    for (const p of group.paths) shards.push(await readFile(path.join(dir, p)));
  }
  const specs = (json.weightsManifest ?? []).flatMap((g) => g.weights);
  return { json, weights: decodeWeights(specs, Buffer.concat(shards)) };
}

const BYTES: Record<string, number> = { float32: 4, int32: 4, bool: 1, uint8: 1, uint16: 2, float16: 2 };

/** Decodes the concatenated weight shards in manifest order. */
export function decodeWeights(specs: readonly TfWeightSpec[], buffer: Buffer): Map<string, ConstTensor> {
  const out = new Map<string, ConstTensor>();
  let offset = 0;
  for (const spec of specs) {
    const n = sizeOf(spec.shape);
    const q = spec.quantization;
    const storedType = q ? q.dtype : spec.dtype;
    const bytes = BYTES[storedType];
    if (bytes === undefined) throw new Error(`weight ${spec.name}: unsupported stored dtype ${storedType}`);
    const end = offset + n * bytes;
    if (end > buffer.length) throw new Error(`weight ${spec.name}: weights file too short`);
    const dtype = toDType(spec.dtype, spec.name);
    const raw = buffer.subarray(offset, end);
    out.set(spec.name, { dtype, shape: [...spec.shape], data: decodeOne(raw, n, storedType, dtype, q) });
    offset = end;
  }
  if (offset !== buffer.length)
    throw new Error(`weights file has ${buffer.length - offset} unexpected trailing bytes`);
  return out;
}

function toDType(tfDtype: string, name: string): DType {
  if (tfDtype === 'float32' || tfDtype === 'int32' || tfDtype === 'bool') return tfDtype;
  throw new Error(`weight ${name}: unsupported dtype ${tfDtype}`);
}

function decodeOne(
  raw: Buffer,
  n: number,
  storedType: string,
  dtype: DType,
  q: TfWeightSpec['quantization'],
): Float32Array | Int32Array | Uint8Array {
  // Copy first: the shard buffer is not necessarily aligned for typed-array views.
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  if (!q) {
    if (dtype === 'float32') return Float32Array.from({ length: n }, (_, i) => view.getFloat32(i * 4, true));
    if (dtype === 'int32') return Int32Array.from({ length: n }, (_, i) => view.getInt32(i * 4, true));
    return Uint8Array.from(raw);
  }
  if (storedType === 'float16') {
    if (dtype !== 'float32') throw new Error('float16 quantisation of a non-float weight');
    return Float32Array.from({ length: n }, (_, i) => float16ToFloat32(view.getUint16(i * 2, true)));
  }
  const scale = q.scale ?? 1;
  const min = q.min ?? 0;
  const read =
    storedType === 'uint8' ? (i: number) => view.getUint8(i) : (i: number) => view.getUint16(i * 2, true);
  if (dtype === 'int32') return Int32Array.from({ length: n }, (_, i) => Math.round(read(i) * scale + min));
  return Float32Array.from({ length: n }, (_, i) => read(i) * scale + min);
}

/** IEEE 754 half → single; exact for every half value (subnormals, infinities, NaN). */
export function float16ToFloat32(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exponent = (h >> 10) & 0x1f;
  const mantissa = h & 0x3ff;
  if (exponent === 0) return sign * mantissa * 2 ** -24;
  if (exponent === 0x1f) return mantissa === 0 ? sign * Infinity : NaN;
  return sign * (1 + mantissa / 1024) * 2 ** (exponent - 15);
}

/** "node", "node:1", "^control" → node name and output index (control inputs are null). */
export function parseTensorRef(ref: string): { node: string; index: number } | null {
  if (ref.startsWith('^')) return null;
  const m = /^(.*):(\d+)$/.exec(ref);
  return m ? { node: m[1]!, index: Number(m[2]) } : { node: ref, index: 0 };
}

export function attrString(node: TfNode, key: string): string | undefined {
  const s = node.attr?.[key]?.s;
  return s === undefined ? undefined : Buffer.from(s, 'base64').toString('utf8');
}

export function attrInts(node: TfNode, key: string): number[] | undefined {
  return node.attr?.[key]?.list?.i?.map(Number);
}

export function attrInt(node: TfNode, key: string): number | undefined {
  const v = node.attr?.[key]?.i;
  return v === undefined ? undefined : Number(v);
}

export function attrFloat(node: TfNode, key: string): number | undefined {
  return node.attr?.[key]?.f;
}

export function attrBool(node: TfNode, key: string): boolean | undefined {
  return node.attr?.[key]?.b;
}

export function attrShape(node: TfNode, key: string): number[] | undefined {
  const shape = node.attr?.[key]?.shape;
  if (!shape || shape.unknownRank) return undefined;
  return (shape.dim ?? []).map((d) => Number(d.size ?? -1));
}
