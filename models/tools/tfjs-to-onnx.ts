/**
 * TF.js graph model → ONNX, in TypeScript, with no TensorFlow and no Python.
 *
 * Each TF op becomes the ONNX ops that compute the same thing. TF's NHWC convolutions, pools and
 * resizes are wrapped in Transposes to NCHW; the optimiser then cancels the Transpose pairs that meet
 * (models exported from PyTorch through onnx-tf, like NanoDet, are NCHW around every conv), folds the
 * NHWC bias Adds into the Convs and explicit Pads into Conv/MaxPool pads. Subgraphs whose inputs are
 * all constant (shape math, SparseToDense) are evaluated here and never reach the ONNX graph.
 *
 * The output is deterministic: same input files and options → same bytes.
 *
 * CLI: tsx models/tools/tfjs-to-onnx.ts <model.json> <out.onnx> [--output tfName=onnxName ...]
 */
import { writeFile } from 'node:fs/promises';
import { pathToFileURL } from 'node:url';
import type { ConstTensor, DType, BinaryOp } from './const-tensor.js';
import {
  binary,
  cast,
  concat,
  gather,
  makeTensor,
  reshape,
  scalarValue,
  sizeOf,
  sparseToDense,
  stack,
  toNumbers,
  transpose,
} from './const-tensor.js';
import type { ValueInfo } from './onnx-graph.js';
import { OnnxGraph, OPSET, attr } from './onnx-graph.js';
import type { TfjsGraphModel, TfNode } from './tfjs-graph.js';
import {
  attrBool,
  attrFloat,
  attrInt,
  attrInts,
  attrShape,
  attrString,
  loadTfjsGraphModel,
  parseTensorRef,
} from './tfjs-graph.js';

export const CONVERTER_NAME = 'phat-nguoi/tfjs-to-onnx';
export const CONVERTER_VERSION = '2';

export interface NameMapping {
  /** TF tensor name as in the signature ("Identity:0") or a node name ("Identity"). */
  tf: string;
  onnx: string;
}

export interface ConvertOptions {
  /** Graph outputs in this order with these names; default: the signature's outputs, sorted. */
  outputs?: NameMapping[];
  /** Renames graph inputs; default: the placeholder names. */
  inputs?: NameMapping[];
  graphName?: string;
  docString?: string;
  /** Stored as ONNX metadata_props (sorted by key). */
  metadata?: Record<string, string>;
  /**
   * A symbolic name (e.g. "N") for dimension 0 of every input and output: the graph then runs any batch
   * size. The TF.js graph must have been built at batch 1; see OnnxGraph.makeBatchDynamic.
   */
  dynamicBatch?: string;
  /**
   * Runs the graph at another spatial input size. The single rank-4 input gets `height` × `width` on
   * its spatial axes (`layout`, default NCHW) and every constant resize target (ResizeBilinear `size`)
   * is scaled by the same ratio as the input; it must stay an integer, else the conversion fails. That
   * is right for fully convolutional networks whose up- and down-sampling was a scale factor frozen
   * into sizes at export (NanoDet's PAN: ×2 and ×0.5). Everything else is inferred at the new size
   * (SAME padding included), so a constant that does not follow the input (a Reshape to fixed cells,
   * a Concat of maps that no longer match) fails the conversion instead of giving a wrong graph.
   */
  inputSize?: InputSize;
  onProgress?: (message: string) => void;
}

export interface InputSize {
  height: number;
  width: number;
  /** Where the spatial axes of the input are: NCHW (PyTorch exports through onnx-tf) or NHWC. */
  layout?: 'NCHW' | 'NHWC';
}

/** Axis indices (height, width) of a rank-4 input in `layout`. */
function spatialAxes(layout: InputSize['layout']): [number, number] {
  return layout === 'NHWC' ? [1, 2] : [2, 3];
}

