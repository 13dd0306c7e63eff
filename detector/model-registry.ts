/**
 * The model registry on disk: models/<name>/<version>/{card.json, model.onnx}. Loading a model checks
 * its card, the file's sha256 and the session's inputs and outputs against the card, picks the
 * execution provider (CUDA when asked and available, else CPU with a logged reason) and warms up once.
 */
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { AppError, errorMessage } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { ModelCard, OcrModelCard, PlateRecognitionCard, TextRecognitionCard } from './model-card.js';
import {
  checkFileSha256,
  checkSessionAgainstCard,
  checkSessionAgainstOcrCard,
  checkSha256,
  parseModelCard,
  parseOcrModelCard,
} from './model-card.js';

export type ExecutionProvider = 'cpu' | 'cuda' | 'tensorrt';

/** The providers tried, in order, when `wanted` is asked for: each failure falls back to the next. */
export function providerChain(wanted: ExecutionProvider): ExecutionProvider[] {
  if (wanted === 'tensorrt') return ['tensorrt', 'cuda', 'cpu'];
  if (wanted === 'cuda') return ['cuda', 'cpu'];
  return ['cpu'];
}

export interface LoadModelOptions {
  modelsDir: string;
  name: string;
  /** Default: the highest version folder that holds a card.json. */
  version?: string;
  provider?: ExecutionProvider;
  cudaDevice?: number;
  /** onnxruntime intra-op threads (default 1). */
  threads?: number;
  warmUp?: boolean;
  log?: Logger;
}

export interface LoadedModel {
  card: ModelCard;
  session: ort.InferenceSession;
  dir: string;
  file: string;
  /** The provider actually in use. */
  provider: ExecutionProvider;
  /** Why the provider asked for could not be used (each provider tried, with its error). */
  fallbackReason?: string;
  loadMs: number;
  warmUpMs: number;
}

function invalid(message: string, cause?: unknown): AppError {
  return new AppError('model_invalid', message, {
    permanent: true,
    ...(cause === undefined ? {} : { cause }),
  });
}

const NAME = /^[a-z0-9][a-z0-9-]*$/;

function compareVersions(a: string, b: string): number {
  return a.localeCompare(b, 'en', { numeric: true });
}

/** Every version folder of a model that holds a card.json, oldest first (numeric order). */
export async function listModelVersions(modelsDir: string, name: string): Promise<string[]> {
  return (await listVersionCards(modelsDir, name)).map((v) => v.version);
}

/** Version folders with a card.json, oldest first, and whether each card marks a preview version. */
async function listVersionCards(
  modelsDir: string,
  name: string,
): Promise<{ version: string; preview: boolean }[]> {
  if (!NAME.test(name))
    throw invalid(`model name '${name}' is not a registry name (lower-case, digits, dashes)`);
  const base = path.join(modelsDir, name);
  let versions: { version: string; preview: boolean }[];
  try {
    const entries = await readdir(base, { withFileTypes: true });
    const dirs = entries.filter((e) => e.isDirectory()).map((e) => e.name);
    versions = [];
    for (const d of dirs) {
      const text = await readFile(path.join(base, d, 'card.json'), 'utf8').catch(() => undefined);
      if (text === undefined) continue;
      // A card that does not parse is reported when that version is loaded, not here.
      let preview = false;
      try {
        preview = (JSON.parse(text) as { preview?: unknown }).preview === true;
      } catch {
        preview = false;
      }
      versions.push({ version: d, preview });
    }
  } catch (err) {
    throw invalid(`model '${name}' is not in the registry at ${modelsDir}`, err);
  }
  return versions.sort((a, b) => compareVersions(a.version, b.version));
}

/**
 * The folder of a model version. When none is given: the newest version whose card is not marked
 * `preview` (a candidate version is loaded only by name), else the newest.
 */
export async function resolveModelDir(
  modelsDir: string,
  name: string,
  version?: string,
): Promise<{ dir: string; version: string }> {
  const base = path.join(modelsDir, name);
  const cards = await listVersionCards(modelsDir, name);
  const versions = cards.map((c) => c.version);
  if (version !== undefined) {
    if (!versions.includes(version)) {
      throw invalid(`model '${name}' has no version '${version}' (have: ${versions.join(', ') || 'none'})`);
    }
    return { dir: path.join(base, version), version };
  }
  const newest = (cards.filter((c) => !c.preview).at(-1) ?? cards.at(-1))?.version;
  if (newest === undefined)
    throw invalid(`model '${name}' has no version folder with a card.json under ${base}`);
  return { dir: path.join(base, newest), version: newest };
}

