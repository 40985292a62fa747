#!/usr/bin/env node
// `npm run bench:predict`: alpt's inference next to onnxruntime-node running the exported ONNX graph
// of the same model on the same ids, in one process, alternating round by round (the machines
// are shared and noisy: only ratios measured side by side mean something). Reports the medians.
//   alpt predictIds  ids [batch × 39] Int32Array → probabilities (loadModel(path, { threads }))
//   alpt predict     raw Criteo lines → probabilities (parsing and vocabulary lookups included)
//   ort              the exported graph, ids as an int64 tensor (intraOpNumThreads = threads)
// The model: DCN, mlp 400,400,400, trained 1 epoch on criteo10k (or --model-file PATH).
// Usage: node scripts/bench-predict.mjs [--rounds 7] [--batches 4] [--batch 4096]
//   [--threads 1,N] [--embedding alpt] [--bits 4] [--model dcn] [--mlp 400,400,400]
//   [--model-file PATH] [--profile]
// --profile adds a breakdown of alpt's predictIds (lookup vs dense layers) per thread count.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import * as ort from 'onnxruntime-node';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dist = (p) => import(join(root, 'dist', 'src', p));
const { train } = await dist('train/run.js');
const { readModelFile } = await dist('artifact/model-file.js');
const { loadModel } = await dist('predict/loaded-model.js');
const { exportOnnx } = await dist('export/onnx.js');

const args = process.argv.slice(2);
const opt = (n, d) => (args.includes(n) ? args[args.indexOf(n) + 1] : d);
const rounds = Number(opt('--rounds', 7));
const batches = Number(opt('--batches', 4));
const batch = Number(opt('--batch', 4096));
const allCores = availableParallelism();
const threadsList = opt('--threads', allCores > 1 ? `1,${allCores}` : '1').split(',').map(Number);
const data = join(root, '..', 'shared', 'data', 'bench', 'criteo10k');
const tmp = mkdtempSync(join(tmpdir(), 'alpt-bench-predict-'));

let modelPath = opt('--model-file', null);
if (!modelPath) {
  const out = join(tmp, 'run');
  await train({
    data, format: 'criteo', model: opt('--model', 'dcn'), embedding: opt('--embedding', 'alpt'), bits: Number(opt('--bits', 4)),
    mlp: opt('--mlp', '400,400,400').split(',').map(Number), epochs: 1, out, progress: 'none', cacheDir: join(tmp, 'cache'),
  });
  modelPath = join(out, 'model.alpt');
}
const file = readModelFile(modelPath);
const onnxBytes = exportOnnx(file);

// The same rows for everyone: criteo10k's lines, repeated to batches × batch rows.
const lines = ['train.txt', 'valid.txt', 'test.txt'].flatMap((f) => readFileSync(join(data, f), 'utf8').split('\n').filter((l) => l.length > 0));
const n = batches * batch;
const rawRows = Array.from({ length: n }, (_, i) => lines[i % lines.length]);
const probe = await loadModel(modelPath, { threads: 1 });
const F = probe.numFields;
const ids = probe.encode(rawRows).ids;
probe.dispose();
const ids64 = BigInt64Array.from(ids, (v) => BigInt(v));
const t = file.meta.table;
const cfg = file.meta.config;
console.error(`model ${cfg.model} mlp ${cfg.mlp.join(',')} cross ${cfg.crossLayers} ${cfg.embedding} ${t.bits === 32 ? 'fp32' : `${t.bits}-bit`} table ${t.rows} rows × ${t.dim}; ${F} fields; onnx ${onnxBytes.length} bytes; ${n} rows in ${batches} batches of ${batch}`);

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const fmt = (x) => (x >= 1e6 ? `${(x / 1e6).toFixed(2)} M` : `${(x / 1e3).toFixed(1)} k`);

async function timeRows(fn) {
  const t0 = performance.now();
  for (let b = 0; b < batches; b++) await fn(b * batch, batch);
  return n / ((performance.now() - t0) / 1000);
}