export interface ConvertResult {
  bytes: Uint8Array;
  inputs: ValueInfo[];
  outputs: ValueInfo[];
  stats: {
    tfNodes: number;
    foldedTfNodes: number;
    onnxNodes: number;
    initializers: number;
    parameters: number;
    opCounts: Record<string, number>;
  };
}

type Value = { kind: 'const'; tensor: ConstTensor } | { kind: 'dyn'; name: string };

interface Context {
  node: TfNode;
  graph: OnnxGraph;
  /** ONNX name of a value (constants become initializers, once each). */
  input(v: Value, hint?: string): string;
  info(v: Value): ValueInfo;
  emit(
    opType: string,
    inputs: string[],
    attrs?: Parameters<OnnxGraph['addNode']>[3],
    outputs?: number,
  ): string[];
  int64(hint: string, values: number[]): string;
  /** New ÷ original input height and width (1, 1 unless ConvertOptions.inputSize). */
  spatialRatio: [number, number];
  toNchw(name: string): string;
  toNhwc(name: string): string;
}

type Handler = (ctx: Context, inputs: Value[]) => Value[];

const NHWC_TO_NCHW = [0, 3, 1, 2];
const NCHW_TO_NHWC = [0, 2, 3, 1];

const TF_DTYPES: Record<string, DType> = {
  DT_FLOAT: 'float32',
  DT_INT32: 'int32',
  DT_BOOL: 'bool',
  DT_INT64: 'int64',
};

function dyn(name: string): Value {
  return { kind: 'dyn', name };
}

function arg(ctx: Context, inputs: readonly Value[], i: number): Value {
  const v = inputs[i];
  if (!v) throw new Error(`${ctx.node.op} ${ctx.node.name}: missing input ${i}`);
  return v;
}

function requireConst(ctx: Context, v: Value | undefined, what: string): ConstTensor {
  if (!v || v.kind !== 'const') {
    throw new Error(`${ctx.node.op} ${ctx.node.name}: ${what} must be constant`);
  }
  return v.tensor;
}

function spatialAttrs(node: TfNode, key: string, nhwc: boolean, fallback: number): [number, number] {
  const v = attrInts(node, key);
  if (!v || v.length === 0) return [fallback, fallback];
  if (v.length !== 4) throw new Error(`${node.name}: ${key} of length ${v.length}`);
  return nhwc ? [v[1]!, v[2]!] : [v[2]!, v[3]!];
}

/** ONNX pads [top, left, bottom, right] for TF padding VALID / SAME / EXPLICIT. */
function tfPads(
  node: TfNode,
  nhwc: boolean,
  size: [number, number],
  kernel: [number, number],
  strides: [number, number],
  dilations: [number, number],
): number[] {
  const padding = attrString(node, 'padding') ?? 'VALID';
  if (padding === 'VALID') return [0, 0, 0, 0];
  if (padding === 'SAME') {
    const begin: number[] = [];
    const end: number[] = [];
    for (let i = 0; i < 2; i++) {
      const out = Math.ceil(size[i]! / strides[i]!);
      const total = Math.max((out - 1) * strides[i]! + (kernel[i]! - 1) * dilations[i]! + 1 - size[i]!, 0);
      begin.push(Math.floor(total / 2));
      end.push(total - Math.floor(total / 2));
    }
    return [begin[0]!, begin[1]!, end[0]!, end[1]!];
  }
  if (padding === 'EXPLICIT') {
    const e = attrInts(node, 'explicit_paddings') ?? [];
    if (e.length !== 8) throw new Error(`${node.name}: explicit_paddings of length ${e.length}`);
    const [h, w] = nhwc ? [2, 4] : [4, 6];
    return [e[h]!, e[w]!, e[h + 1]!, e[w + 1]!];
  }
  throw new Error(`${node.name}: padding ${padding} not supported`);
}

function layoutOf(ctx: Context): boolean {
  const format = attrString(ctx.node, 'data_format') ?? 'NHWC';
  if (format !== 'NHWC' && format !== 'NCHW') throw new Error(`${ctx.node.name}: data_format ${format}`);
  return format === 'NHWC';
}

