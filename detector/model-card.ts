/**
 * The machine-readable model card (models/<name>/<version>/card.json) and the checks made against it
 * at load: the card itself, the file's sha256, and the session's inputs and outputs.
 */
import { z } from 'zod';
import { AppError } from '../core/errors.js';

const positiveInt = z.number().int().positive();
const probability = z.number().gt(0).lt(1);
const triple = z.tuple([z.number(), z.number(), z.number()]);

const MEASUREMENT = z.strictObject({
  dataset: z.string().min(1),
  metric: z.string().min(1),
  value: z.number(),
  samples: positiveInt,
  settings: z.string().min(1),
  tool: z.string().min(1),
  measuredOn: z.string().regex(/^\d{4}-\d{2}-\d{2}$/),
  peer: z.string().optional(),
});

const TENSOR = z.strictObject({
  name: z.string().min(1),
  role: z.enum(['scores', 'distances']),
  stride: positiveInt,
  shape: z.array(positiveInt).length(3),
});

const SINGLE_TENSOR = z.strictObject({
  name: z.string().min(1),
  shape: z.array(positiveInt).length(3),
});

/** NanoDet's GFL head: per stride a class-score tensor and a box-distribution tensor. */
const NANODET_OUTPUT = z.strictObject({
  format: z.literal('nanodet-gfl'),
  description: z.string().min(1),
  strides: z.array(positiveInt).min(1),
  regMax: positiveInt,
  centerOffset: z.number().min(0).max(1),
  scoresActivated: z.literal(true),
  tensors: z.array(TENSOR).min(2),
});

/**
 * YOLOX's head as exported without decoding: one tensor [1, Σ cells, 5 + classes], strides in order and
 * cells row-major; per row dx, dy, log w, log h (in stride units), objectness, class scores (sigmoid
 * applied by the export).
 */
const YOLOX_OUTPUT = z.strictObject({
  format: z.literal('yolox'),
  description: z.string().min(1),
  strides: z.array(positiveInt).min(1),
  scoresActivated: z.literal(true),
  tensor: SINGLE_TENSOR,
});

/**
 * Ultralytics YOLOv8 (and later anchor-free heads) as exported: boxes already decoded to cx, cy, w, h in
 * input pixels, then one score per class, no objectness. `attributes-first` is the export's
 * [1, 4 + classes, anchors]; `anchors-first` is the transposed [1, anchors, 4 + classes].
 */
const YOLOV8_OUTPUT = z.strictObject({
  format: z.literal('yolov8'),
  description: z.string().min(1),
  layout: z.enum(['attributes-first', 'anchors-first']),
  scoresActivated: z.literal(true),
  tensor: SINGLE_TENSOR,
});

/** The decoder a card selects: `output.format`. */
export const OUTPUT_FORMATS = ['nanodet-gfl', 'yolox', 'yolov8'] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

export const MODEL_CARD_SCHEMA = z.strictObject({
  name: z.string().regex(/^[a-z0-9][a-z0-9-]*$/, 'lower-case letters, digits and dashes'),
  version: z.string().regex(/^[0-9][0-9A-Za-z.-]*$/),
  task: z.literal('object-detection'),
  description: z.string().min(1),
  file: z.string().regex(/^[^/\\]+\.onnx$/, 'a file name in the version folder'),
  source: z.strictObject({
    package: z.string().min(1),
    version: z.string().min(1),
    files: z.array(z.string().min(1)).min(1),
    upstream: z.string().min(1),
    conversion: z.string().min(1),
  }),
  licence: z.strictObject({ spdx: z.string().min(1), notes: z.string().min(1) }),
  sha256: z.string().regex(/^[0-9a-f]{64}$/, '64 lower-case hex digits'),
  input: z.strictObject({
    name: z.string().min(1),
    shape: z.tuple([z.literal(1), z.literal(3), positiveInt, positiveInt]),
    layout: z.literal('NCHW'),
    dtype: z.literal('float32'),
    pixelFormat: z.enum(['RGB', 'BGR']),
    normalisation: z.strictObject({
      mean: triple,
      std: z.tuple([z.number().positive(), z.number().positive(), z.number().positive()]),
      note: z.string().optional(),
    }),
    resize: z.literal('bilinear'),
    letterbox: z.strictObject({
      enabled: z.boolean(),
      align: z.enum(['center', 'top-left']),
      padValue: z.number().min(0).max(255),
    }),
  }),
  output: z.discriminatedUnion('format', [NANODET_OUTPUT, YOLOX_OUTPUT, YOLOV8_OUTPUT]),
  labels: z.array(z.string().min(1)).min(1),
  thresholds: z.strictObject({ score: probability, nmsIou: probability, maxDetections: positiveInt }),
  accuracy: z.array(MEASUREMENT).min(1).nullable(),
  /**
   * A candidate version: loaded only when its version is named (DETECTOR_MODEL_VERSION), never as the
   * default, which is the newest version without this flag (model-registry.ts resolveModelDir).
   */
  preview: z.boolean().optional(),
});

