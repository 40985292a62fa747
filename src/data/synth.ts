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
  /**
   * The first `largeFields` categorical fields (C1…) draw from `largeCardinality` values (default
   * 50,000,000) with no per-value tables: names, teacher weights and factors are hashes of the
   * value index, and values are drawn in O(1) (see LargeField). Default 0: output as before.
   */
  largeFields?: number;
  largeCardinality?: number;
  /** zipf: Zipf(s ~ 1.05) over all values; uniform; mixed (default): half Zipf, half uniform. */
  largeTail?: 'zipf' | 'uniform' | 'mixed';
  /** Called after each split with the distinct values seen per large field (for the report). */
  onSplit?: (s: SplitStats) => void;
}

export interface SplitStats {
  path: string;
  rows: number;
  /** Per large field (C1…): distinct values in this split. */
  distinct: number[];
}

const RANK = 4;
const PAIRS = 8;

/**
 * A categorical field of up to 2^32 values with O(1) memory: value v's name is a bijective 32-bit
 * mix of v (so names are distinct), its teacher weight and factors are hashes of v.
 */
class LargeField {
  private readonly zs: number;
  private readonly zTop: number;
  constructor(readonly card: number, readonly j: number, readonly seed: number, readonly sigma: number, readonly tail: 'zipf' | 'uniform' | 'mixed') {
    this.zs = 1.05;
    this.key = hash4(seed, 0x1a76e, j, 0);
    this.zTop = Math.pow(card + 1, 1 - this.zs) - 1;
  }
  /** Value index from one uniform u in [0, 1). */
  draw(u: number): number {
    const t = this.tail;
    if (t === 'uniform' || (t === 'mixed' && u >= 0.5)) {
      const x = t === 'uniform' ? u : 2 * u - 1;
      return Math.min(this.card - 1, Math.floor(x * this.card));
    }
    const x = t === 'zipf' ? u : 2 * u;
    // Continuous Zipf inverse on [1, card + 1): P(X ≤ x) ∝ x^(1-s) - 1.
    const v = Math.floor(Math.pow(1 + x * this.zTop, 1 / (1 - this.zs))) - 1;
    return Math.min(this.card - 1, Math.max(0, v));
  }
  private readonly key: number;
  /** The name's 32 bits (printed as 8 hex digits): bijective in v, keyed by (seed, field). */
  nameHash(v: number): number {
    let h = (v ^ this.key) >>> 0;
    h = Math.imul(h ^ (h >>> 16), 0x7feb352d);
    h = Math.imul(h ^ (h >>> 15), 0x846ca68b);
    return (h ^ (h >>> 16)) >>> 0;
  }
  /** Approximately N(0, 1) from a hash of (v, k): a sum of four uniform bytes, standardised. */
  private normal(v: number, k: number): number {
    const h = hash4(this.seed, 0x9a55 + k, this.j, v);
    return (((h & 255) + ((h >>> 8) & 255) + ((h >>> 16) & 255) + (h >>> 24)) / 255 - 2) * 1.7320508;
  }
  weight(v: number): number {
    return this.sigma * this.normal(v, 0);
  }
  factor(v: number, r: number): number {
    return 0.5 * this.normal(v, 1 + r);
  }
}

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
  /** Per categorical field: its LargeField, or null for a tabled one. */
  large: (LargeField | null)[];
}