function spatialSize(shape: readonly number[], nhwc: boolean): { h: number; w: number; c: number } {
  return nhwc ? { h: shape[1]!, w: shape[2]!, c: shape[3]! } : { h: shape[2]!, w: shape[3]!, c: shape[1]! };
}

const convolution =
  (depthwise: boolean): Handler =>
  (ctx, [x, f]) => {
    const filter = requireConst(ctx, f, 'filter');
    const nhwc = layoutOf(ctx);
    const inShape = ctx.info(x!).shape;
    if (inShape.length !== 4) throw new Error(`${ctx.node.name}: conv input of rank ${inShape.length}`);
    const { h, w, c } = spatialSize(inShape, nhwc);
    const [kh, kw, fin, fout] = filter.shape as [number, number, number, number];
    let weight: ConstTensor;
    let group: number;
    if (depthwise) {
      if (fin !== c)
        throw new Error(`${ctx.node.name}: depthwise filter for ${fin} channels, input has ${c}`);
      weight = reshape(transpose(filter, [2, 3, 0, 1]), [fin * fout, 1, kh, kw]);
      group = c;
    } else {
      if (c % fin !== 0) throw new Error(`${ctx.node.name}: ${c} input channels, filter expects ${fin}`);
      weight = transpose(filter, [3, 2, 0, 1]);
      group = c / fin;
    }
    const strides = spatialAttrs(ctx.node, 'strides', nhwc, 1);
    const dilations = spatialAttrs(ctx.node, 'dilations', nhwc, 1);
    const pads = tfPads(ctx.node, nhwc, [h, w], [kh, kw], strides, dilations);
    const xin = ctx.input(x!);
    const [y] = ctx.emit(
      'Conv',
      [nhwc ? ctx.toNchw(xin) : xin, ctx.graph.addInitializer(`${ctx.node.name}/weight`, weight)],
      {
        kernel_shape: attr.ints([kh, kw]),
        strides: attr.ints(strides),
        dilations: attr.ints(dilations),
        pads: attr.ints(pads),
        group: attr.int(group),
      },
    );
    return [dyn(nhwc ? ctx.toNhwc(y!) : y!)];
  };

const pool =
  (opType: 'MaxPool' | 'AveragePool'): Handler =>
  (ctx, [x]) => {
    const nhwc = layoutOf(ctx);
    const { h, w } = spatialSize(ctx.info(x!).shape, nhwc);
    const kernel = spatialAttrs(ctx.node, 'ksize', nhwc, 1);
    const strides = spatialAttrs(ctx.node, 'strides', nhwc, 1);
    const pads = tfPads(ctx.node, nhwc, [h, w], kernel, strides, [1, 1]);
    const xin = ctx.input(x!);
    // TF's SAME average pooling divides by the number of real pixels: ONNX count_include_pad = 0.
    const [y] = ctx.emit(opType, [nhwc ? ctx.toNchw(xin) : xin], {
      kernel_shape: attr.ints(kernel),
      strides: attr.ints(strides),
      pads: attr.ints(pads),
    });
    return [dyn(nhwc ? ctx.toNhwc(y!) : y!)];
  };

const elementwise =
  (opType: string, op: BinaryOp): Handler =>
  (ctx, inputs) => {
    const a = arg(ctx, inputs, 0);
    const b = arg(ctx, inputs, 1);
    if (a.kind === 'const' && b.kind === 'const')
      return [{ kind: 'const', tensor: binary(op, a.tensor, b.tensor) }];
    return [dyn(ctx.emit(opType, [ctx.input(a), ctx.input(b)])[0]!)];
  };

const unary =
  (opType: string, attrs: (node: TfNode) => Parameters<OnnxGraph['addNode']>[3] = () => ({})): Handler =>
  (ctx, [x]) => [dyn(ctx.emit(opType, [ctx.input(x!)], attrs(ctx.node))[0]!)];