export async function readModelCard(dir: string): Promise<ModelCard> {
  const file = path.join(dir, 'card.json');
  let json: unknown;
  try {
    json = JSON.parse(await readFile(file, 'utf8'));
  } catch (err) {
    throw invalid(`model card ${file} cannot be read: ${errorMessage(err)}`, err);
  }
  return parseModelCard(json, file);
}

export function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/**
 * Session options for one provider. TensorRT lists CUDA after it, so the nodes TensorRT does not take
 * run on CUDA rather than the CPU; onnxruntime always appends its CPU provider for the rest.
 */
export function sessionOptions(
  provider: ExecutionProvider,
  threads: number,
  cudaDevice: number,
): ort.InferenceSession.SessionOptions {
  const executionProviders: ort.InferenceSession.ExecutionProviderConfig[] =
    provider === 'tensorrt'
      ? [
          { name: 'tensorrt', deviceId: cudaDevice },
          { name: 'cuda', deviceId: cudaDevice },
        ]
      : provider === 'cuda'
        ? [{ name: 'cuda', deviceId: cudaDevice }]
        : ['cpu'];
  return {
    executionProviders,
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
  };
}

/**
 * A session on the best provider of providerChain(wanted) that loads: each one that fails is logged
 * (warn, with its reason) and the next is tried; the CPU is last, and its failure is the model's fault.
 */
export async function createSession(
  bytes: Uint8Array,
  file: string,
  model: string,
  options: Pick<LoadModelOptions, 'provider' | 'threads' | 'cudaDevice' | 'log'>,
): Promise<{ session: ort.InferenceSession; provider: ExecutionProvider; fallbackReason?: string }> {
  const threads = options.threads ?? 1;
  const cudaDevice = options.cudaDevice ?? 0;
  const chain = providerChain(options.provider ?? 'cpu');
  const reasons: string[] = [];
  for (const [k, provider] of chain.entries()) {
    try {
      const session = await ort.InferenceSession.create(bytes, sessionOptions(provider, threads, cudaDevice));
      return {
        session,
        provider,
        ...(reasons.length === 0 ? {} : { fallbackReason: reasons.join('; ') }),
      };
    } catch (err) {
      if (provider === 'cpu') throw invalid(`onnxruntime cannot load ${file}: ${errorMessage(err)}`, err);
      const next = chain[k + 1]!;
      reasons.push(`${provider}: ${errorMessage(err)}`);
      options.log?.warn(
        { model, provider, cudaDevice, fallback: next, reason: errorMessage(err) },
        `${provider === 'tensorrt' ? 'TensorRT' : 'CUDA'} execution provider unavailable; falling back to ${next === 'cpu' ? 'CPU' : 'CUDA'}`,
      );
    }
  }
  throw new Error('unreachable: the provider chain ends with the CPU');
}

export async function loadModel(options: LoadModelOptions): Promise<LoadedModel> {
  const started = performance.now();
  const { dir, version } = await resolveModelDir(options.modelsDir, options.name, options.version);
  const card = await readModelCard(dir);
  if (card.name !== options.name || card.version !== version) {
    throw invalid(
      `model card in ${dir} names ${card.name}/${card.version}; the folder is ${options.name}/${version}`,
    );
  }
  const file = path.join(dir, card.file);
  let bytes: Buffer;
  try {
    bytes = await readFile(file);
  } catch (err) {
    throw invalid(
      `model file ${file} cannot be read (${errorMessage(err)}); build it with \`npm run models:build\``,
      err,
    );
  }
  checkSha256(card, sha256(bytes), file);

  const threads = options.threads ?? 1;
  const { session, provider, fallbackReason } = await createSession(
    bytes,
    file,
    `${card.name}/${card.version}`,
    options,
  );
  try {
    checkSessionAgainstCard(card, session, file);
  } catch (err) {
    await session.release();
    throw err;
  }
  const loaded = performance.now();
  let warmUpMs = 0;
  if (options.warmUp ?? true) {
    const input = new ort.Tensor('float32', new Float32Array(card.input.shape.reduce((a, b) => a * b, 1)), [
      ...card.input.shape,
    ]);
    await session.run({ [card.input.name]: input });
    warmUpMs = performance.now() - loaded;
  }
  options.log?.info(
    {
      model: `${card.name}/${card.version}`,
      provider,
      threads,
      loadMs: Math.round(loaded - started),
      warmUpMs: Math.round(warmUpMs),
    },
    'model loaded',
  );
  return {
    card,
    session,
    dir,
    file,
    provider,
    ...(fallbackReason === undefined ? {} : { fallbackReason }),
    loadMs: loaded - started,
    warmUpMs,
  };
}