export type ModelCard = z.output<typeof MODEL_CARD_SCHEMA>;
export type CardTensor = z.output<typeof TENSOR>;
export type NanodetOutput = z.output<typeof NANODET_OUTPUT>;
export type YoloxOutput = z.output<typeof YOLOX_OUTPUT>;
export type Yolov8Output = z.output<typeof YOLOV8_OUTPUT>;

/** Every output tensor the card describes, with its static shape. */
export function outputTensors(card: ModelCard): { name: string; shape: number[] }[] {
  const out = card.output;
  return out.format === 'nanodet-gfl' ? out.tensors : [out.tensor];
}

/** Grid cells over all strides: ⌈H/s⌉ × ⌈W/s⌉ each. */
export function gridCells(width: number, height: number, strides: readonly number[]): number {
  return strides.reduce((n, s) => n + Math.ceil(height / s) * Math.ceil(width / s), 0);
}

function invalid(message: string, details?: Record<string, unknown>): AppError {
  return new AppError('model_invalid', message, { permanent: true, ...(details ? { details } : {}) });
}

/** Parses and cross-checks a card; `where` names it in errors (a path). */
export function parseModelCard(json: unknown, where: string): ModelCard {
  const parsed = MODEL_CARD_SCHEMA.safeParse(json);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.') || '(card)'}: ${i.message}`);
    throw invalid(`model card ${where} is invalid:\n  ${problems.join('\n  ')}`, { problems });
  }
  const card = parsed.data;
  const problems: string[] = [];
  const [, , height, width] = card.input.shape;
  const classes = card.labels.length;
  const out = card.output;
  if (out.format === 'nanodet-gfl') {
    for (const stride of out.strides) {
      const cells = Math.ceil(height / stride) * Math.ceil(width / stride);
      for (const role of ['scores', 'distances'] as const) {
        const t = out.tensors.filter((x) => x.stride === stride && x.role === role);
        if (t.length !== 1) {
          problems.push(
            `output.tensors: needs exactly one ${role} tensor for stride ${stride}, has ${t.length}`,
          );
          continue;
        }
        const expected = role === 'scores' ? classes : 4 * (out.regMax + 1);
        const shape = t[0]!.shape;
        if (shape[0] !== 1 || shape[1] !== cells || shape[2] !== expected) {
          problems.push(
            `output.tensors.${t[0]!.name}: shape [${shape.join(',')}] should be [1,${cells},${expected}]`,
          );
        }
      }
    }
    if (out.tensors.length !== 2 * out.strides.length) {
      problems.push('output.tensors: tensors for strides not listed in output.strides');
    }
  } else if (out.format === 'yolox') {
    const cells = gridCells(width, height, out.strides);
    const shape = out.tensor.shape;
    if (shape[0] !== 1 || shape[1] !== cells || shape[2] !== 5 + classes) {
      problems.push(
        `output.tensor ${out.tensor.name}: shape [${shape.join(',')}] should be [1,${cells},${5 + classes}] ` +
          `(grid cells of strides ${out.strides.join('/')} on ${width}×${height}; 5 + ${classes} labels)`,
      );
    }
  } else {
    const shape = out.tensor.shape;
    const attributes = out.layout === 'attributes-first' ? shape[1] : shape[2];
    if (shape[0] !== 1 || attributes !== 4 + classes) {
      const want =
        out.layout === 'attributes-first' ? `[1,${4 + classes},anchors]` : `[1,anchors,${4 + classes}]`;
      problems.push(
        `output.tensor ${out.tensor.name}: shape [${shape.join(',')}] should be ${want} ` +
          `(${out.layout}: 4 box values + ${classes} labels)`,
      );
    }
  }
  if (new Set(card.labels).size !== card.labels.length) problems.push('labels: duplicate names');
  if (problems.length > 0)
    throw invalid(`model card ${where} is inconsistent:\n  ${problems.join('\n  ')}`, { problems });
  return card;
}

