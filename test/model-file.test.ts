// The trained model as an artifact: model.alpt scores exactly what training scored, refuses damaged
// files naming the damage, holds the packed table as trained, and reads raw rows in every form.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { train, loadRunData } from '../src/train/run.js';
import { DEFAULTS, type TrainConfig } from '../src/train/config.js';
import { createBackend } from '../src/kernels/index.js';
import { loadModel } from '../src/predict/loaded-model.js';
import { auc } from '../src/train/metrics.js';
import { readModelFile } from '../src/artifact/model-file.js';
import { readSafetensors, writeSafetensors } from '../src/util/safetensors.js';
import { writeSynthetic } from '../src/data/index.js';
import { RowError } from '../src/predict/raw-encoder.js';
import { predictFile } from '../src/predict/predict-file.js';

const bench = fileURLToPath(new URL('../../../shared/data/bench', import.meta.url));
const bin = fileURLToPath(new URL('../../bin/alpt.js', import.meta.url));
const tmp = mkdtempSync(join(tmpdir(), 'alpt-model-'));
const cacheDir = join(tmp, 'cache');
const quiet: Partial<TrainConfig> = { progress: 'none', cacheDir };
const alpt = (...args: string[]) => spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', env: { ...process.env, ALPT_CACHE_DIR: cacheDir } });
const lines = (path: string): string[] => readFileSync(path, 'utf8').split('\n').filter((l) => l.length > 0);

const METHODS: [string, number][] = [['fp32', 32], ['lpt-sr', 8], ['lpt-sr', 4], ['lpt-sr', 2], ['alpt', 8], ['alpt', 4], ['alpt', 2]];

for (const [name, format, testFile] of [['frappe', 'libfm', 'test.libfm'], ['criteo10k', 'criteo', 'test.txt']] as const) {
  test(`${name}: loadModel + predict on the raw test file gives exactly the run's test AUC (fp32, lpt-sr and alpt at 8/4/2 bits)`, async () => {
    const data = await loadRunData({ ...DEFAULTS, ...quiet, data: join(bench, name), format });
    const backend = await createBackend({});
    const raw = lines(join(bench, name, testFile));
    try {
      for (const [embedding, bits] of METHODS) {
        const out = join(tmp, `${name}-${embedding}-${bits}`);
        const s = await train({ ...quiet, data: join(bench, name), format, model: 'dcn', embedding: embedding as TrainConfig['embedding'], bits: bits === 32 ? 8 : bits, mlp: [64, 32], epochs: 1, out }, { data, backend });
        const m = await loadModel(join(out, 'model.alpt'), { backend });
        const { ids, labels } = m.encode(raw);
        const got = auc(labels, m.logits(ids), labels.length);
        assert.equal(got, s.test_auc, `${embedding}-${bits}: predict AUC ${got}, training ${s.test_auc}`);
        assert.equal(m.info.bits, bits);
        m.dispose();
      }
    } finally {
      backend.dispose();
    }
  });
}

let frappeRun: string | null = null;
/** A Frappe ALPT-4 DCN run folder (model.alpt, checkpoint.alpt, summary.json). */
async function frappeModel(): Promise<string> {
  if (!frappeRun) {
    frappeRun = join(tmp, 'frappe-cli');
    const r = alpt('train', '--data', join(bench, 'frappe'), '--model', 'dcn', '--embedding', 'alpt', '--bits', '4', '--mlp', '32', '--epochs', '1', '--progress', 'none', '--out', frappeRun);
    assert.equal(r.status, 0, r.stderr);
  }
  return frappeRun;
}

