// Seeded Criteo-like data: Zipf-distributed categorical values with per-field cardinality, small
// integer counts with empty cells, and labels from a hidden logistic teacher (per-value weights +
// low-rank pairwise interactions), so a model has something learnable. Deterministic per seed.
import { open } from 'node:fs/promises';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { CounterRng, Stream, hash4 } from '../util/rng.js';

export interface SynthOptions {
  dir: string;
  rows: number;
  validRows?: number;
  testRows?: number;
  seed: number;
  numericFields?: number;
  categoricalFields?: number;
  cardinality?: number;
}

const RANK = 4;
const PAIRS = 8;

interface Teacher {
  cdf: Float64Array[];
  weights: Float32Array[];
  factors: Float32Array[]; // per field card*RANK
  names: string[][];
  numMean: number[];
  numEmpty: number[];
  numWeight: number[];
  pairs: [number, number][];
  bias: number;
}

function makeTeacher(seed: number, nNum: number, nCat: number, cardinality: number): Teacher {
  const rng = new CounterRng(seed, Stream.synth, 0);
  const cdf: Float64Array[] = [], weights: Float32Array[] = [], factors: Float32Array[] = [], names: string[][] = [];
  const lo = Math.min(10, cardinality);
  for (let j = 0; j < nCat; j++) {
    const card = Math.max(1, Math.round(lo * Math.pow(cardinality / lo, rng.next())));
    const s = 0.9 + 0.4 * rng.next(); // Zipf exponent
    const c = new Float64Array(card);
    let acc = 0;
    for (let v = 0; v < card; v++) c[v] = acc += Math.pow(v + 1, -s);
    for (let v = 0; v < card; v++) c[v] /= acc;
    cdf.push(c);
    const sigma = 0.15 + 0.6 * rng.next() ** 2; // some fields matter, most a little
    const wr = new CounterRng(seed, Stream.synth, 1000 + j);
    const w = new Float32Array(card), f = new Float32Array(card * RANK);
    for (let v = 0; v < card; v++) w[v] = sigma * wr.normal();
    for (let i = 0; i < f.length; i++) f[i] = 0.5 * wr.normal();
    weights.push(w);
    factors.push(f);
    names.push(Array.from({ length: card }, (_, v) => hash4(seed, 0x5eed, j, v).toString(16).padStart(8, '0')));
  }
  const numMean: number[] = [], numEmpty: number[] = [], numWeight: number[] = [];
  for (let i = 0; i < nNum; i++) {
    numMean.push(3 * rng.next());
    numEmpty.push(0.3 * rng.next());
    numWeight.push(0.3 * rng.normal());
  }
  const pairs: [number, number][] = [];
  for (let p = 0; p < PAIRS && nCat > 1; p++) {
    const a = rng.int(nCat);
    const b = (a + 1 + rng.int(nCat - 1)) % nCat;
    pairs.push([a, b]);
  }
  return { cdf, weights, factors, names, numMean, numEmpty, numWeight, pairs, bias: 0 };
}

function zipf(c: Float64Array, u: number): number {
  let lo = 0, hi = c.length - 1;
  while (lo < hi) {
    const m = (lo + hi) >> 1;
    if (c[m] < u) lo = m + 1;
    else hi = m;
  }
  return lo;
}

/** Draws one row into num/cat (value indices; -1 = empty numeric) and returns the teacher logit. */
function drawRow(t: Teacher, rng: CounterRng, num: number[], cat: Int32Array): number {
  let z = t.bias;
  for (let i = 0; i < num.length; i++) {
    if (rng.next() < t.numEmpty[i]) {
      num[i] = -1;
      continue;
    }
    const x = Math.max(0, Math.floor(Math.expm1(Math.max(0, t.numMean[i] + rng.normal()))));
    num[i] = x;
    z += t.numWeight[i] * (Math.log1p(x) - t.numMean[i]);
  }
  for (let j = 0; j < cat.length; j++) {
    const v = zipf(t.cdf[j], rng.next());
    cat[j] = v;
    z += t.weights[j][v];
  }
  for (const [a, b] of t.pairs) {
    const fa = t.factors[a], fb = t.factors[b], va = cat[a] * RANK, vb = cat[b] * RANK;
    for (let r = 0; r < RANK; r++) z += fa[va + r] * fb[vb + r];
  }
  return z;
}

