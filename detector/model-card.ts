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
  output: z.strictObject({
    format: z.literal('nanodet-gfl'),
    description: z.string().min(1),
    strides: z.array(positiveInt).min(1),
    regMax: positiveInt,
    centerOffset: z.number().min(0).max(1),
    scoresActivated: z.literal(true),
    tensors: z.array(TENSOR).min(2),
  }),
  labels: z.array(z.string().min(1)).min(1),
  thresholds: z.strictObject({ score: probability, nmsIou: probability, maxDetections: positiveInt }),
  accuracy: z.array(MEASUREMENT).min(1).nullable(),
});

export type ModelCard = z.output<typeof MODEL_CARD_SCHEMA>;
export type CardTensor = z.output<typeof TENSOR>;

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
  for (const stride of card.output.strides) {
    const cells = Math.ceil(height / stride) * Math.ceil(width / stride);
    for (const role of ['scores', 'distances'] as const) {
      const t = card.output.tensors.filter((x) => x.stride === stride && x.role === role);
      if (t.length !== 1) {
        problems.push(
          `output.tensors: needs exactly one ${role} tensor for stride ${stride}, has ${t.length}`,
        );
        continue;
      }
      const expected = role === 'scores' ? card.labels.length : 4 * (card.output.regMax + 1);
      const shape = t[0]!.shape;
      if (shape[0] !== 1 || shape[1] !== cells || shape[2] !== expected) {
        problems.push(
          `output.tensors.${t[0]!.name}: shape [${shape.join(',')}] should be [1,${cells},${expected}]`,
        );
      }
    }
  }
  if (card.output.tensors.length !== 2 * card.output.strides.length) {
    problems.push('output.tensors: tensors for strides not listed in output.strides');
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
  for (const t of card.output.tensors) compare('output', session.outputMetadata, t.name, t.shape);
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