export function checkSha256(card: ModelCard, actual: string, file: string): void {
  if (actual !== card.sha256) {
    throw invalid(
      `model file ${file} has sha256 ${actual}, but its card says ${card.sha256}: ` +
        'the file is corrupt or stale (rebuild it with `npm run models:build`)',
      { expected: card.sha256, actual },
    );
  }
}

export interface SessionValue {
  readonly name: string;
  readonly isTensor: boolean;
  readonly type?: string;
  readonly shape?: ReadonlyArray<number | string>;
}

export interface SessionSignature {
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  readonly inputMetadata: readonly SessionValue[];
  readonly outputMetadata: readonly SessionValue[];
}

/** Compares the session's inputs and outputs (names, types, static shapes) with the card. */
export function checkSessionAgainstCard(card: ModelCard, session: SessionSignature, file: string): void {
  const problems: string[] = [];
  const compare = (kind: string, meta: readonly SessionValue[], name: string, shape: readonly number[]) => {
    const m = meta.find((v) => v.name === name);
    if (!m) {
      problems.push(
        `${kind} '${name}' is missing (model has ${meta.map((v) => `'${v.name}'`).join(', ') || 'none'})`,
      );
      return;
    }
    if (!m.isTensor || (m.type !== undefined && m.type !== 'float32')) {
      problems.push(`${kind} '${name}' is ${m.isTensor ? m.type : 'not a tensor'}, card says float32`);
    }
    const actual = m.shape ?? [];
    const matches =
      actual.length === shape.length && actual.every((d, i) => typeof d === 'string' || d === shape[i]);
    if (!matches)
      problems.push(`${kind} '${name}' has shape [${actual.join(',')}], card says [${shape.join(',')}]`);
  };
  compare('input', session.inputMetadata, card.input.name, card.input.shape);
  if (session.inputNames.length !== 1)
    problems.push(`model has ${session.inputNames.length} inputs, card describes 1`);
  for (const t of outputTensors(card)) compare('output', session.outputMetadata, t.name, t.shape);
  if (problems.length > 0) {
    throw invalid(
      `model ${file} does not match its card ${card.name}/${card.version}:\n  ${problems.join('\n  ')}`,
      {
        problems,
      },
    );
  }
}

/** Class names → a mask over the card's labels; unknown names are a configuration error. */
export function classMaskFor(card: ModelCard, classes: readonly string[]): Uint8Array {
  const mask = new Uint8Array(card.labels.length);
  const unknown: string[] = [];
  for (const name of classes) {
    const i = card.labels.indexOf(name);
    if (i < 0) unknown.push(name);
    else mask[i] = 1;
  }
  if (unknown.length > 0) {
    throw new AppError(
      'config_invalid',
      `classes not known to model ${card.name}/${card.version}: ${unknown.map((u) => `'${u}'`).join(', ')}`,
      { permanent: true },
    );
  }
  return mask;
}

// ---------------------------------------------------------------------------------------------------
// Text detection and text recognition cards (PP-OCR): the same identity, source, licence, sha256,
// input-normalisation and accuracy fields as the object-detection card, with `task` naming the kind
// and `output` the decoder. These models take images of varying size, so the input shape may name
// symbolic (dynamic) dimensions; `warmUpShape` fixes the one run at load. A recognition card also
// names its character set, a committed file in the version folder, pinned by sha256.
// ---------------------------------------------------------------------------------------------------

