/**
 * A minimal in-memory ONNX graph: nodes, initializers, static shapes, the clean-up passes the TF.js
 * converter needs (transpose cancellation, bias and pad folding, dead code) and deterministic
 * serialisation through onnx-proto.
 */
import onnxProto from 'onnx-proto';
import type { ConstTensor, DType } from './const-tensor.js';
import {
  broadcastShapes,
  makeTensor,
  reshape,
  resolveShape,
  sizeOf,
  toNumbers,
  transpose,
} from './const-tensor.js';

const { onnx } = onnxProto;

export type AttrValue =
  | { type: 'int'; value: number }
  | { type: 'ints'; value: number[] }
  | { type: 'float'; value: number }
  | { type: 'string'; value: string };

export const attr = {
  int: (value: number): AttrValue => ({ type: 'int', value }),
  ints: (value: number[]): AttrValue => ({ type: 'ints', value }),
  float: (value: number): AttrValue => ({ type: 'float', value }),
  string: (value: string): AttrValue => ({ type: 'string', value }),
};

export interface OnnxNode {
  name: string;
  opType: string;
  /** '' marks an omitted optional input. */
  inputs: string[];
  outputs: string[];
  attrs: Record<string, AttrValue>;
}

export interface ValueInfo {
  name: string;
  dtype: DType;
  shape: number[];
}

export const OPSET = 13;

export class OnnxGraph {
  nodes: OnnxNode[] = [];
  readonly initializers = new Map<string, ConstTensor>();
  inputs: ValueInfo[] = [];
  outputs: ValueInfo[] = [];
  private readonly used = new Set<string>();
  private readonly nodeNames = new Set<string>();
  /** Shapes of values as they are added (the optimiser does not keep this current; inferShapes does). */
  private readonly known = new Map<string, ValueInfo>();
  /**
   * Set by makeBatchDynamic(): the symbolic name written for dimension 0 of every graph input and output.
   * Shapes inside the graph are still inferred at batch 1.
   */
  batchParam: string | undefined;

  addInput(v: ValueInfo): string {
    this.reserve(v.name);
    this.inputs.push(v);
    this.known.set(v.name, v);
    return v.name;
  }

  /** Shape and dtype of a value added so far. */
  valueInfo(name: string): ValueInfo {
    const v = this.known.get(name);
    if (!v) throw new Error(`unknown value ${name}`);
    return v;
  }

  /** A value or node name not used before, derived from `base`. */
  fresh(base: string): string {
    let name = base;
    for (let i = 1; this.used.has(name); i++) name = `${base}_${i}`;
    this.used.add(name);
    return name;
  }

  reserve(name: string): void {
    this.used.add(name);
  }

  private freshNodeName(base: string): string {
    let name = base;
    for (let i = 1; this.nodeNames.has(name); i++) name = `${base}_${i}`;
    this.nodeNames.add(name);
    return name;
  }

  addInitializer(base: string, tensor: ConstTensor): string {
    const name = this.fresh(base);
    this.initializers.set(name, tensor);
    this.known.set(name, { name, dtype: tensor.dtype, shape: [...tensor.shape] });
    return name;
  }

  addNode(
    opType: string,
    inputs: string[],
    outputs: string[],
    attrs: Record<string, AttrValue> = {},
    name?: string,
  ) {
    for (const o of outputs) this.reserve(o);
    const node: OnnxNode = {
      name: this.freshNodeName(name ?? outputs[0] ?? opType),
      opType,
      inputs,
      outputs,
      attrs,
    };
    const shapes = inferNode(node, this.known, this.initializers);
    outputs.forEach((o, k) => {
      const s = shapes[k];
      if (!s) throw new Error(`${opType} ${node.name}: no shape for output ${k}`);
      this.known.set(o, { name: o, ...s });
    });
    this.nodes.push(node);
    return node;
  }

  /** Shapes and dtypes of every value, from the inputs and initializers forward. */
  inferShapes(): Map<string, ValueInfo> {
    const info = new Map<string, ValueInfo>();
    for (const i of this.inputs) info.set(i.name, i);
    for (const [name, t] of this.initializers) info.set(name, { name, dtype: t.dtype, shape: [...t.shape] });
    for (const node of this.nodes) {
      const shapes = inferNode(node, info, this.initializers);
      node.outputs.forEach((o, k) => {
        const s = shapes[k];
        if (!s) throw new Error(`${node.opType} ${node.name}: no shape for output ${k}`);
        info.set(o, { name: o, ...s });
      });
    }
    return info;
  }