test('alpt predict prints the run\'s test AUC and writes one score per input row, in order', async () => {
  const run = await frappeModel();
  const summary = JSON.parse(readFileSync(join(run, 'summary.json'), 'utf8'));
  const out = join(tmp, 'scores.csv');
  const r = alpt('predict', '--model', join(run, 'model.alpt'), '--input', join(bench, 'frappe', 'test.libfm'), '--out', out, '--id-column', 'line');
  assert.equal(r.status, 0, r.stderr);
  const s = JSON.parse(r.stdout.trim().split('\n').pop()!);
  assert.equal(s.auc, summary.test_auc);
  assert.equal(s.logloss, summary.test_logloss);
  const csv = readFileSync(out, 'utf8').trim().split('\n');
  assert.equal(csv[0], 'line,score');
  const n = lines(join(bench, 'frappe', 'test.libfm')).length;
  assert.equal(s.rows, n);
  assert.equal(csv.length, n + 1);
  const m = await loadModel(join(run, 'model.alpt'));
  const all = m.predict(lines(join(bench, 'frappe', 'test.libfm')));
  for (let i = 0; i < n; i++) {
    const [line, score] = csv[i + 1].split(',');
    assert.equal(Number(line), i + 1);
    assert.equal(Math.fround(Number(score)), all[i]);
  }
  // Read in small chunks, the file is still scored in the evaluation's blocks: the same scores.
  const small = join(tmp, 'scores-small-chunks.csv');
  const s2 = await predictFile(m, join(bench, 'frappe', 'test.libfm'), { out: small, chunkBytes: 4096 });
  m.dispose();
  assert.equal(s2.auc, summary.test_auc);
  assert.equal(readFileSync(small, 'utf8').split('\n').slice(1).join('\n'), csv.slice(1).map((l) => l.split(',')[1]).join('\n') + '\n');
});

test('a flipped byte anywhere, a truncation, another kind or version: refused with the reason and place', async () => {
  const run = await frappeModel();
  const good = join(run, 'model.alpt');
  const bytes = readFileSync(good);
  const file = readSafetensors(good);
  const flipAt = (pos: number): string => {
    const b = Buffer.from(bytes);
    b[pos] ^= 0x01;
    const p = join(tmp, `flip-${pos}.alpt`);
    writeFileSync(p, b);
    return p;
  };
  const codes = file.tensors['table.main.codes'];
  const steps = file.tensors['table.main.steps'];
  const param = Object.entries(file.tensors).find(([k]) => k.startsWith('param.'))!;
  const cases: [string, RegExp][] = [
    [flipAt(codes.start + 10), /tensor table\.main\.codes \(bytes \d+–\d+\) is damaged/],
    [flipAt(steps.end - 1), /tensor table\.main\.steps .* is damaged/],
    [flipAt(param[1].start), new RegExp(`tensor ${param[0].replace(/\./g, '\\.')} .* is damaged`)],
    [flipAt(40), /header .* (is damaged|is not valid JSON)/],
    [flipAt(bytes.length - 1), /is damaged/],
  ];
  const trunc = join(tmp, 'trunc.alpt');
  writeFileSync(trunc, bytes.subarray(0, bytes.length - 100));
  cases.push([trunc, /truncated/]);
  const tiny = join(tmp, 'tiny.alpt');
  writeFileSync(tiny, bytes.subarray(0, 5));
  cases.push([tiny, /truncated/]);
  cases.push([join(run, 'checkpoint.alpt'), /is a checkpoint file, not a model .*alpt export --checkpoint/]);
  const old = join(tmp, 'old.alpt');
  writeFileSync(old, Buffer.concat([Buffer.from('ALPTTNSR'), Buffer.alloc(64)]));
  cases.push([old, /older alpt \(file version 1\)/]);
  for (const [path, re] of cases) {
    await assert.rejects(loadModel(path), re, path);
    const r = alpt('predict', '--model', path, '--input', join(bench, 'frappe', 'test.libfm'), '--out', join(tmp, 'never.csv'));
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, re);
    assert.ok(!existsSync(join(tmp, 'never.csv')));
  }
  // A well-formed file from another layout version, and a safetensors file from another tool.
  const arrays: Record<string, ArrayBufferView> = {};
  for (const [k, t] of Object.entries(file.tensors)) arrays[k] = t.data;
  const newer = join(tmp, 'newer.alpt');
  writeSafetensors(newer, arrays, { ...file.metadata, 'alpt.version': '3' });
  await assert.rejects(loadModel(newer), /file version 3, this alpt reads version 2/);
  const foreign = join(tmp, 'foreign.safetensors');
  writeSafetensors(foreign, arrays, { format: 'pt' });
  await assert.rejects(loadModel(foreign), /not one written by alpt/);
});