function makeTeacher(seed: number, nNum: number, nCat: number, cardinality: number, big: { fields: number; card: number; tail: 'zipf' | 'uniform' | 'mixed' } = { fields: 0, card: 0, tail: 'mixed' }): Teacher {
  const rng = new CounterRng(seed, Stream.synth, 0);
  const cdf: Float64Array[] = [], weights: Float32Array[] = [], factors: Float32Array[] = [], names: string[][] = [];
  const large: (LargeField | null)[] = [];
  const lo = Math.min(10, cardinality);
  for (let j = 0; j < nCat; j++) {
    const card0 = Math.max(1, Math.round(lo * Math.pow(cardinality / lo, rng.next())));
    const s = 0.9 + 0.4 * rng.next(); // Zipf exponent
    if (j < big.fields) {
      // Same draws as a tabled field (so the other fields are unchanged), then no tables.
      const sigma = 0.15 + 0.6 * rng.next() ** 2;
      large.push(new LargeField(big.card, j, seed, sigma, big.tail));
      cdf.push(new Float64Array(0));
      weights.push(new Float32Array(0));
      factors.push(new Float32Array(0));
      names.push([]);
      continue;
    }
    large.push(null);
    const card = card0;
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
  return { cdf, weights, factors, names, numMean, numEmpty, numWeight, pairs, bias: 0, large };
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
    const L = t.large[j];
    if (L) {
      const v = L.draw(rng.next());
      cat[j] = v;
      z += L.weight(v);
      continue;
    }
    const v = zipf(t.cdf[j], rng.next());
    cat[j] = v;
    z += t.weights[j][v];
  }
  for (const [a, b] of t.pairs) {
    const La = t.large[a], Lb = t.large[b];
    if (La || Lb) {
      for (let r = 0; r < RANK; r++) {
        const x = La ? La.factor(cat[a], r) : t.factors[a][cat[a] * RANK + r];
        const y = Lb ? Lb.factor(cat[b], r) : t.factors[b][cat[b] * RANK + r];
        z += x * y;
      }
      continue;
    }
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

function largeOf(opts: Omit<SynthOptions, 'dir'>, nCat: number): { fields: number; card: number; tail: 'zipf' | 'uniform' | 'mixed' } {
  const fields = opts.largeFields ?? 0;
  const card = opts.largeCardinality ?? 50_000_000;
  if (!Number.isInteger(fields) || fields < 0 || fields > nCat) throw new Error(`--large-fields must be an integer in [0, ${nCat}], got ${fields}`);
  if (!Number.isInteger(card) || card < 1 || card > 2 ** 32) throw new Error(`--large-cardinality must be an integer in [1, 2^32], got ${card}`);
  const tail = opts.largeTail ?? 'mixed';
  if (!['zipf', 'uniform', 'mixed'].includes(tail)) throw new Error(`--large-tail must be zipf, uniform or mixed, got ${tail}`);
  return { fields, card, tail };
}

export async function writeSynthetic(opts: SynthOptions): Promise<{ train: string; valid: string; test: string }> {
  const nNum = opts.numericFields ?? 13, nCat = opts.categoricalFields ?? 26;
  const t = makeTeacher(opts.seed, nNum, nCat, opts.cardinality ?? 10000, largeOf(opts, nCat));
  t.bias = calibrate(t, opts.seed, nNum, nCat);
  await mkdir(opts.dir, { recursive: true });
  const out = { train: join(opts.dir, 'train.txt'), valid: join(opts.dir, 'valid.txt'), test: join(opts.dir, 'test.txt') };
  const sizes = [opts.rows, opts.validRows ?? Math.ceil(opts.rows / 8), opts.testRows ?? Math.ceil(opts.rows / 8)];
  const files = [out.train, out.valid, out.test];
  for (let s = 0; s < 3; s++) {
    const distinct = await writeSplit(files[s], sizes[s], t, new CounterRng(opts.seed, Stream.synth, 1 + s), nNum, nCat);
    opts.onSplit?.({ path: files[s], rows: sizes[s], distinct });
  }
  return out;
}

/** Writes a split; returns the distinct values per large field (counted in a bitset of its values). */
async function writeSplit(path: string, rows: number, t: Teacher, rng: CounterRng, nNum: number, nCat: number): Promise<number[]> {
  const fh = await open(path, 'w');
  const seen = t.large.filter((L) => L).map((L) => new Uint32Array(Math.ceil(L!.card / 32)));
  // Tabled fields' names as bytes, 8 hex digits each (hash4 values print as 8 digits).
  const nameBytes = t.names.map((ns) => Buffer.from(ns.join(''), 'latin1'));
  const CHUNK = 1 << 22;
  let buf = Buffer.allocUnsafe(CHUNK + 4096);
  let k = 0;
  const HEX = Buffer.from('0123456789abcdef', 'latin1');
  try {
    const num = new Array<number>(nNum).fill(0), cat = new Int32Array(nCat);
    for (let r = 0; r < rows; r++) {
      const z = drawRow(t, rng, num, cat);
      buf[k++] = rng.next() < sigmoid(z) ? 49 : 48;
      for (let i = 0; i < nNum; i++) {
        buf[k++] = 9;
        const x = num[i];
        if (x < 0) continue;
        if (x < 10) buf[k++] = 48 + x;
        else k += buf.write(String(x), k, 'latin1');
      }
      for (let j = 0; j < nCat; j++) {
        buf[k++] = 9;
        const L = t.large[j];
        const v = cat[j];
        if (L) {
          seen[j][v >>> 5] |= 1 << (v & 31);
          const h = L.nameHash(v);
          for (let d = 7; d >= 0; d--) buf[k++] = HEX[(h >>> (d << 2)) & 15];
        } else {
          const nb = nameBytes[j];
          const a = v * 8;
          for (let d = 0; d < 8; d++) buf[k++] = nb[a + d];
        }
      }
      buf[k++] = 10;
      if (k >= CHUNK) {
        await fh.write(buf, 0, k);
        buf = Buffer.allocUnsafe(CHUNK + 4096);
        k = 0;
      }
    }
    if (k) await fh.write(buf, 0, k);
  } finally {
    await fh.close();
  }
  return seen.map((b) => {
    let n = 0;
    for (let i = 0; i < b.length; i++) {
      let x = b[i];
      x -= (x >>> 1) & 0x55555555;
      x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
      n += (Math.imul((x + (x >>> 4)) & 0x0f0f0f0f, 0x01010101) >>> 24);
    }
    return n;
  });
}

/** Bayes-optimal score per row of a synthetic split (for checking how learnable the data is). */
export function teacherLogits(opts: Omit<SynthOptions, 'dir'>, split: 0 | 1 | 2): { logits: Float64Array; labels: Uint8Array } {
  const nNum = opts.numericFields ?? 13, nCat = opts.categoricalFields ?? 26;
  const t = makeTeacher(opts.seed, nNum, nCat, opts.cardinality ?? 10000, largeOf(opts, nCat));
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