const resize: Handler = (ctx, [x, size]) => {
  const [sh, sw] = toNumbers(requireConst(ctx, size, 'size')) as [number, number];
  // At another input size (ConvertOptions.inputSize) the frozen target follows the input.
  const [rh, rw] = ctx.spatialRatio;
  const oh = sh * rh;
  const ow = sw * rw;
  if (!Number.isInteger(oh) || !Number.isInteger(ow)) {
    throw new Error(
      `${ctx.node.name}: resize target ${sh}×${sw} does not scale to an integer size at ${rh}×${rw} the input`,
    );
  }
  const [n, , , c] = ctx.info(x!).shape as [number, number, number, number];
  const alignCorners = attrBool(ctx.node, 'align_corners') ?? false;
  const halfPixel = attrBool(ctx.node, 'half_pixel_centers') ?? false;
  const mode = alignCorners ? 'align_corners' : halfPixel ? 'half_pixel' : 'asymmetric';
  const [y] = ctx.emit(
    'Resize',
    [ctx.toNchw(ctx.input(x!)), '', '', ctx.int64(`${ctx.node.name}/sizes`, [n, c, oh, ow])],
    {
      mode: attr.string('linear'),
      coordinate_transformation_mode: attr.string(mode),
    },
  );
  return [dyn(ctx.toNhwc(y!))];
};

const pad: Handler = (ctx, [x, paddings, constant]) => {
  const p = requireConst(ctx, paddings, 'paddings');
  const rank = p.shape[0]!;
  const values = toNumbers(p);
  const pads = [
    ...Array.from({ length: rank }, (_, i) => values[2 * i]!),
    ...Array.from({ length: rank }, (_, i) => values[2 * i + 1]!),
  ];
  const inputs = [ctx.input(x!), ctx.int64(`${ctx.node.name}/pads`, pads)];
  if (constant) {
    const v = requireConst(ctx, constant, 'constant_values');
    inputs.push(
      ctx.graph.addInitializer(
        `${ctx.node.name}/value`,
        makeTensor(ctx.info(x!).dtype, [], [scalarValue(v)]),
      ),
    );
  }
  return [dyn(ctx.emit('Pad', inputs, { mode: attr.string('constant') })[0]!)];
};

function splitInto(ctx: Context, x: Value, axisIn: number, sizes: number[]): Value[] {
  const shape = ctx.info(x).shape;
  const axis = axisIn < 0 ? axisIn + shape.length : axisIn;
  const known = sizes.filter((s) => s !== -1).reduce((a, b) => a + b, 0);
  const resolved = sizes.map((s) => (s === -1 ? shape[axis]! - known : s));
  const outs = ctx.emit(
    'Split',
    [ctx.input(x), ctx.int64(`${ctx.node.name}/split`, resolved)],
    { axis: attr.int(axis) },
    resolved.length,
  );
  return outs.map(dyn);
}