test('the file holds the packed table as trained: codes + steps, no optimizer state, no fp32 copy', async () => {
  const run = await frappeModel();
  const f = readModelFile(join(run, 'model.alpt'));
  const t = f.meta.table;
  assert.equal(t.bits, 4);
  assert.equal(t.rowBytes, 8);
  const st = readSafetensors(join(run, 'model.alpt'));
  const names = Object.keys(st.tensors);
  assert.deepEqual(names.filter((n) => n.startsWith('table.')).sort(), ['table.main.codes', 'table.main.steps']);
  assert.ok(!names.some((n) => n.includes('opt') || n.startsWith('dense.') || n.startsWith('best.')), names.join());
  assert.equal(st.tensors['table.main.codes'].end - st.tensors['table.main.codes'].start, t.rows * 8);
  assert.equal(st.tensors['table.main.steps'].end - st.tensors['table.main.steps'].start, t.rows * 4);
  assert.deepEqual(st.tensors['table.main.codes'].shape, [t.rows, 8]);
  // the trained bytes: the checkpoint's best codes are the model's codes
  const ck = readSafetensors(join(run, 'checkpoint.alpt'));
  assert.deepEqual(Buffer.from((ck.tensors['best.table.main.codes'].data as Uint8Array)), Buffer.from(f.arrays['table.main.codes'] as Uint8Array));
});

test('alpt export --run and --checkpoint make a model that scores the same; inspect shows the parts', async () => {
  const run = await frappeModel();
  const out = join(tmp, 'exported.alpt');
  const r = alpt('export', '--run', run, '--out', out);
  assert.equal(r.status, 0, r.stderr);
  const r2 = alpt('export', '--checkpoint', join(run, 'checkpoint.alpt'), '--out', join(tmp, 'exported2.alpt'));
  assert.equal(r2.status, 0, r2.stderr);
  const raw = lines(join(bench, 'frappe', 'test.libfm')).slice(0, 500);
  const scores = async (p: string) => {
    const m = await loadModel(p);
    const s = m.predict(raw);
    m.dispose();
    return s;
  };
  const a = await scores(join(run, 'model.alpt'));
  assert.deepEqual(await scores(out), a);
  assert.deepEqual(await scores(join(tmp, 'exported2.alpt')), a);
  const i = alpt('inspect', out, '--json');
  assert.equal(i.status, 0, i.stderr);
  const info = JSON.parse(i.stdout);
  assert.equal(info.kind, 'model');
  assert.equal(info.parts['table codes'], info.rows * 8);
  assert.equal(info.table_bytes_per_row, 12);
  assert.equal(typeof info.summary.test_auc, 'number');
  const text = alpt('inspect', out);
  assert.match(text.stdout, /checksums verified/);
  assert.match(text.stdout, /table codes/);
});

test('safetensors export: tensors + a JSON description; the codes de-quantize to what alpt gathers', async () => {
  const run = await frappeModel();
  const out = join(tmp, 'plain.safetensors');
  const r = alpt('export', '--model', join(run, 'model.alpt'), '--format', 'safetensors', '--out', out);
  assert.equal(r.status, 0, r.stderr);
  const doc = JSON.parse(readFileSync(join(tmp, 'plain.json'), 'utf8'));
  assert.equal(doc.table.bits, 4);
  const st = readSafetensors(out, out, false);
  const codes = st.tensors['table.main.codes'].data as Uint8Array;
  const steps = st.tensors['table.main.steps'].data as Float32Array;
  // The README's NumPy recipe, in TypeScript: little-endian bit stream, offset 2^(bits-1).
  const { dim, bits, rowBytes } = doc.table;
  const m = await loadModel(join(run, 'model.alpt'), { kind: 'js' });
  const row = 17;
  const expect = new Float32Array(dim);
  (m as unknown as { inputs: { tables: { main: { gather(r: Int32Array, c: number, o: Float32Array): void } } } }).inputs.tables.main.gather(Int32Array.of(row), 1, expect);
  m.dispose();
  for (let i = 0; i < dim; i++) {
    let u = 0;
    for (let b = 0; b < bits; b++) {
      const k = i * bits + b;
      u |= ((codes[row * rowBytes + (k >> 3)] >> (k & 7)) & 1) << b;
    }
    assert.equal(Math.fround(steps[row] * (u - 2 ** (bits - 1))), expect[i]);
  }
});