  /** Runs the clean-up passes until nothing changes. */
  optimise(): void {
    for (let round = 0; round < 100_000; round++) {
      const changed =
        this.foldConstantTransposes() ||
        this.cancelTransposes() ||
        this.foldConvBias() ||
        this.foldPads() ||
        this.removeDeadCode();
      if (!changed) return;
    }
    throw new Error('optimiser did not settle');
  }

  private consumers(): Map<string, OnnxNode[]> {
    const map = new Map<string, OnnxNode[]>();
    for (const n of this.nodes) {
      for (const i of n.inputs) {
        if (!i) continue;
        const list = map.get(i);
        if (list) list.push(n);
        else map.set(i, [n]);
      }
    }
    return map;
  }

  private producers(): Map<string, OnnxNode> {
    const map = new Map<string, OnnxNode>();
    for (const n of this.nodes) for (const o of n.outputs) map.set(o, n);
    return map;
  }

  private isGraphOutput(name: string): boolean {
    return this.outputs.some((o) => o.name === name);
  }

  /** Makes every consumer of `from` read `to` instead; a graph output keeps its name through an Identity. */
  private replaceUses(from: string, to: string): void {
    for (const n of this.nodes) n.inputs = n.inputs.map((i) => (i === from ? to : i));
    if (this.isGraphOutput(from)) {
      this.nodes.push({
        name: this.freshNodeName(from),
        opType: 'Identity',
        inputs: [to],
        outputs: [from],
        attrs: {},
      });
    }
  }

  private removeNodes(dead: Set<OnnxNode>): void {
    this.nodes = this.nodes.filter((n) => !dead.has(n));
  }

  /** Transpose(Transpose(x, p1), p2) → x when p1∘p2 is the identity, else one Transpose. */
  private cancelTransposes(): boolean {
    const producers = this.producers();
    for (const t2 of this.nodes) {
      if (t2.opType !== 'Transpose') continue;
      const perm2 = permOf(t2);
      if (perm2.every((p, i) => p === i)) {
        this.removeNodes(new Set([t2]));
        this.replaceUses(t2.outputs[0]!, t2.inputs[0]!);
        return true;
      }
      const t1 = producers.get(t2.inputs[0]!);
      if (!t1 || t1.opType !== 'Transpose') continue;
      const perm1 = permOf(t1);
      const combined = perm2.map((p) => perm1[p]!);
      if (combined.every((p, i) => p === i)) {
        this.removeNodes(new Set([t2]));
        this.replaceUses(t2.outputs[0]!, t1.inputs[0]!);
      } else {
        t2.inputs = [t1.inputs[0]!];
        t2.attrs = { perm: attr.ints(combined) };
      }
      return true;
    }
    return false;
  }

  private foldConstantTransposes(): boolean {
    for (const n of this.nodes) {
      if (n.opType !== 'Transpose') continue;
      const src = this.initializers.get(n.inputs[0]!);
      if (!src) continue;
      const name = this.fresh(`${n.outputs[0]!}/folded`);
      this.initializers.set(name, transpose(src, permOf(n)));
      this.removeNodes(new Set([n]));
      this.replaceUses(n.outputs[0]!, name);
      return true;
    }
    return false;
  }

