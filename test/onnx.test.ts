// ONNX export: onnxruntime scores the exported graph like alpt's own predictIds on Frappe's test
// split, for every model in the zoo and every table kind (fp32; 8, 4, 2 bits; odd widths; f16
// steps; LSQ), and a packed table stays packed in the file.
import { before, after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as ort from 'onnxruntime-node';
import onnxProto from 'onnx-proto';
import { train, loadRunData } from '../src/train/run.js';
import { DEFAULTS, type TrainConfig } from '../src/train/config.js';
import { createBackend, type Backend } from '../src/kernels/index.js';
import { readModelFile } from '../src/artifact/model-file.js';
import { loadModel } from '../src/predict/loaded-model.js';
import { exportOnnx } from '../src/export/onnx.js';
import { codeLayout } from '../src/export/onnx-table.js';
import { rowBytes, packRow, unpackRow } from '../src/quant/pack.js';
import type { LoadedData } from '../src/data/types.js';

const bench = fileURLToPath(new URL('../../../shared/data/bench', import.meta.url));
const tmp = mkdtempSync(join(tmpdir(), 'alpt-onnx-'));
const quiet: Partial<TrainConfig> = { progress: 'none', cacheDir: join(tmp, 'cache') };
const ROWS = 3000;
const MODELS = ['lr', 'fm', 'dnn', 'wide-deep', 'deepfm', 'dcn', 'dcn-v2', 'ipnn'];

let data: LoadedData;
let backend: Backend;

before(async () => {
  const base = { ...DEFAULTS, ...quiet, data: join(bench, 'frappe'), format: 'libfm' as const };
  data = await loadRunData(base);
  backend = await createBackend({ threads: 1 });
});

after(() => {
  backend?.dispose();
  rmSync(tmp, { recursive: true, force: true });
});

let runs = 0;
/** Train a tiny model for a few steps, write its model file; returns the file's path. */
async function tinyModel(cfg: Partial<TrainConfig>): Promise<string> {
  const out = join(tmp, `run-${runs++}`);
  await train(
    { ...quiet, data: join(bench, 'frappe'), format: 'libfm', dim: 10, mlp: [16], crossLayers: 2, batch: 512, lr: 1e-2, epochs: 1, maxSteps: 25, seed: 5, out, ...cfg },
    { data, backend },
  );
  return join(out, 'model.alpt');
}

/** Max |p_alpt − p_ort| (and of the logits) over the first ROWS test rows. */
async function compare(path: string): Promise<{ prob: number; logit: number; bytes: Uint8Array }> {
  const bytes = exportOnnx(readModelFile(path));
  const model = await loadModel(path, { backend });
  const t = data.test!;
  const F = t.numFields;
  const n = Math.min(ROWS, t.n);
  const ids = t.ids.subarray(0, n * F);
  const p = model.predictIds(ids);
  const z = model.logits(ids);
  const session = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 1, interOpNumThreads: 1 });
  const r = await session.run({ ids: new ort.Tensor('int64', BigInt64Array.from(ids, (v) => BigInt(v)), [n, F]) });
  await session.release();
  const q = r.probability.data as Float32Array;
  const y = r.logit.data as Float32Array;
  assert.equal(q.length, n);
  let prob = 0;
  let logit = 0;
  for (let i = 0; i < n; i++) {
    prob = Math.max(prob, Math.abs(p[i] - q[i]));
    logit = Math.max(logit, Math.abs(z[i] - y[i]) / Math.max(1, Math.abs(z[i])));
  }
  model.dispose();
  return { prob, logit, bytes };
}

test('code layout: the byte picks and shifts reproduce unpackRow for every width', () => {
  for (let bits = 1; bits <= 8; bits++) {
    for (const dim of [1, 7, 10, 16]) {
      const rb = rowBytes(dim, bits);
      const q = Array.from({ length: dim }, (_, i) => ((i * 7 + 3) % (1 << bits)) - (1 << (bits - 1)));
      const row = new Uint8Array(rb);
      packRow(q, 0, dim, bits, row, 0);
      const want = new Int32Array(dim);
      unpackRow(row, 0, dim, bits, want, 0);
      const L = codeLayout(dim, bits, rb);
      for (let i = 0; i < dim; i++) {
        assert.ok(L.shiftLo[i] < 8 && L.shiftHi[i] < 8 || bits === 8, `bits ${bits}: shifts stay below 8`);
        assert.ok(L.hi[i] < rb && L.lo[i] < rb);
        const u = ((row[L.lo[i]] >>> L.shiftLo[i]) | ((row[L.hi[i]] << L.shiftHi[i]) & 255)) & ((1 << bits) - 1);
        assert.equal(u - (1 << (bits - 1)), want[i], `bits ${bits} dim ${dim} code ${i}`);
      }
    }
  }
});