const results = [];
for (const threads of threadsList) {
  const model = await loadModel(modelPath, { threads });
  const session = await ort.InferenceSession.create(onnxBytes, { intraOpNumThreads: threads, interOpNumThreads: 1, graphOptimizationLevel: 'all', executionMode: 'sequential' });
  const runners = {
    'alpt predictIds': (o, m) => model.predictIds(ids.subarray(o * F, (o + m) * F)),
    'alpt predict (raw lines)': (o, m) => model.predict(rawRows.slice(o, o + m)),
    ort: (o, m) => session.run({ ids: new ort.Tensor('int64', ids64.subarray(o * F, (o + m) * F), [m, F]) }),
  };
  // Same scores (warm-up as well).
  const pa = model.predictIds(ids.subarray(0, batch * F));
  const po = (await runners.ort(0, batch)).probability.data;
  let diff = 0;
  for (let i = 0; i < batch; i++) diff = Math.max(diff, Math.abs(pa[i] - po[i]));
  model.predict(rawRows.slice(0, batch));
  const times = Object.fromEntries(Object.keys(runners).map((k) => [k, []]));
  const names = Object.keys(runners);
  for (let r = 0; r < rounds; r++) {
    // Alternate who goes first, round by round.
    const order = r % 2 === 0 ? names : [...names].reverse();
    for (const k of order) times[k].push(await timeRows(runners[k]));
  }
  const med = Object.fromEntries(names.map((k) => [k, median(times[k])]));
  const row = { threads, backend: model.backend.name, maxAbsDiff: diff, rowsPerS: med, ratioIdsVsOrt: med['alpt predictIds'] / med.ort, ratioRawVsOrt: med['alpt predict (raw lines)'] / med.ort };
  if (args.includes('--profile')) row.profile = profile(model, threads);
  console.log(JSON.stringify(row));
  results.push(row);
  await session.release();
  model.dispose();
}

/** Where alpt's predictIds time goes: the table gather, and each term's layers, timed separately. */
function profile(model, threads) {
  const inputs = model.inputs; // EmbeddingInputs (private in TS, reachable here)
  const net = inputs.model;
  const rowsIdx = ids.subarray(0, batch * F);
  const rep = 5;
  const tm = (fn) => {
    fn();
    const xs = [];
    for (let i = 0; i < rep; i++) {
      const t0 = performance.now();
      fn();
      xs.push(performance.now() - t0);
    }
    return median(xs);
  };
  const out = { batch, threads };
  out['predictIds ms'] = tm(() => model.predictIds(rowsIdx));
  out['lookup (dedupe+gather+expand) ms'] = tm(() => inputs.lookup(rowsIdx, batch));
  const x0 = inputs.lookup(rowsIdx, batch).x0;
  out['forward ms'] = tm(() => net.forward({ x0 }, batch, false));
  // Each leaf layer timed on its real input (Sequential: in turn; Parallel: every branch on x).
  const walk = (layer, x, name) => {
    if (layer.layers) {
      let h = x;
      layer.layers.forEach((l, i) => (h = walk(l, h, `${name}.${i}`)));
      return h;
    }
    if (layer.branches) {
      layer.branches.forEach((b, k) => walk(b, x, `${name}.${k}`));
      const y = layer.forward(x, batch, false);
      return y;
    }
    let y;
    const ms = tm(() => (y = layer.forward(x, batch, false)));
    const key = `${name} ${layer.constructor.name}${layer.inDim !== undefined ? ` ${layer.inDim}→${layer.outDim}` : ''} ms`;
    out[key] = ms;
    if (layer.constructor.name === 'Linear') out[`${name} GEMM GFLOP/s`] = (2 * batch * layer.inDim * layer.outDim) / (ms * 1e6);
    return y;
  };
  for (const term of net.terms ?? []) walk(term.layer, x0, term.name);
  return out;
}

console.log('\n| threads | alpt predictIds rows/s | alpt predict (raw lines) rows/s | onnxruntime rows/s | predictIds / ort | predict / ort |');
console.log('|---:|---:|---:|---:|---:|---:|');
for (const r of results) {
  const m = r.rowsPerS;
  console.log(`| ${r.threads} | ${fmt(m['alpt predictIds'])} | ${fmt(m['alpt predict (raw lines)'])} | ${fmt(m.ort)} | ${r.ratioIdsVsOrt.toFixed(2)}× | ${r.ratioRawVsOrt.toFixed(2)}× |`);
}
rmSync(tmp, { recursive: true, force: true });