/** A tensor dimension: a fixed size, or a symbolic name for a dynamic one (e.g. "N", "W"). */
const DIM = z.union([
  positiveInt,
  z.string().regex(/^[A-Za-z][A-Za-z0-9_]*$/, 'a symbolic dimension name (letters, digits, _)'),
]);
export type CardDim = z.output<typeof DIM>;

const OCR_COMMON = {
  name: z.string().regex(/^[a-z0-9][a-z0-9-]*$/, 'lower-case letters, digits and dashes'),
  version: z.string().regex(/^[0-9][0-9A-Za-z.-]*$/),
  description: z.string().min(1),
  file: z.string().regex(/^[^/\\]+\.onnx$/, 'a file name in the version folder'),
  source: z.strictObject({
    package: z.string().min(1),
    version: z.string().min(1),
    files: z.array(z.string().min(1)).min(1),
    upstream: z.string().min(1),
    conversion: z.string().min(1),
  }),
  licence: z.strictObject({ spdx: z.string().min(1), notes: z.string().min(1) }),
  sha256: z.string().regex(/^[0-9a-f]{64}$/, '64 lower-case hex digits'),
  accuracy: z.array(MEASUREMENT).min(1).nullable(),
};

const OCR_INPUT_COMMON = {
  name: z.string().min(1),
  shape: z.tuple([DIM, z.literal(3), DIM, DIM]),
  layout: z.literal('NCHW'),
  dtype: z.literal('float32'),
  pixelFormat: z.enum(['RGB', 'BGR']),
  normalisation: z.strictObject({
    mean: triple,
    std: z.tuple([z.number().positive(), z.number().positive(), z.number().positive()]),
    note: z.string().optional(),
  }),
  resize: z.literal('bilinear'),
  /** The input of the one warm-up run at load. */
  warmUpShape: z.tuple([z.literal(1), z.literal(3), positiveInt, positiveInt]),
};

const OCR_TENSOR = z.strictObject({ name: z.string().min(1), shape: z.array(DIM).min(2) });

/** DB (differentiable binarisation) text detector: image → per-pixel text probability map. */
export const TEXT_DETECTION_CARD_SCHEMA = z.strictObject({
  ...OCR_COMMON,
  task: z.literal('text-detection'),
  input: z.strictObject({
    ...OCR_INPUT_COMMON,
    /** Both sides are resized to a multiple of this (the network's total stride). */
    multipleOf: positiveInt,
    /** Default cap on the longer side; larger images are scaled down. */
    maxSide: positiveInt,
  }),
  output: z.strictObject({
    format: z.literal('db-probability-map'),
    description: z.string().min(1),
    tensor: OCR_TENSOR,
  }),
  thresholds: z.strictObject({
    /** Pixels of the map above this are text. */
    binary: probability,
    /** A region is kept when its mean probability reaches this. */
    box: probability,
    /** Expansion of a shrunk text region back to the text: offset = area × ratio / perimeter. */
    unclipRatio: z.number().positive(),
    /** Regions shorter than this (map pixels) are dropped. */
    minSize: z.number().positive(),
    maxCandidates: positiveInt,
  }),
});

/** CTC text-line recogniser: a line image of fixed height → per-time-step class probabilities. */
export const TEXT_RECOGNITION_CARD_SCHEMA = z.strictObject({
  ...OCR_COMMON,
  task: z.literal('text-recognition'),
  input: z.strictObject({
    ...OCR_INPUT_COMMON,
    /** The line is resized to this height keeping its aspect ratio, then padded on the right. */
    height: positiveInt,
    minWidth: positiveInt,
    maxWidth: positiveInt,
    /** Padding value in model units (after normalisation). */
    padValue: z.number(),
  }),
  output: z.strictObject({
    format: z.literal('ctc'),
    description: z.string().min(1),
    tensor: OCR_TENSOR,
    blankIndex: z.number().int().min(0),
    softmaxApplied: z.literal(true),
    /** Input width per output time step. */
    downsample: positiveInt,
  }),
  charset: z.strictObject({
    /** One character per line, classes 1..size in order (class 0 is the CTC blank). */
    file: z.string().regex(/^[^/\\]+\.txt$/, 'a file name in the version folder'),
    sha256: z.string().regex(/^[0-9a-f]{64}$/, '64 lower-case hex digits'),
    size: positiveInt,
    /** A space class follows the file's characters. */
    spaceAppended: z.boolean(),
  }),
  thresholds: z.strictObject({
    /** Default: a reading whose confidence is below this is reported for review. */
    confidence: probability,
  }),
});