  /**
   * Add(Transpose(Conv(x, W), [0,2,3,1]), b[C]) → Transpose(Conv(x, W, b)): TF convolutions keep
   * their bias in a separate Add in NHWC; ONNX wants it inside the Conv.
   * Also Add(Conv(x, W), b[1,C,1,1]) → Conv(x, W, b).
   */
  private foldConvBias(): boolean {
    const producers = this.producers();
    const consumers = this.consumers();
    const single = (v: string) => (consumers.get(v)?.length ?? 0) === 1 && !this.isGraphOutput(v);
    for (const add of this.nodes) {
      if (add.opType !== 'Add') continue;
      for (const k of [0, 1]) {
        const bias = this.initializers.get(add.inputs[1 - k]!);
        const other = add.inputs[k]!;
        if (!bias || bias.dtype !== 'float32') continue;
        let conv = producers.get(other);
        let transpose: OnnxNode | undefined;
        if (conv?.opType === 'Transpose' && sameInts(permOf(conv), [0, 2, 3, 1]) && single(other)) {
          transpose = conv;
          conv = producers.get(conv.inputs[0]!);
        }
        if (!conv || conv.opType !== 'Conv' || conv.inputs.length > 2 || !single(conv.outputs[0]!)) continue;
        if (transpose === undefined && !single(other)) continue;
        const weight = this.initializers.get(conv.inputs[1]!);
        if (!weight) continue;
        const channels = weight.shape[0]!;
        const squeezed = bias.shape.filter((d) => d !== 1);
        if (sizeOf(bias.shape) !== channels || (channels !== 1 && squeezed.length !== 1)) continue;
        const channelAxis = transpose ? bias.shape.length - 1 : bias.shape.length - 3;
        if (channels !== 1 && bias.shape[channelAxis] !== channels) continue;
        const biasName = this.fresh(`${conv.name}/bias`);
        this.initializers.set(biasName, reshape(bias, [channels]));
        conv.inputs = [...conv.inputs, biasName];
        const tail = transpose ?? conv;
        tail.outputs = [add.outputs[0]!];
        if (transpose) conv.outputs = [transpose.inputs[0]!];
        this.removeNodes(new Set([add]));
        return true;
      }
    }
    return false;
  }

  /** Pad(x, spatial pads) → Conv/MaxPool pads: zero padding for Conv, -∞ for MaxPool. */
  private foldPads(): boolean {
    const producers = this.producers();
    const consumers = this.consumers();
    for (const node of this.nodes) {
      if (node.opType !== 'Conv' && node.opType !== 'MaxPool') continue;
      const pad = producers.get(node.inputs[0]!);
      if (!pad || pad.opType !== 'Pad' || (pad.attrs['mode'] && pad.attrs['mode'].value !== 'constant'))
        continue;
      if ((consumers.get(pad.outputs[0]!)?.length ?? 0) !== 1 || this.isGraphOutput(pad.outputs[0]!))
        continue;
      const padsT = this.initializers.get(pad.inputs[1]!);
      if (!padsT) continue;
      const pads = toNumbers(padsT);
      const valueName = pad.inputs[2];
      const value = valueName ? this.initializers.get(valueName) : undefined;
      if (valueName && !value) continue;
      const v = value ? value.data[0]! : 0;
      if (node.opType === 'Conv' ? v !== 0 : v !== -Infinity) continue;
      const rank = pads.length / 2;
      if (rank !== 4 || pads[0] !== 0 || pads[1] !== 0 || pads[4] !== 0 || pads[5] !== 0) continue;
      if (pads.some((p) => p < 0)) continue;
      const existing = node.attrs['pads']?.type === 'ints' ? node.attrs['pads'].value : [0, 0, 0, 0];
      if (node.attrs['auto_pad'] && node.attrs['auto_pad'].value !== 'NOTSET') continue;
      node.attrs = {
        ...node.attrs,
        pads: attr.ints([
          existing[0]! + pads[2]!,
          existing[1]! + pads[3]!,
          existing[2]! + pads[6]!,
          existing[3]! + pads[7]!,
        ]),
      };
      node.inputs = [pad.inputs[0]!, ...node.inputs.slice(1)];
      return true;
    }
    return false;
  }

  private removeDeadCode(): boolean {
    const live = new Set(this.outputs.map((o) => o.name));
    const keep = new Set<OnnxNode>();
    for (let i = this.nodes.length - 1; i >= 0; i--) {
      const n = this.nodes[i]!;
      if (n.outputs.some((o) => live.has(o))) {
        keep.add(n);
        for (const inp of n.inputs) if (inp) live.add(inp);
      }
    }
    let changed = keep.size !== this.nodes.length;
    this.nodes = this.nodes.filter((n) => keep.has(n));
    for (const name of [...this.initializers.keys()]) {
      if (!live.has(name)) {
        this.initializers.delete(name);
        changed = true;
      }
    }
    return changed;
  }