// ---------------------------------------------------------------------------------------------------
// Text detection and recognition models (PP-OCR): the same registry layout and checks (card, sha256,
// session signature, provider fallback, one warm-up run), with the OCR card schema; a recognition
// model's character set is read from its committed file and checked against the card's sha256.
// ---------------------------------------------------------------------------------------------------

export interface LoadedOcrModel<C extends OcrModelCard = OcrModelCard> {
  card: C;
  session: ort.InferenceSession;
  dir: string;
  file: string;
  /** Recognition cards (text and plate): the characters of classes 1..n (the space last when appended). */
  charset: string[] | undefined;
  provider: ExecutionProvider;
  fallbackReason?: string;
  loadMs: number;
  warmUpMs: number;
}

export async function readOcrModelCard(dir: string): Promise<OcrModelCard> {
  const file = path.join(dir, 'card.json');
  let json: unknown;
  try {
    json = JSON.parse(await readFile(file, 'utf8'));
  } catch (err) {
    throw invalid(`model card ${file} cannot be read: ${errorMessage(err)}`, err);
  }
  return parseOcrModelCard(json, file);
}

/** A recognition card's character set: one character per line, checked against the card. */
export async function readCharset(
  dir: string,
  card: TextRecognitionCard | PlateRecognitionCard,
): Promise<string[]> {
  const file = path.join(dir, card.charset.file);
  let bytes: Buffer;
  try {
    bytes = await readFile(file);
  } catch (err) {
    throw invalid(`character set ${file} cannot be read: ${errorMessage(err)}`, err);
  }
  checkFileSha256(card.charset.sha256, sha256(bytes), file);
  const chars = bytes
    .toString('utf8')
    .replace(/\r?\n$/, '')
    .split(/\r?\n/);
  if (chars.length !== card.charset.size) {
    throw invalid(`character set ${file} has ${chars.length} lines, card says ${card.charset.size}`);
  }
  if (card.task === 'plate-recognition' && !chars.includes(card.output.rowBreak)) {
    throw invalid(`character set ${file} lacks the row break '${card.output.rowBreak}' its card names`);
  }
  return card.charset.spaceAppended ? [...chars, ' '] : chars;
}

export async function loadOcrModel(options: LoadModelOptions): Promise<LoadedOcrModel> {
  const started = performance.now();
  const { dir, version } = await resolveModelDir(options.modelsDir, options.name, options.version);
  const card = await readOcrModelCard(dir);
  if (card.name !== options.name || card.version !== version) {
    throw invalid(
      `model card in ${dir} names ${card.name}/${card.version}; the folder is ${options.name}/${version}`,
    );
  }
  const charset = card.task === 'text-detection' ? undefined : await readCharset(dir, card);
  const file = path.join(dir, card.file);
  let bytes: Buffer;
  try {
    bytes = await readFile(file);
  } catch (err) {
    throw invalid(
      `model file ${file} cannot be read (${errorMessage(err)}); build it with \`npm run models:build\``,
      err,
    );
  }
  checkFileSha256(card.sha256, sha256(bytes), file);

  const threads = options.threads ?? 1;
  const { session, provider, fallbackReason } = await createSession(
    bytes,
    file,
    `${card.name}/${card.version}`,
    options,
  );
  try {
    checkSessionAgainstOcrCard(card, session, file);
  } catch (err) {
    await session.release();
    throw err;
  }
  const loaded = performance.now();
  let warmUpMs = 0;
  if (options.warmUp ?? true) {
    const shape = card.input.warmUpShape;
    const input = new ort.Tensor('float32', new Float32Array(shape.reduce((a, b) => a * b, 1)), [...shape]);
    const out = await session.run({ [card.input.name]: input });
    for (const t of Object.values(out)) t.dispose();
    warmUpMs = performance.now() - loaded;
  }
  options.log?.info(
    {
      model: `${card.name}/${card.version}`,
      provider,
      threads,
      loadMs: Math.round(loaded - started),
      warmUpMs: Math.round(warmUpMs),
    },
    'model loaded',
  );
  return {
    card,
    session,
    dir,
    file,
    charset,
    provider,
    ...(fallbackReason === undefined ? {} : { fallbackReason }),
    loadMs: loaded - started,
    warmUpMs,
  };
}