/**
 * Whole-plate CTC recogniser trained by the project (vn-plate-ocr): a plate crop of one or two rows,
 * stretched to a fixed grey input, → per-time-step class probabilities; a row-break class separates
 * the rows of a two-row plate. The card also records how it was trained (data, seed, command).
 */
export const PLATE_RECOGNITION_CARD_SCHEMA = z.strictObject({
  ...OCR_COMMON,
  task: z.literal('plate-recognition'),
  training: z.strictObject({
    data: z.string().min(1),
    seed: z.number().int(),
    samples: positiveInt,
    epochs: positiveInt,
    syntheticValidation: z.strictObject({
      samples: positiveInt,
      exact: z.number().min(0).max(1),
      compact: z.number().min(0).max(1),
    }),
    command: z.string().min(1),
  }),
  input: z.strictObject({
    name: z.string().min(1),
    shape: z.tuple([DIM, z.literal(1), positiveInt, positiveInt]),
    layout: z.literal('NCHW'),
    dtype: z.literal('float32'),
    /** BT.601 luma of the RGB crop (detector/plates/image.ts toGray). */
    pixelFormat: z.literal('GRAY'),
    normalisation: z.strictObject({
      mean: z.tuple([z.number()]),
      std: z.tuple([z.number().positive()]),
      note: z.string().optional(),
    }),
    /** The whole crop resized to the input size, aspect ratio not kept (resizeRgb). */
    resize: z.literal('stretch'),
    warmUpShape: z.tuple([z.literal(1), z.literal(1), positiveInt, positiveInt]),
  }),
  output: z.strictObject({
    format: z.literal('ctc'),
    description: z.string().min(1),
    tensor: OCR_TENSOR,
    blankIndex: z.number().int().min(0),
    softmaxApplied: z.literal(true),
    /** The charset character that separates the rows of a two-row plate. */
    rowBreak: z.string().length(1),
  }),
  charset: z.strictObject({
    file: z.string().regex(/^[^/\\]+\.txt$/, 'a file name in the version folder'),
    sha256: z.string().regex(/^[0-9a-f]{64}$/, '64 lower-case hex digits'),
    size: positiveInt,
    spaceAppended: z.literal(false),
  }),
  thresholds: z.strictObject({
    /** Default: a reading whose confidence is below this is reported for review. */
    confidence: probability,
  }),
});

export const OCR_MODEL_CARD_SCHEMA = z.discriminatedUnion('task', [
  TEXT_DETECTION_CARD_SCHEMA,
  TEXT_RECOGNITION_CARD_SCHEMA,
  PLATE_RECOGNITION_CARD_SCHEMA,
]);

export type TextDetectionCard = z.output<typeof TEXT_DETECTION_CARD_SCHEMA>;
export type TextRecognitionCard = z.output<typeof TEXT_RECOGNITION_CARD_SCHEMA>;
export type PlateRecognitionCard = z.output<typeof PLATE_RECOGNITION_CARD_SCHEMA>;
export type OcrModelCard = z.output<typeof OCR_MODEL_CARD_SCHEMA>;

/** Classes of a recognition card's output: blank, the charset, and the space when appended. */
export function recognitionClasses(card: TextRecognitionCard | PlateRecognitionCard): number {
  return 1 + card.charset.size + (card.charset.spaceAppended ? 1 : 0);
}