test('predict takes records, arrays and lines alike; unseen values score as OOV; bad rows name row and field', async () => {
  const dir = join(tmp, 'synth');
  await writeSynthetic({ dir, rows: 3000, validRows: 500, testRows: 500, seed: 5, cardinality: 50 });
  const out = join(tmp, 'synth-run');
  await train({ ...quiet, data: dir, format: 'criteo', model: 'deepfm', embedding: 'alpt', bits: 2, mlp: [16], epochs: 1, out });
  const m = await loadModel(join(out, 'model.alpt'));
  try {
    assert.deepEqual(m.info.input!.required.slice(0, 2), ['I1', 'I2']);
    assert.equal(m.info.fields.length, 39);
    const raw = lines(join(dir, 'test.txt')).slice(0, 50);
    const fromLines = m.predict(raw);
    const cols = m.info.input!.line;
    const records = raw.map((l) => Object.fromEntries(l.split('\t').map((v, j) => [cols[j], v]).slice(1)));
    const arrays = raw.map((l) => l.split('\t').slice(1));
    assert.deepEqual(m.predict(records), fromLines);
    assert.deepEqual(m.predict(arrays), fromLines);
    assert.deepEqual(m.predict(raw.map((l) => l.split('\t'))), fromLines, 'arrays with the label column');
    // numbers are read as their decimal text (Criteo's I columns are integers)
    const numeric = records.map((r) => ({ ...r, I1: r.I1 === '' ? '' : Number(r.I1) }));
    assert.deepEqual(m.predict(numeric), fromLines);
    // unseen values: the field's OOV id, no error
    const unseen = m.predict([{ ...records[0], C3: 'never-seen-before' }]);
    const { ids } = m.encode([{ ...records[0], C3: 'never-seen-before' }]);
    const c3 = m.info.fields.findIndex((f) => f.name === 'C3');
    assert.equal(ids[c3], m.info.fields[c3].offset + m.info.fields[c3].size - 1);
    assert.ok(unseen[0] > 0 && unseen[0] < 1);
    const bad = (rows: unknown[], re: RegExp) => assert.throws(() => m.predict(rows as never), (e: Error) => e instanceof RowError && re.test(e.message));
    const { C7: _drop, ...missing } = records[1];
    bad([records[0], missing], /^row 1: field C7: missing/);
    bad([{ ...records[0], C2: { a: 1 } }], /^row 0: field C2: expected a string or a number, got object/);
    bad([{ ...records[0], I3: Number.NaN }], /^row 0: field I3: NaN is not a finite number/);
    bad([{ ...records[0], I4: 'x' }], /^row 0: .*field I4: "x" is not a number/);
    bad([{ ...records[0], C1: 'a\tb' }], /^row 0: field C1: .*separator/);
    bad([{ ...records[0], bogus: 1 }], /^row 0: field bogus: unknown field/);
    bad([[1, 2, 3]], /^row 0: expected 39 values/);
    bad([42], /^row 0: expected an object, an array or a string/);
    assert.throws(() => m.predictIds(Int32Array.from({ length: 39 }, () => 0)), /field I2: id 0 is outside the field's range/);
  } finally {
    m.dispose();
  }
});

test('avazu: records in header names score like the raw lines (hour split into hour, weekday, weekend)', async () => {
  const out = join(tmp, 'avazu-run');
  await train({ ...quiet, data: join(bench, 'avazu14k'), format: 'avazu', model: 'fm', embedding: 'lpt-sr', bits: 4, epochs: 1, out });
  const m = await loadModel(join(out, 'model.alpt'));
  try {
    const raw = lines(join(bench, 'avazu14k', 'test.csv'));
    const header = raw[0].split(',');
    const body = raw.slice(1, 200);
    assert.ok(!m.info.input!.required.includes('id') && !m.info.input!.required.includes('click'));
    assert.ok(m.info.input!.required.includes('hour'));
    assert.ok(m.info.fields.some((f) => f.name === 'weekday'));
    const records = body.map((l) => Object.fromEntries(l.split(',').map((v, j) => [header[j], v]).filter(([k]) => k !== 'id' && k !== 'click')));
    assert.deepEqual(m.predict(records), m.predict(body));
    const r = alpt('predict', '--model', join(out, 'model.alpt'), '--input', join(bench, 'avazu14k', 'test.csv'), '--out', '-', '--id-column', 'id', '--progress', 'none');
    assert.equal(r.status, 0, r.stderr);
    const csv = r.stdout.trim().split('\n');
    assert.equal(csv[0], 'id,score');
    assert.equal(csv[1].split(',')[0], body[0].split(',')[0]);
    assert.equal(Math.fround(Number(csv[1].split(',')[1])), m.predict([body[0]])[0]);
    const s = JSON.parse(r.stderr.trim().split('\n').pop()!);
    assert.equal(s.rows, raw.length - 1);
  } finally {
    m.dispose();
  }
});

test('alpt predict: a malformed input line stops with file:line (or, with --skip-bad, gets an empty score)', async () => {
  const run = await frappeModel();
  const input = join(tmp, 'bad.libfm');
  const raw = lines(join(bench, 'frappe', 'test.libfm')).slice(0, 10);
  raw[3] = '1 a b c';
  writeFileSync(input, raw.join('\n') + '\n');
  const out = join(tmp, 'bad-scores.csv');
  const r = alpt('predict', '--model', join(run, 'model.alpt'), '--input', input, '--out', out);
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /bad\.libfm:4: field f1: bad token/);
  assert.ok(!existsSync(out), 'no partial output file');
  const ok = alpt('predict', '--model', join(run, 'model.alpt'), '--input', input, '--out', out, '--skip-bad');
  assert.equal(ok.status, 0, ok.stderr);
  const csv = readFileSync(out, 'utf8').split('\n');
  assert.equal(csv[4], '');
  assert.equal(csv.length, 12);
  assert.equal(JSON.parse(ok.stdout.trim()).bad_rows, 1);
});