  /** Renames a value everywhere (its producer, its consumers, graph outputs). */
  renameValue(from: string, to: string): void {
    if (from === to) return;
    const taken =
      this.initializers.has(to) ||
      this.inputs.some((i) => i.name === to) ||
      this.nodes.some((n) => n.outputs.includes(to));
    // An internal value already called `to` (a TF node name reused as an output name) moves aside.
    if (taken) this.renameValue(to, this.fresh(`${to}/internal`));
    this.reserve(to);
    for (const n of this.nodes) {
      n.inputs = n.inputs.map((i) => (i === from ? to : i));
      n.outputs = n.outputs.map((o) => (o === from ? to : o));
    }
    for (const o of this.outputs) if (o.name === from) o.name = to;
    for (const i of this.inputs) if (i.name === from) i.name = to;
    const init = this.initializers.get(from);
    if (init) {
      this.initializers.delete(from);
      this.initializers.set(to, init);
    }
  }

  /**
   * Makes dimension 0 of the graph's inputs and outputs a symbolic batch dimension (`param`, e.g. "N"),
   * for a graph built at batch 1. Follows the batch axis from the inputs through every node and rewrites
   * what would pin it to 1: a Reshape target starting with 1 becomes 0 (copy the input's dimension), a
   * Resize given by `sizes` [1, C, H, W] is given by `scales` [1, 1, H/h, W/w] instead (the same
   * coordinates: onnxruntime derives the scale from sizes the same way). Anything whose meaning under a
   * batch > 1 cannot be shown (a Reshape, Concat or Split across the batch axis, a constant operand
   * that is not 1 along it, an op this pass does not know) is refused with the node named, rather than
   * producing a graph that is wrong for N > 1. Returns the number of Reshapes and Resizes rewritten.
   */
  makeBatchDynamic(param: string): { reshapes: number; resizes: number } {
    this.sortTopologically();
    const info = this.inferShapes();
    const refuse = (n: OnnxNode, why: string): never => {
      throw new Error(`cannot make the batch dimension dynamic: ${n.opType} ${n.name} ${why}`);
    };
    /** The batch axis of each value that carries one (graph inputs: axis 0). */
    const axisOf = new Map<string, number>();
    for (const i of this.inputs) {
      if (i.shape[0] !== 1) throw new Error(`input ${i.name} has batch ${i.shape[0]}, expected 1`);
      axisOf.set(i.name, 0);
    }
    let reshapes = 0;
    let resizes = 0;
    for (const n of this.nodes) {
      const batched = n.inputs.filter((i) => i && axisOf.has(i));
      if (batched.length === 0) continue;
      const axes = new Set(batched.map((i) => axisOf.get(i)!));
      if (axes.size !== 1) refuse(n, 'mixes inputs with different batch axes');
      const axis = [...axes][0]!;
      const outRank = info.get(n.outputs[0]!)!.shape.length;
      // A constant operand that broadcasts along the batch axis must be 1 there.
      for (const i of n.inputs) {
        const t = i ? this.initializers.get(i) : undefined;
        if (!t || n.opType === 'Reshape' || n.opType === 'Resize' || n.opType === 'Split') continue;
        const offset = outRank - t.shape.length;
        const along = axis - offset;
        if (
          along >= 0 &&
          t.shape[along] !== 1 &&
          ['Add', 'Sub', 'Mul', 'Div', 'Max', 'Min'].includes(n.opType)
        )
          refuse(n, `has a constant operand of size ${t.shape[along]} along the batch axis`);
      }
      let outAxis = axis;
      switch (n.opType) {
        case 'Identity':
        case 'Sigmoid':
        case 'Relu':
        case 'LeakyRelu':
        case 'Tanh':
        case 'Clip':
        case 'Exp':
        case 'Add':
        case 'Sub':
        case 'Mul':
        case 'Div':
        case 'Max':
        case 'Min':
        case 'Pad':
          if (n.opType === 'Pad') {
            const pads = toNumbers(this.initializers.get(n.inputs[1]!)!);
            if (pads[axis] !== 0 || pads[axis + pads.length / 2] !== 0) refuse(n, 'pads the batch axis');
          }
          break;
        case 'Conv':
        case 'MaxPool':
        case 'AveragePool':
          if (axis !== 0) refuse(n, `has its batch on axis ${axis}`);
          break;
        case 'Transpose':
          outAxis = permOf(n).indexOf(axis);
          break;
        case 'Concat':
        case 'Split': {
          const a = n.attrs['axis'];
          const rank = info.get(n.inputs[0]!)!.shape.length;
          const along = a?.type === 'int' ? (a.value < 0 ? a.value + rank : a.value) : 0;
          if (along === axis) refuse(n, 'joins or splits along the batch axis');
          break;
        }
        case 'Reshape': {
          const target = toNumbers(this.initializers.get(n.inputs[1]!)!);
          if (axis !== 0 || (target[0] !== 1 && target[0] !== 0))
            refuse(n, `reshapes the batch axis (target [${target.join(',')}])`);
          if (target[0] === 1) {
            const fixed = this.fresh(`${n.name}/shape_batch`);
            this.initializers.set(fixed, makeInt64([0, ...target.slice(1)]));
            n.inputs = [n.inputs[0]!, fixed];
            reshapes++;
          }
          break;
        }
        case 'Resize': {
          if (axis !== 0) refuse(n, `has its batch on axis ${axis}`);
          const sizesName = n.inputs[3];
          if (sizesName) {
            const sizes = toNumbers(this.initializers.get(sizesName)!);
            const inShape = info.get(n.inputs[0]!)!.shape;
            if (sizes[0] !== 1 || sizes[1] !== inShape[1]) refuse(n, 'resizes the batch or channel axis');
            const scales = sizes.map((s, k) => s / inShape[k]!);
            // Only exact float32 ratios keep the output size floor(in × scale) equal to `sizes`.
            if (scales.some((s, k) => Math.fround(s) !== s || Math.floor(inShape[k]! * s) !== sizes[k]))
              refuse(n, `has sizes [${sizes.join(',')}] that are no exact scale of [${inShape.join(',')}]`);
            const name = this.fresh(`${n.name}/scales`);
            this.initializers.set(name, makeTensor('float32', [scales.length], scales));
            n.inputs = [n.inputs[0]!, n.inputs[1] ?? '', name];
            resizes++;
          }
          break;
        }
        default:
          refuse(n, 'is not known to keep the batch axis');
      }
      for (const o of n.outputs) axisOf.set(o, outAxis);
    }
    for (const o of this.outputs) {
      if (axisOf.get(o.name) !== 0) throw new Error(`output ${o.name} does not carry the batch on axis 0`);
    }
    this.removeDeadCode();
    this.batchParam = param;
    return { reshapes, resizes };
  }