/** Parses and cross-checks a text detection or recognition card; `where` names it in errors. */
export function parseOcrModelCard(json: unknown, where: string): OcrModelCard {
  const parsed = OCR_MODEL_CARD_SCHEMA.safeParse(json);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.') || '(card)'}: ${i.message}`);
    throw invalid(`model card ${where} is invalid:\n  ${problems.join('\n  ')}`, { problems });
  }
  const card = parsed.data;
  const problems: string[] = [];
  const [, , h, w] = card.input.shape;
  const [, , wh, ww] = card.input.warmUpShape;
  if ((typeof h === 'number' && h !== wh) || (typeof w === 'number' && w !== ww)) {
    problems.push(`input.warmUpShape [${card.input.warmUpShape.join(',')}] does not fit input.shape`);
  }
  if (card.task === 'text-detection') {
    if (wh % card.input.multipleOf !== 0 || ww % card.input.multipleOf !== 0) {
      problems.push(`input.warmUpShape: sides must be multiples of ${card.input.multipleOf}`);
    }
    if (card.output.tensor.shape.length !== 4 || card.output.tensor.shape[1] !== 1) {
      problems.push(`output.tensor ${card.output.tensor.name}: a probability map is [N,1,H,W]`);
    }
  } else if (card.task === 'plate-recognition') {
    const shape = card.output.tensor.shape;
    const classes = recognitionClasses(card);
    if (shape.length !== 3 || shape[2] !== classes) {
      problems.push(
        `output.tensor ${card.output.tensor.name}: shape [${shape.join(',')}] should be [N,T,${classes}] ` +
          `(blank + ${card.charset.size} characters)`,
      );
    }
    if (card.output.blankIndex >= classes) problems.push('output.blankIndex lies outside the classes');
  } else {
    if (h !== card.input.height)
      problems.push(`input.height ${card.input.height} differs from input.shape[2]`);
    if (card.input.minWidth > card.input.maxWidth) problems.push('input.minWidth exceeds input.maxWidth');
    const shape = card.output.tensor.shape;
    const classes = recognitionClasses(card);
    if (shape.length !== 3 || shape[2] !== classes) {
      problems.push(
        `output.tensor ${card.output.tensor.name}: shape [${shape.join(',')}] should be [N,T,${classes}] ` +
          `(blank + ${card.charset.size} characters${card.charset.spaceAppended ? ' + space' : ''})`,
      );
    }
    if (card.output.blankIndex >= classes) problems.push('output.blankIndex lies outside the classes');
  }
  if (problems.length > 0)
    throw invalid(`model card ${where} is inconsistent:\n  ${problems.join('\n  ')}`, { problems });
  return card;
}

/** A file's sha256 against the one its card pins. */
export function checkFileSha256(expected: string, actual: string, file: string): void {
  if (actual !== expected) {
    throw invalid(
      `file ${file} has sha256 ${actual}, but its card says ${expected}: ` +
        'the file is corrupt or stale (rebuild it with `npm run models:build`)',
      { expected, actual },
    );
  }
}

/**
 * Compares the session with a text detection or recognition card: names, float32, and every fixed
 * dimension of the card (a symbolic card dimension accepts any size; a fixed one needs the same
 * number or a dynamic dimension in the model).
 */
export function checkSessionAgainstOcrCard(
  card: OcrModelCard,
  session: SessionSignature,
  file: string,
): void {
  const problems: string[] = [];
  const compare = (kind: string, meta: readonly SessionValue[], name: string, shape: readonly CardDim[]) => {
    const m = meta.find((v) => v.name === name);
    if (!m) {
      problems.push(
        `${kind} '${name}' is missing (model has ${meta.map((v) => `'${v.name}'`).join(', ') || 'none'})`,
      );
      return;
    }
    if (!m.isTensor || (m.type !== undefined && m.type !== 'float32')) {
      problems.push(`${kind} '${name}' is ${m.isTensor ? m.type : 'not a tensor'}, card says float32`);
    }
    const actual = m.shape ?? [];
    const matches =
      actual.length === shape.length &&
      actual.every((d, i) => typeof d === 'string' || typeof shape[i] === 'string' || d === shape[i]);
    if (!matches)
      problems.push(`${kind} '${name}' has shape [${actual.join(',')}], card says [${shape.join(',')}]`);
  };
  compare('input', session.inputMetadata, card.input.name, card.input.shape);
  if (session.inputNames.length !== 1)
    problems.push(`model has ${session.inputNames.length} inputs, card describes 1`);
  compare('output', session.outputMetadata, card.output.tensor.name, card.output.tensor.shape);
  if (problems.length > 0) {
    throw invalid(
      `model ${file} does not match its card ${card.name}/${card.version}:\n  ${problems.join('\n  ')}`,
      { problems },
    );
  }
}