const HANDLERS: Record<string, Handler> = {
  Identity: (_ctx, [x]) => [x!],
  Conv2D: convolution(false),
  DepthwiseConv2dNative: convolution(true),
  MaxPool: pool('MaxPool'),
  AvgPool: pool('AveragePool'),
  Add: elementwise('Add', 'add'),
  AddV2: elementwise('Add', 'add'),
  Sub: elementwise('Sub', 'sub'),
  Mul: elementwise('Mul', 'mul'),
  RealDiv: elementwise('Div', 'div'),
  Maximum: elementwise('Max', 'max'),
  Minimum: elementwise('Min', 'min'),
  BiasAdd: (ctx, [x, b]) => {
    const bias = requireConst(ctx, b, 'bias');
    const nhwc = layoutOf(ctx);
    const shaped = nhwc ? bias : reshape(bias, [bias.shape[0]!, 1, 1]);
    return [
      dyn(ctx.emit('Add', [ctx.input(x!), ctx.graph.addInitializer(`${ctx.node.name}/bias`, shaped)])[0]!),
    ];
  },
  Relu: unary('Relu'),
  Sigmoid: unary('Sigmoid'),
  Tanh: unary('Tanh'),
  Exp: unary('Exp'),
  LeakyRelu: unary('LeakyRelu', (node) => ({ alpha: attr.float(attrFloat(node, 'alpha') ?? 0.2) })),
  Relu6: (ctx, [x]) => {
    const lo = ctx.graph.addInitializer(`${ctx.node.name}/min`, makeTensor('float32', [], [0]));
    const hi = ctx.graph.addInitializer(`${ctx.node.name}/max`, makeTensor('float32', [], [6]));
    return [dyn(ctx.emit('Clip', [ctx.input(x!), lo, hi])[0]!)];
  },
  Reshape: (ctx, inputs) => {
    const x = arg(ctx, inputs, 0);
    const target = toNumbers(requireConst(ctx, inputs[1], 'shape'));
    if (x.kind === 'const') return [{ kind: 'const', tensor: reshape(x.tensor, target) }];
    return [dyn(ctx.emit('Reshape', [ctx.input(x), ctx.int64(`${ctx.node.name}/shape`, target)])[0]!)];
  },
  Transpose: (ctx, inputs) => {
    const x = arg(ctx, inputs, 0);
    const perm = toNumbers(requireConst(ctx, inputs[1], 'perm'));
    if (x.kind === 'const') return [{ kind: 'const', tensor: transpose(x.tensor, perm) }];
    return [dyn(ctx.emit('Transpose', [ctx.input(x)], { perm: attr.ints(perm) })[0]!)];
  },
  ConcatV2: (ctx, inputs) => {
    const axis = scalarValue(requireConst(ctx, inputs[inputs.length - 1], 'axis'));
    const parts = inputs.slice(0, -1);
    if (parts.every((v) => v.kind === 'const')) {
      return [
        {
          kind: 'const',
          tensor: concat(
            parts.map((v) => (v as { tensor: ConstTensor }).tensor),
            axis,
          ),
        },
      ];
    }
    const rank = ctx.info(parts[0]!).shape.length;
    return [
      dyn(
        ctx.emit(
          'Concat',
          parts.map((v) => ctx.input(v)),
          { axis: attr.int(axis < 0 ? axis + rank : axis) },
        )[0]!,
      ),
    ];
  },
  Pad: pad,
  PadV2: pad,
  SplitV: (ctx, [x, sizes, axis]) =>
    splitInto(
      ctx,
      x!,
      scalarValue(requireConst(ctx, axis, 'axis')),
      toNumbers(requireConst(ctx, sizes, 'size_splits')),
    ),
  Split: (ctx, [axis, x]) => {
    const n = attrInt(ctx.node, 'num_split') ?? 1;
    const a = scalarValue(requireConst(ctx, axis, 'axis'));
    const shape = ctx.info(x!).shape;
    const dim = shape[a < 0 ? a + shape.length : a]!;
    return splitInto(ctx, x!, a, new Array<number>(n).fill(dim / n));
  },
  ResizeBilinear: resize,
};

/** Ops evaluated at conversion time when all their inputs are constant. */
const FOLDERS: Record<string, (node: TfNode, inputs: ConstTensor[]) => ConstTensor> = {
  Cast: (node, [x]) => {
    const to = node.attr?.['DstT']?.type;
    const dtype = to ? TF_DTYPES[to] : undefined;
    if (!dtype) throw new Error(`${node.name}: Cast to ${to}`);
    return cast(x!, dtype);
  },
  SparseToDense: (_node, [indices, shape, values, def]) => sparseToDense(indices!, shape!, values!, def!),
  GatherV2: (_node, [params, indices, axis]) => gather(params!, indices!, axis ? scalarValue(axis) : 0),
  Pack: (node, inputs) => {
    if ((attrInt(node, 'axis') ?? 0) !== 0) throw new Error(`${node.name}: Pack on axis ≠ 0`);
    return stack(inputs);
  },
};