  /** Orders nodes topologically, keeping the current order wherever it is already valid. */
  sortTopologically(): void {
    const available = new Set<string>([...this.inputs.map((i) => i.name), ...this.initializers.keys(), '']);
    const pending = [...this.nodes];
    const ordered: OnnxNode[] = [];
    while (pending.length > 0) {
      const idx = pending.findIndex((n) => n.inputs.every((i) => available.has(i)));
      if (idx < 0) throw new Error(`graph has a cycle or a missing value near ${pending[0]!.name}`);
      const [n] = pending.splice(idx, 1);
      ordered.push(n!);
      for (const o of n!.outputs) available.add(o);
    }
    this.nodes = ordered;
  }

  /** Serialises deterministically: the same graph gives the same bytes. */
  toBytes(meta: {
    graphName: string;
    producerName: string;
    producerVersion: string;
    docString?: string;
    metadata?: Record<string, string>;
  }): Uint8Array {
    this.sortTopologically();
    const info = this.inferShapes();
    const outputs = this.outputs.map((o) => {
      const i = info.get(o.name);
      if (!i) throw new Error(`output ${o.name} is not produced`);
      return { ...i, name: o.name };
    });
    // Initializers in order of first use, so the file layout follows the graph.
    const order: string[] = [];
    const seen = new Set<string>();
    for (const n of this.nodes) {
      for (const i of n.inputs) {
        if (this.initializers.has(i) && !seen.has(i)) {
          seen.add(i);
          order.push(i);
        }
      }
    }
    const model = onnx.ModelProto.create({
      irVersion: 8,
      opsetImport: [{ domain: '', version: OPSET }],
      producerName: meta.producerName,
      producerVersion: meta.producerVersion,
      docString: meta.docString ?? '',
      graph: {
        name: meta.graphName,
        node: this.nodes.map((n) => ({
          name: n.name,
          opType: n.opType,
          input: n.inputs,
          output: n.outputs,
          attribute: Object.keys(n.attrs)
            .sort()
            .map((k) => encodeAttr(k, n.attrs[k]!)),
        })),
        initializer: order.map((name) => encodeTensor(name, this.initializers.get(name)!)),
        input: this.inputs.map((v) => encodeValueInfo(v, this.batchParam)),
        output: outputs.map((v) => encodeValueInfo(v, this.batchParam)),
      },
      metadataProps: Object.entries(meta.metadata ?? {})
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
        .map(([key, value]) => ({ key, value })),
    });
    return onnx.ModelProto.encode(model).finish();
  }
}