const sigmoid = (z: number): number => 1 / (1 + Math.exp(-z));

/** Bias giving a ~25% positive rate, found by bisection on a fixed sample of logits. */
function calibrate(t: Teacher, seed: number, nNum: number, nCat: number): number {
  const rng = new CounterRng(seed, Stream.synth, 999);
  const num = new Array<number>(nNum).fill(0), cat = new Int32Array(nCat);
  const z = Array.from({ length: 4000 }, () => drawRow(t, rng, num, cat));
  let lo = -20, hi = 20;
  for (let it = 0; it < 60; it++) {
    const b = (lo + hi) / 2;
    const rate = z.reduce((a, x) => a + sigmoid(x + b), 0) / z.length;
    if (rate > 0.25) hi = b;
    else lo = b;
  }
  return (lo + hi) / 2;
}

export async function writeSynthetic(opts: SynthOptions): Promise<{ train: string; valid: string; test: string }> {
  const nNum = opts.numericFields ?? 13, nCat = opts.categoricalFields ?? 26;
  const t = makeTeacher(opts.seed, nNum, nCat, opts.cardinality ?? 10000);
  t.bias = calibrate(t, opts.seed, nNum, nCat);
  await mkdir(opts.dir, { recursive: true });
  const out = { train: join(opts.dir, 'train.txt'), valid: join(opts.dir, 'valid.txt'), test: join(opts.dir, 'test.txt') };
  const sizes = [opts.rows, opts.validRows ?? Math.ceil(opts.rows / 8), opts.testRows ?? Math.ceil(opts.rows / 8)];
  const files = [out.train, out.valid, out.test];
  for (let s = 0; s < 3; s++) await writeSplit(files[s], sizes[s], t, new CounterRng(opts.seed, Stream.synth, 1 + s), nNum, nCat);
  return out;
}

async function writeSplit(path: string, rows: number, t: Teacher, rng: CounterRng, nNum: number, nCat: number): Promise<void> {
  const fh = await open(path, 'w');
  try {
    const num = new Array<number>(nNum).fill(0), cat = new Int32Array(nCat);
    const cells = new Array<string>(1 + nNum + nCat);
    let lines: string[] = [];
    for (let r = 0; r < rows; r++) {
      const z = drawRow(t, rng, num, cat);
      cells[0] = rng.next() < sigmoid(z) ? '1' : '0';
      for (let i = 0; i < nNum; i++) cells[1 + i] = num[i] < 0 ? '' : String(num[i]);
      for (let j = 0; j < nCat; j++) cells[1 + nNum + j] = t.names[j][cat[j]];
      lines.push(cells.join('\t'));
      if (lines.length === 8192) {
        await fh.write(lines.join('\n') + '\n');
        lines = [];
      }
    }
    if (lines.length) await fh.write(lines.join('\n') + '\n');
  } finally {
    await fh.close();
  }
}

/** Bayes-optimal score per row of a synthetic split (for checking how learnable the data is). */
export function teacherLogits(opts: Omit<SynthOptions, 'dir'>, split: 0 | 1 | 2): { logits: Float64Array; labels: Uint8Array } {
  const nNum = opts.numericFields ?? 13, nCat = opts.categoricalFields ?? 26;
  const t = makeTeacher(opts.seed, nNum, nCat, opts.cardinality ?? 10000);
  t.bias = calibrate(t, opts.seed, nNum, nCat);
  const n = [opts.rows, opts.validRows ?? Math.ceil(opts.rows / 8), opts.testRows ?? Math.ceil(opts.rows / 8)][split];
  const rng = new CounterRng(opts.seed, Stream.synth, 1 + split);
  const num = new Array<number>(nNum).fill(0), cat = new Int32Array(nCat);
  const logits = new Float64Array(n), labels = new Uint8Array(n);
  for (let r = 0; r < n; r++) {
    logits[r] = drawRow(t, rng, num, cat);
    labels[r] = rng.next() < sigmoid(logits[r]) ? 1 : 0;
  }
  return { logits, labels };
}