export function convertTfjsGraph(model: TfjsGraphModel, options: ConvertOptions = {}): ConvertResult {
  const progress = options.onProgress ?? (() => undefined);
  const nodes = new Map(model.json.modelTopology.node.map((n) => [n.name, n]));
  const outputsWanted = resolveOutputs(model, options);

  // Reachable nodes, checked for support before any work.
  const reachable = new Set<string>();
  const stackNames = outputsWanted.map((o) => o.node);
  while (stackNames.length > 0) {
    const name = stackNames.pop()!;
    if (reachable.has(name)) continue;
    const node = nodes.get(name);
    if (!node) throw new Error(`graph references missing node ${name}`);
    reachable.add(name);
    for (const ref of node.input ?? []) {
      const r = parseTensorRef(ref);
      if (r) stackNames.push(r.node);
    }
  }
  const unsupported = [...reachable]
    .map((n) => nodes.get(n)!.op)
    .filter((op) => !(op in HANDLERS) && !(op in FOLDERS) && op !== 'Const' && op !== 'Placeholder');
  if (unsupported.length > 0) {
    throw new Error(`unsupported TF ops: ${[...new Set(unsupported)].sort().join(', ')}`);
  }

  const graph = new OnnxGraph();
  const values = new Map<string, Value[]>();
  const initNames = new Map<ConstTensor, string>();
  const inputRenames = new Map((options.inputs ?? []).map((m) => [m.tf.replace(/:0$/, ''), m.onnx]));
  const resized = options.inputSize ? resizedInput(reachable, nodes, options.inputSize) : undefined;
  const spatialRatio: [number, number] = resized?.ratio ?? [1, 1];
  let folded = 0;
  let done = 0;

  const makeContext = (node: TfNode): Context => {
    const ctx: Context = {
      node,
      graph,
      input(v, hint) {
        if (v.kind === 'dyn') return v.name;
        let name = initNames.get(v.tensor);
        if (!name) {
          name = graph.addInitializer(hint ?? `${node.name}/const`, v.tensor);
          initNames.set(v.tensor, name);
        }
        return name;
      },
      info(v) {
        return v.kind === 'dyn'
          ? graph.valueInfo(v.name)
          : { name: '', dtype: v.tensor.dtype, shape: [...v.tensor.shape] };
      },
      emit(opType, inputs, attrs = {}, outputs = 1) {
        const names = Array.from({ length: outputs }, (_, k) =>
          graph.fresh(k === 0 ? node.name : `${node.name}:${k}`),
        );
        graph.addNode(opType, inputs, names, attrs, node.name);
        return names;
      },
      int64(hint, v) {
        return graph.addInitializer(hint, makeTensor('int64', [v.length], v));
      },
      spatialRatio,
      toNchw(name) {
        const out = graph.fresh(`${node.name}/nchw`);
        graph.addNode('Transpose', [name], [out], { perm: attr.ints(NHWC_TO_NCHW) });
        return out;
      },
      toNhwc(name) {
        const out = graph.fresh(`${node.name}/nhwc`);
        graph.addNode('Transpose', [name], [out], { perm: attr.ints(NCHW_TO_NHWC) });
        return out;
      },
    };
    return ctx;
  };

  const visit = (name: string): Value[] => {
    const cached = values.get(name);
    if (cached) return cached;
    const node = nodes.get(name)!;
    const inputs = (node.input ?? [])
      .map(parseTensorRef)
      .filter((r): r is { node: string; index: number } => r !== null)
      .map((r) => {
        const v = visit(r.node)[r.index];
        if (!v) throw new Error(`${name}: input ${r.node}:${r.index} does not exist`);
        return v;
      });
    let out: Value[];
    if (node.op === 'Const') {
      const t = model.weights.get(node.name);
      if (!t) throw new Error(`Const ${node.name} has no value in the weights manifest`);
      out = [{ kind: 'const', tensor: t }];
    } else if (node.op === 'Placeholder') {
      const shape = resized?.node === node.name ? resized.shape : attrShape(node, 'shape');
      const dtype = TF_DTYPES[node.attr?.['dtype']?.type ?? 'DT_FLOAT'];
      if (!shape || shape.some((d) => d < 0) || !dtype) {
        throw new Error(`input ${node.name}: needs a static shape and a known dtype`);
      }
      out = [dyn(graph.addInput({ name: inputRenames.get(node.name) ?? node.name, dtype, shape }))];
    } else if (
      inputs.length > 0 &&
      inputs.every((v) => v.kind === 'const') &&
      (node.op in FOLDERS || node.op in HANDLERS)
    ) {
      folded++;
      const folder = FOLDERS[node.op];
      out = folder
        ? [
            {
              kind: 'const',
              tensor: folder(
                node,
                inputs.map((v) => (v as { tensor: ConstTensor }).tensor),
              ),
            },
          ]
        : HANDLERS[node.op]!(makeContext(node), inputs);
      if (out.some((v) => v.kind !== 'const')) {
        throw new Error(`${node.op} ${node.name}: constant inputs but not foldable`);
      }
    } else {
      const handler = HANDLERS[node.op];
      if (!handler) throw new Error(`${node.op} ${node.name}: only supported with constant inputs`);
      out = handler(makeContext(node), inputs);
    }
    values.set(name, out);
    done++;
    if (done % 50 === 0) progress(`converted ${done}/${reachable.size} nodes`);
    return out;
  };

  const outputValues = outputsWanted.map((o) => {
    const v = visit(o.node)[o.index];
    if (!v || v.kind !== 'dyn') throw new Error(`output ${o.node}:${o.index} is constant or missing`);
    return v.name;
  });
  progress(`converted ${reachable.size} nodes (${folded} folded at conversion time)`);
  if (resized) progress(`input ${resized.node} at [${resized.shape.join(',')}]`);

  graph.outputs = outputValues.map((name) => ({ ...graph.valueInfo(name) }));
  graph.optimise();
  progress(`optimised to ${graph.nodes.length} ONNX nodes`);

  // Final output names, in the requested order.
  const claimed = new Set<string>();
  graph.outputs = outputsWanted.map((o, k) => {
    const current = graph.outputs[k]!.name;
    const producedHere = graph.nodes.some((n) => n.outputs.includes(current));
    if (producedHere && !claimed.has(current) && !graph.inputs.some((i) => i.name === current)) {
      graph.renameValue(current, o.onnx);
    } else {
      graph.reserve(o.onnx);
      graph.nodes.push({ name: o.onnx, opType: 'Identity', inputs: [current], outputs: [o.onnx], attrs: {} });
    }
    claimed.add(o.onnx);
    return { name: o.onnx, dtype: 'float32', shape: [] };
  });
  if (options.dynamicBatch !== undefined) {
    const { reshapes, resizes } = graph.makeBatchDynamic(options.dynamicBatch);
    progress(
      `batch dimension '${options.dynamicBatch}' made dynamic (${reshapes} Reshapes, ${resizes} Resizes rewritten)`,
    );
  }

  const bytes = graph.toBytes({
    graphName: options.graphName ?? 'model',
    producerName: CONVERTER_NAME,
    producerVersion: CONVERTER_VERSION,
    ...(options.docString !== undefined ? { docString: options.docString } : {}),
    ...(options.metadata !== undefined ? { metadata: options.metadata } : {}),
  });
  const info = graph.inferShapes();
  const opCounts: Record<string, number> = {};
  for (const n of graph.nodes) opCounts[n.opType] = (opCounts[n.opType] ?? 0) + 1;
  let parameters = 0;
  for (const t of graph.initializers.values()) if (t.dtype === 'float32') parameters += sizeOf(t.shape);
  progress(`serialised ${bytes.length} bytes (opset ${OPSET})`);
  return {
    bytes,
    inputs: graph.inputs.map((i) => ({ ...i })),
    outputs: graph.outputs.map((o) => ({ ...info.get(o.name)! })),
    stats: {
      tfNodes: reachable.size,
      foldedTfNodes: folded,
      onnxNodes: graph.nodes.length,
      initializers: graph.initializers.size,
      parameters,
      opCounts: Object.fromEntries(Object.entries(opCounts).sort(([a], [b]) => (a < b ? -1 : 1))),
    },
  };
}