function permOf(n: OnnxNode): number[] {
  const p = n.attrs['perm'];
  if (p?.type !== 'ints') throw new Error(`Transpose ${n.name} without perm`);
  return p.value;
}

function sameInts(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

const DATA_TYPE: Record<DType, number> = {
  float32: onnx.TensorProto.DataType.FLOAT,
  int32: onnx.TensorProto.DataType.INT32,
  int64: onnx.TensorProto.DataType.INT64,
  bool: onnx.TensorProto.DataType.BOOL,
};

function encodeTensor(name: string, t: ConstTensor): onnxProto.onnx.ITensorProto {
  let raw: Uint8Array;
  if (t.dtype === 'float32') {
    const buf = Buffer.alloc(t.data.length * 4);
    t.data.forEach((v, i) => buf.writeFloatLE(v, i * 4));
    raw = buf;
  } else if (t.dtype === 'int32') {
    const buf = Buffer.alloc(t.data.length * 4);
    t.data.forEach((v, i) => buf.writeInt32LE(v, i * 4));
    raw = buf;
  } else if (t.dtype === 'int64') {
    const buf = Buffer.alloc(t.data.length * 8);
    t.data.forEach((v, i) => buf.writeBigInt64LE(BigInt(v), i * 8));
    raw = buf;
  } else {
    raw = Uint8Array.from(t.data);
  }
  return { name, dims: [...t.shape], dataType: DATA_TYPE[t.dtype], rawData: raw };
}

/** A graph input or output; with `batchParam`, dimension 0 is that symbolic name. */
function encodeValueInfo(v: ValueInfo, batchParam?: string): onnxProto.onnx.IValueInfoProto {
  const dim = v.shape.map((d, i) => (i === 0 && batchParam ? { dimParam: batchParam } : { dimValue: d }));
  return { name: v.name, type: { tensorType: { elemType: DATA_TYPE[v.dtype], shape: { dim } } } };
}

function makeInt64(values: number[]): ConstTensor {
  return makeTensor('int64', [values.length], values);
}

function encodeAttr(name: string, a: AttrValue): onnxProto.onnx.IAttributeProto {
  const T = onnx.AttributeProto.AttributeType;
  switch (a.type) {
    case 'int':
      return { name, type: T.INT, i: a.value };
    case 'ints':
      return { name, type: T.INTS, ints: a.value };
    case 'float':
      return { name, type: T.FLOAT, f: a.value };
    case 'string':
      return { name, type: T.STRING, s: Buffer.from(a.value, 'utf8') };
  }
}

/** Static shape inference for the operators this converter emits. */
function inferNode(
  node: OnnxNode,
  info: Map<string, ValueInfo>,
  inits: Map<string, ConstTensor>,
): { dtype: DType; shape: number[] }[] {
  const input = (k: number): ValueInfo => {
    const name = node.inputs[k];
    const v = name ? info.get(name) : undefined;
    if (!v) throw new Error(`${node.opType} ${node.name}: unknown input ${k} (${name})`);
    return v;
  };
  const constInput = (k: number): number[] => {
    const t = inits.get(node.inputs[k] ?? '');
    if (!t) throw new Error(`${node.opType} ${node.name}: input ${k} must be an initializer`);
    return toNumbers(t);
  };
  const ints = (key: string, fallback: number[]): number[] => {
    const a = node.attrs[key];
    return a?.type === 'ints' ? a.value : fallback;
  };
  const x = () => input(0);
  switch (node.opType) {
    case 'Identity':
    case 'Sigmoid':
    case 'Relu':
    case 'LeakyRelu':
    case 'Tanh':
    case 'Clip':
    case 'Exp':
      return [{ dtype: x().dtype, shape: [...x().shape] }];
    case 'Add':
    case 'Sub':
    case 'Mul':
    case 'Div':
    case 'Max':
    case 'Min':
      return [{ dtype: x().dtype, shape: broadcastShapes(x().shape, input(1).shape) }];
    case 'Transpose': {
      const perm = ints('perm', [...x().shape.keys()].reverse());
      return [{ dtype: x().dtype, shape: perm.map((p) => x().shape[p]!) }];
    }
    case 'Reshape':
      return [
        {
          dtype: x().dtype,
          shape: resolveShape(
            constInput(1).map((d, i) => (d === 0 ? x().shape[i]! : d)),
            sizeOf(x().shape),
          ),
        },
      ];
    case 'Pad': {
      const pads = constInput(1);
      const r = x().shape.length;
      return [{ dtype: x().dtype, shape: x().shape.map((d, i) => d + pads[i]! + pads[i + r]!) }];
    }
    case 'Concat': {
      const a = node.attrs['axis'];
      const shapes = node.inputs.map((_, k) => input(k).shape);
      const r = shapes[0]!.length;
      const axis = a?.type === 'int' ? (a.value < 0 ? a.value + r : a.value) : 0;
      // Maps that do not match off the axis (e.g. a frozen resize target at another input size).
      for (const sh of shapes) {
        if (sh.length !== r || sh.some((d, i) => i !== axis && d !== shapes[0]![i])) {
          throw new Error(
            `Concat ${node.name}: input shapes ${shapes.map((x) => `[${x.join(',')}]`).join(' ')} differ off axis ${axis}`,
          );
        }
      }
      const out = [...shapes[0]!];
      out[axis] = shapes.reduce((s, sh) => s + sh[axis]!, 0);
      return [{ dtype: x().dtype, shape: out }];
    }
    case 'Split': {
      const a = node.attrs['axis'];
      const r = x().shape.length;
      const axis = a?.type === 'int' ? (a.value < 0 ? a.value + r : a.value) : 0;
      const split = node.inputs[1]
        ? constInput(1)
        : new Array<number>(node.outputs.length).fill(x().shape[axis]! / node.outputs.length);
      return split.map((s) => {
        const shape = [...x().shape];
        shape[axis] = s;
        return { dtype: x().dtype, shape };
      });
    }
    case 'Resize': {
      if (node.inputs[3]) return [{ dtype: x().dtype, shape: constInput(3) }];
      const scales = constInput(2);
      return [{ dtype: x().dtype, shape: x().shape.map((d, i) => Math.floor(d * scales[i]!)) }];
    }
    case 'Conv':
    case 'MaxPool':
    case 'AveragePool': {
      const [n, c, h, w] = x().shape as [number, number, number, number];
      const kernel = node.opType === 'Conv' ? input(1).shape.slice(2) : ints('kernel_shape', []);
      const strides = ints('strides', [1, 1]);
      const dilations = ints('dilations', [1, 1]);
      const pads = ints('pads', [0, 0, 0, 0]);
      const out = (size: number, k: number, s: number, d: number, p0: number, p1: number) =>
        Math.floor((size + p0 + p1 - ((k - 1) * d + 1)) / s) + 1;
      const channels = node.opType === 'Conv' ? input(1).shape[0]! : c;
      return [
        {
          dtype: x().dtype,
          shape: [
            n,
            channels,
            out(h, kernel[0]!, strides[0]!, dilations[0]!, pads[0]!, pads[2]!),
            out(w, kernel[1]!, strides[1]!, dilations[1]!, pads[1]!, pads[3]!),
          ],
        },
      ];
    }
    default:
      throw new Error(`no shape inference for ${node.opType}`);
  }
}