test('alpt export --format onnx: onnxruntime scores the Frappe test split within 1e-5 of predictIds', async () => {
  const run = await frappeModel();
  const out = join(tmp, 'frappe.onnx');
  const r = alpt('export', '--model', join(run, 'model.alpt'), '--format', 'onnx', '--out', out);
  assert.equal(r.status, 0, r.stderr);
  const ort = await import('onnxruntime-node');
  const m = await loadModel(join(run, 'model.alpt'));
  try {
    const { ids } = m.encode(lines(join(bench, 'frappe', 'test.libfm')));
    const want = m.predictIds(ids);
    const session = await ort.InferenceSession.create(readFileSync(out));
    const F = m.info.fields.length;
    const got = await session.run({ ids: new ort.Tensor('int64', BigInt64Array.from(ids, (v) => BigInt(v)), [want.length, F]) });
    const p = got.probability.data as Float32Array;
    let worst = 0;
    for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(p[i] - want[i]));
    assert.ok(worst <= 1e-5, `max |onnx − alpt| = ${worst}`);
    await session.release();
  } finally {
    m.dispose();
  }
});

test('a row\'s score does not depend on the rows scored with it (wasm and js backends)', async () => {
  const run = await frappeModel();
  const raw = lines(join(bench, 'frappe', 'test.libfm')).slice(0, 600);
  for (const kind of ['wasm', 'js'] as const) {
    for (const threads of [1, 2]) {
      const m = await loadModel(join(run, 'model.alpt'), { kind, threads });
      try {
        const { ids } = m.encode(raw);
        const F = m.numFields;
        const all = m.logits(ids);
        for (let start = 0; start < 300; start += 37) {
          for (const n of [1, 2, 3, 7, 15, 16, 17, 31, 40]) {
            const part = m.logits(ids.subarray(start * F, (start + n) * F));
            for (let i = 0; i < n; i++) assert.equal(part[i], all[start + i], `${kind}×${threads}: row ${start + i} scored in a batch of ${n}`);
          }
        }
      } finally {
        m.dispose();
      }
    }
  }
});