/** The input shape and the spatial ratio that ConvertOptions.inputSize asks for. */
function resizedInput(
  reachable: ReadonlySet<string>,
  nodes: ReadonlyMap<string, TfNode>,
  size: InputSize,
): { node: string; shape: number[]; ratio: [number, number] } {
  const placeholders = [...reachable].filter((n) => nodes.get(n)!.op === 'Placeholder');
  if (placeholders.length !== 1) {
    throw new Error(`inputSize needs a graph with one input, this one has ${placeholders.length}`);
  }
  const name = placeholders[0]!;
  const original = attrShape(nodes.get(name)!, 'shape');
  if (!original || original.length !== 4 || original.some((d) => d < 1)) {
    throw new Error(
      `inputSize: input ${name} is not a static rank-4 tensor ([${original?.join(',') ?? ''}])`,
    );
  }
  for (const v of [size.height, size.width]) {
    if (!Number.isInteger(v) || v < 1) throw new Error(`inputSize: ${v} is not a positive integer`);
  }
  const [ha, wa] = spatialAxes(size.layout);
  const shape = [...original];
  shape[ha] = size.height;
  shape[wa] = size.width;
  return { node: name, shape, ratio: [size.height / original[ha]!, size.width / original[wa]!] };
}

function resolveOutputs(
  model: TfjsGraphModel,
  options: ConvertOptions,
): { node: string; index: number; onnx: string }[] {
  const mappings =
    options.outputs ??
    Object.keys(model.json.signature?.outputs ?? {})
      .sort()
      .map((k) => ({ tf: k, onnx: k.replace(/:0$/, '') }));
  if (mappings.length === 0) throw new Error('no outputs: the model has no signature; pass options.outputs');
  return mappings.map((m) => {
    const r = parseTensorRef(m.tf);
    if (!r) throw new Error(`bad output name ${m.tf}`);
    return { ...r, onnx: m.onnx };
  });
}

