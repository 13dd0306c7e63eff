/**
 * `npm run bench:plate-ocr -- [--dataset DIR] [--crops N] [--rounds N] [--out file.json] [--no-peer]`
 *
 * Time per plate crop on one onnxruntime thread, in this thread (no worker round trip), interleaved
 * crop by crop so machine load hits every reader alike:
 *
 *   vn-plate-ocr       the project's whole-plate model: pre-processing + session.run + CTC decoding +
 *                      grammar (what the default reader costs when it needs no second opinion)
 *   vn-plate-ocr run   session.run alone (and copying its output), batch 1
 *   vn-plate-ocr+ppocr PlateEngine with vn-plate-ocr first, PP-OCRv4 when it is unsure
 *   ppocr              PlateEngine with PP-OCRv4 alone (the default reader)
 *   cct_xs (peer)      SHARED_DIR/models/cct_xs_v1_global.onnx with the same grammar, when present
 *
 * Crops: the first N of DIR/labels.tsv (default SHARED_DIR/data/plates-vn), else plates rendered
 * here. Progress on stderr, a table on stdout, everything in --out.
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { isAppError } from '../core/errors.js';
import { DEFAULT_MODELS_DIR } from '../detector/detector.js';
import { loadOcrModel } from '../detector/model-registry.js';
import type { RgbImage } from '../detector/plates/image.js';
import { PlateEngine } from '../detector/plates/plate-engine.js';
import { chooseReading } from '../detector/plates/plate-grammar.js';
import { PlateRecogniser, preprocessPlate } from '../detector/plates/plate-recogniser.js';
import { CCT_XS_FILE, CctXsReader } from '../scripts/eval/plates/peers.js';

interface Options {
  dataset: string;
  crops: number;
  rounds: number;
  out: string | undefined;
  peer: boolean;
}

function parse(argv: readonly string[]): Options {
  const shared = path.resolve(process.env['SHARED_DIR'] ?? '../shared');
  const o: Options = {
    dataset: path.join(shared, 'data/plates-vn'),
    crops: 200,
    rounds: 3,
    out: undefined,
    peer: true,
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const v = () => {
      const x = argv[++i];
      if (x === undefined) throw new Error(`${a} needs a value`);
      return x;
    };
    if (a === '--dataset') o.dataset = path.resolve(v());
    else if (a === '--crops') o.crops = Math.max(1, Number(v()) | 0);
    else if (a === '--rounds') o.rounds = Math.max(1, Number(v()) | 0);
    else if (a === '--out') o.out = v();
    else if (a === '--no-peer') o.peer = false;
    else throw new Error(`unknown option ${a}`);
  }
  return o;
}

async function decode(file: string): Promise<RgbImage> {
  const { data, info } = await sharp(file)
    .toColourspace('srgb')
    .removeAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true });
  return {
    data: new Uint8Array(data.buffer, data.byteOffset, data.length),
    width: info.width,
    height: info.height,
  };
}

async function loadCrops(o: Options): Promise<{ crops: RgbImage[]; source: string }> {
  const labels = path.join(o.dataset, 'labels.tsv');
  if (existsSync(labels)) {
    const rows = (await readFile(labels, 'utf8'))
      .trim()
      .split('\n')
      .slice(1, o.crops + 1);
    const crops: RgbImage[] = [];
    for (const r of rows) crops.push(await decode(path.join(o.dataset, 'images', r.split('\t')[0]!)));
    return { crops, source: `${o.dataset} (first ${crops.length} of labels.tsv)` };
  }
  console.error(`${labels} is absent: timing plates rendered here instead`);
  const { renderPlate } = await import('../tests/unit/plates/render-plate.js');
  const drawings = [
    { rows: ['30A-123.45'] },
    { rows: ['29-B1', '123.45'] },
    { rows: ['51G', '678.90'], width: 330, height: 165 },
  ];
  const crops: RgbImage[] = [];
  for (let i = 0; i < o.crops; i++) crops.push(await renderPlate(drawings[i % drawings.length]!));
  return { crops, source: 'rendered plates (sharp + SVG)' };
}

function stats(ms: number[]) {
  const s = [...ms].sort((a, b) => a - b);
  const at = (q: number) => s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
  const r = (v: number) => Math.round(v * 100) / 100;
  return { n: s.length, mean: r(s.reduce((a, b) => a + b, 0) / s.length), p50: r(at(0.5)), p95: r(at(0.95)) };
}

async function main(argv: string[]): Promise<void> {
  process.env['LOG_LEVEL'] ??= 'warn';
  const o = parse(argv);
  const { crops, source } = await loadCrops(o);
  const modelsDir = DEFAULT_MODELS_DIR;
  const own = new PlateRecogniser(await loadOcrModel({ modelsDir, name: 'vn-plate-ocr', threads: 1 }));
  const shipped = await PlateEngine.create({ modelsDir, threads: 1, plateModel: 'vn-plate-ocr' });
  const ppocr = await PlateEngine.create({ modelsDir, threads: 1, plateModel: null });
  const peerFile = path.join(path.resolve(process.env['SHARED_DIR'] ?? '../shared'), 'models', CCT_XS_FILE);
  const cct = o.peer && existsSync(peerFile) ? await CctXsReader.create(peerFile) : undefined;
  const readers: [string, (c: RgbImage) => Promise<unknown>][] = [
    [
      'vn-plate-ocr',
      async (c) => {
        const [r] = await own.read([c]);
        return chooseReading([{ chars: r!.chars, rows: r!.rows }], { region: 'vn' });
      },
    ],
    [
      'vn-plate-ocr run',
      async (c) => {
        const x = preprocessPlate(c, own.card.input);
        const t0 = performance.now();
        await own.infer(x, 1);
        return performance.now() - t0;
      },
    ],
    ['vn-plate-ocr+ppocr', (c) => shipped.readPlate(c, { region: 'vn' })],
    ['ppocr', (c) => ppocr.readPlate(c, { region: 'vn' })],
    ...(cct
      ? [['cct_xs (peer)', (c: RgbImage) => cct.read(c, 'vn')] as [string, (c: RgbImage) => Promise<unknown>]]
      : []),
  ];
  const times = new Map<string, number[]>(readers.map(([n]) => [n, []]));
  // Warm-up: a few crops through every reader.
  for (const c of crops.slice(0, 5)) for (const [, read] of readers) await read(c);
  const total = o.rounds * crops.length;
  let done = 0;
  for (let round = 0; round < o.rounds; round++) {
    for (const c of crops) {
      for (const [name, read] of readers) {
        const t0 = performance.now();
        const r = await read(c);
        const ms = name === 'vn-plate-ocr run' ? (r as number) : performance.now() - t0;
        times.get(name)!.push(ms);
      }
      if (++done % 50 === 0 || done === total) process.stderr.write(`\r[bench] ${done}/${total} crops`);
    }
  }
  process.stderr.write('\n');
  const cpus = os.cpus();
  const report = {
    source,
    crops: crops.length,
    rounds: o.rounds,
    threads: 1,
    results: Object.fromEntries([...times].map(([k, v]) => [k, stats(v)])),
    machine: {
      cpus: cpus.length,
      cpuModel: cpus[0]?.model.trim() ?? 'unknown',
      loadAverage: os.loadavg().map((l) => Math.round(l * 100) / 100),
      node: process.version,
    },
    command: `npm run bench:plate-ocr -- ${argv.join(' ')}`.trim(),
    measuredAt: new Date().toISOString(),
  };
  const rows = [['reader', 'ms mean', 'p50', 'p95']];
  for (const [k, s] of Object.entries(report.results))
    rows.push([k, String(s.mean), String(s.p50), String(s.p95)]);
  const w = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  console.log(
    rows.map((r) => r.map((c, i) => (i ? c.padStart(w[i]!) : c.padEnd(w[i]!))).join('  ')).join('\n'),
  );
  console.log(
    `\n${report.crops} crops × ${report.rounds} rounds from ${source}; 1 onnxruntime thread; ` +
      `${report.machine.cpuModel} (${report.machine.cpus} CPUs, load ${report.machine.loadAverage.join(' ')}), Node ${report.machine.node}`,
  );
  if (o.out) {
    await mkdir(path.dirname(path.resolve(o.out)), { recursive: true });
    await writeFile(o.out, `${JSON.stringify(report, null, 2)}\n`);
    console.error(`wrote ${o.out}`);
  }
  await own.close();
  await shipped.close();
  await ppocr.close();
  await cct?.close();
}

main(process.argv.slice(2)).catch((err: unknown) => {
  console.error(isAppError(err) ? err.message : err);
  process.exitCode = 1;
});