for (const model of MODELS) {
  test(`${model}: onnxruntime matches predictIds (fp32, 8, 4, 2 bits)`, async () => {
    const cases: [string, Partial<TrainConfig>][] = [
      ['fp32', { embedding: 'fp32' }],
      ['8 bits', { embedding: 'alpt', bits: 8 }],
      ['4 bits', { embedding: 'alpt', bits: 4 }],
      ['2 bits', { embedding: 'alpt', bits: 2 }],
    ];
    // LR has no embedding table: one table kind says all.
    for (const [label, cfg] of model === 'lr' ? cases.slice(0, 1) : cases) {
      const r = await compare(await tinyModel({ model, ...cfg }));
      assert.ok(r.prob <= 1e-5, `${model} ${label}: max |Δp| ${r.prob}`);
      assert.ok(r.logit <= 1e-4, `${model} ${label}: max relative |Δlogit| ${r.logit}`);
    }
  });
}

test('odd widths (1, 3, 5, 7 bits), f16 steps and LSQ tables match too', async () => {
  const cases: [string, Partial<TrainConfig>][] = [
    ['dcn 3 bits', { model: 'dcn', embedding: 'alpt', bits: 3 }],
    ['deepfm 5 bits', { model: 'deepfm', embedding: 'lpt-sr', bits: 5 }],
    ['ipnn 7 bits', { model: 'ipnn', embedding: 'alpt', bits: 7 }],
    ['dnn 1 bit', { model: 'dnn', embedding: 'lpt-dr', bits: 1 }],
    ['dcn-v2 4 bits f16 steps', { model: 'dcn-v2', embedding: 'alpt', bits: 4, stepDtype: 'f16' }],
    ['dcn 6 bits f16 steps', { model: 'dcn', embedding: 'alpt', bits: 6, stepDtype: 'f16' }],
    ['fm lsq 4 bits', { model: 'fm', embedding: 'lsq', bits: 4 }],
    ['dnn without BatchNorm', { model: 'dnn', embedding: 'alpt', bits: 4, batchNorm: false, mlp: [16, 8] }],
  ];
  for (const [label, cfg] of cases) {
    const r = await compare(await tinyModel(cfg));
    assert.ok(r.prob <= 1e-5, `${label}: max |Δp| ${r.prob}`);
    assert.ok(r.logit <= 1e-4, `${label}: max relative |Δlogit| ${r.logit}`);
  }
});

test('a 4-bit table stays packed: the file is about codes + steps + dense weights', async () => {
  const path = await tinyModel({ model: 'dcn', embedding: 'alpt', bits: 4, dim: 16 });
  const file = readModelFile(path);
  const bytes = exportOnnx(file);
  const t = file.meta.table;
  const table = t.rows * t.rowBytes + t.rows * 4;
  let dense = 0;
  for (const [k, v] of Object.entries(file.arrays)) if (k.startsWith('param.') || k.startsWith('buffer.')) dense += v.byteLength;
  assert.equal(t.rowBytes, 8);
  assert.ok(bytes.length >= table, `${bytes.length} bytes hold the ${table} bytes of codes + steps`);
  assert.ok(bytes.length <= table + dense + 16384, `${bytes.length} bytes: codes + steps ${table}, dense ${dense}`);
  assert.ok(bytes.length < t.rows * t.dim * 4, `${bytes.length} bytes < the fp32 table's ${t.rows * t.dim * 4}`);
  // The codes are a uint8 initializer [rows × rowBytes], the steps fp32 [rows].
  const { onnx } = onnxProto;
  const m = onnx.ModelProto.decode(bytes);
  const codes = m.graph!.initializer!.find((i) => i.name === 'table.main.codes')!;
  assert.equal(codes.dataType, onnx.TensorProto.DataType.UINT8);
  assert.deepEqual(codes.dims!.map(Number), [t.rows, t.rowBytes]);
  assert.equal(Number(m.opsetImport![0].version), 18);
  for (const i of m.graph!.initializer!) assert.ok(i.rawData!.length <= table, `${i.name}: no initializer larger than the packed table`);
});