export async function convertTfjsModelFile(
  modelJsonPath: string,
  options: ConvertOptions = {},
): Promise<ConvertResult> {
  const model = await loadTfjsGraphModel(modelJsonPath);
  options.onProgress?.(
    `loaded ${model.json.modelTopology.node.length} TF nodes, ${model.weights.size} weights`,
  );
  return convertTfjsGraph(model, options);
}

async function main(argv: string[]): Promise<void> {
  const [input, output, ...rest] = argv;
  if (!input || !output) {
    console.error(
      'usage: tsx models/tools/tfjs-to-onnx.ts <model.json> <out.onnx> [--output tfName=onnxName ...]',
    );
    process.exitCode = 2;
    return;
  }
  const outputs: NameMapping[] = [];
  for (let i = 0; i < rest.length; i++) {
    if (rest[i] !== '--output') throw new Error(`unknown argument ${rest[i]}`);
    const [tf, onnx] = (rest[++i] ?? '').split('=');
    if (!tf || !onnx) throw new Error('--output needs tfName=onnxName');
    outputs.push({ tf, onnx });
  }
  const result = await convertTfjsModelFile(input, {
    ...(outputs.length > 0 ? { outputs } : {}),
    onProgress: (m) => console.error(m),
  });
  await writeFile(output, result.bytes);
  console.error(JSON.stringify({ output, ...result.stats }, null, 2));
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main(process.argv.slice(2)).catch((err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exitCode = 1;
  });
}
