// The declared config schema: every bad value is refused naming the key, the value and what is
// allowed; YAML strings are never reinterpreted; defaults and help come from the one schema.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULTS, validateConfig, type TrainConfig } from '../src/train/config.js';
import { CONFIG_KEYS, MAX_THREADS, TRAIN_CONFIG_SCHEMA, helpFor } from '../src/train/config-schema.js';
import { readConfigFile, readSchema } from '../src/cli/train-options.js';
import { closest } from '../src/util/closest.js';

const tmp = mkdtempSync(join(tmpdir(), 'alpt-config-'));
const yaml = (name: string, text: string): string => {
  const p = join(tmp, name);
  writeFileSync(p, text);
  return p;
};
const bad = (over: Record<string, unknown>) => () => validateConfig({ ...DEFAULTS, ...over } as TrainConfig);

test('DEFAULTS are the schema defaults and pass validation; every key has help text', () => {
  assert.deepEqual(DEFAULTS, TRAIN_CONFIG_SCHEMA.parse({}));
  assert.equal(DEFAULTS.lr, 1e-3);
  assert.deepEqual(DEFAULTS.mlp, [400, 400, 400]);
  assert.deepEqual(validateConfig({ ...DEFAULTS }), DEFAULTS);
  for (const k of CONFIG_KEYS) assert.ok(helpFor(k).length > 3, `help for ${k}`);
  assert.match(helpFor('lr'), /\(default 0\.001\)/);
});

test('out-of-range values are refused naming key, flag, value and bound', () => {
  const cases: [Record<string, unknown>, RegExp][] = [
    [{ sparseLr: -1 }, /sparseLr \(--sparse-lr\): got -1; expected number to be >0/],
    [{ weightDecay: -1 }, /weightDecay \(--weight-decay\): got -1; expected number to be >=0/],
    [{ initStd: -1 }, /initStd \(--init-std\): got -1; expected number to be >0/],
    [{ initStd: 0 }, /initStd \(--init-std\): got 0;/],
    [{ crossLayers: -1 }, /crossLayers \(--cross-layers\): got -1; expected number to be >=0/],
    [{ lrDecay: -3 }, /lrDecay \(--lr-decay\): got -3; expected number to be >0/],
    [{ lrDecay: 2 }, /lrDecay \(--lr-decay\): got 2; expected number to be <=1/],
    [{ evalEvery: -5 }, /evalEvery \(--eval-every\): got -5/],
    [{ checkpointEvery: -1 }, /checkpointEvery \(--checkpoint-every\): got -1/],
    [{ maxSteps: 0 }, /maxSteps \(--max-steps\): got 0; expected number to be >=1/],
    [{ threads: 1000 }, new RegExp(`threads \\(--threads\\): got 1000; expected number to be <=${MAX_THREADS}`)],
    [{ lr: Infinity }, /lr \(--lr\): got Infinity/],
    [{ lr: NaN }, /lr \(--lr\): got NaN/],
    [{ validFraction: 1 }, /validFraction \(--valid-fraction\): got 1; expected number to be <1/],
    [{ bits: 9 }, /bits \(--bits\): got 9/],
    [{ batch: 1.5 }, /batch \(--batch\): got 1\.5/],
    [{ model: 'dcnn' }, /model \(--model\): got "dcnn"; unknown model; expected one of lr, fm, dnn/],
  ];
  for (const [over, re] of cases) assert.throws(bad(over), re, JSON.stringify(over));
});

test('a registered model alias is accepted; unknown keys suggest the closest', () => {
  assert.equal(validateConfig({ ...DEFAULTS, model: 'pnn' }).model, 'pnn');
  assert.throws(bad({ learningRate: 0.1 }), /unknown key "learningRate"/);
  assert.throws(bad({ epoch: 3 }), /unknown key "epoch" \(did you mean "epochs"\?\)/);
  assert.equal(closest('patiense', CONFIG_KEYS), 'patience');
  assert.equal(closest('zzzzzzzz', CONFIG_KEYS), null);
});

test('YAML: quoted booleans and numbers are refused, never read as true or as numbers', () => {
  const p = yaml('strings.yaml', 'skip-bad: "no"\nbatch-norm: "false"\nmodel: 5\nformat: foo\nthreads: "1"\n');
  assert.throws(() => readConfigFile(p), (e: Error) => {
    assert.match(e.message, /strings\.yaml: skip-bad: got "no"; expected boolean.*without quotes/);
    assert.match(e.message, /batch-norm: got "false"; expected boolean/);
    assert.match(e.message, /model: got 5; expected string/);
    assert.match(e.message, /format: got "foo"; expected one of "libfm"\|"criteo"\|"avazu"\|"csv"/);
    assert.match(e.message, /threads: got "1"; expected number.*without quotes/);
    return true;
  });
});

test('YAML: unquoted yes/no/off are booleans (YAML 1.1), so "no" turns skipping off', () => {
  const c = readConfigFile(yaml('bools.yaml', 'skip-bad: no\nbatch-norm: off\nlsq-per-row: yes\nmlp: 16,8\nlr-decay-epochs: 6\n'));
  assert.equal(c.skipBad, false);
  assert.equal(c.batchNorm, false);
  assert.equal(c.lsqPerRow, true);
  assert.deepEqual(c.mlp, [16, 8]);
  assert.deepEqual(c.lrDecayEpochs, [6]);
});

test('YAML: an unknown key names the file and suggests the closest key', () => {
  assert.throws(() => readConfigFile(yaml('typo.yaml', 'epoch: 3\n')), /typo\.yaml: unknown option "epoch" \(did you mean "epochs"\?\)/);
  assert.throws(() => readConfigFile(yaml('typo2.yaml', 'sparse_lr: 3\nweight-decy: 1\n')), /unknown option "weight-decy" \(did you mean "weight-decay"\?\)/);
  // snake_case spellings of real keys are fine
  assert.equal(readConfigFile(yaml('snake.yaml', 'sparse_lr: 0.5\n')).sparseLr, 0.5);
});

test('CSV schema: a misspelt key and an unknown bucket rule are refused by name', () => {
  const p = yaml('schema.yaml', 'label: click\ncategoricals: [a, b]\nnumeric:\n  - {column: c, rule: log3}\n');
  assert.throws(() => readSchema(p), (e: Error) => {
    assert.match(e.message, /unknown key "categoricals" \(did you mean "categorical"\?\)/);
    assert.match(e.message, /numeric\.0\.rule: got "log3"; expected one of "log2"\|"criteo"\|"identity"/);
    return true;
  });
  assert.throws(() => readSchema(yaml('b.yaml', 'label: 0\ncategorical: [1]\nnumeric: [{column: 2, buckets: [5, 1]}]\n')), /strictly increasing/);
  assert.throws(() => readSchema(yaml('c.yaml', 'label: 0\ncategorical: [1]\nnumeric: [{column: 2, bucket: [1]}]\n')), /unknown key "numeric\.0\.bucket" \(did you mean "buckets"\?\)/);
  const ok = readSchema(yaml('ok.yaml', 'label: 0\ncategorical: [1, x]\nheader: no\ndelimiter: "\\t"\n'));
  assert.deepEqual(ok, { label: 0, categorical: [1, 'x'], header: false, delimiter: '\t' });
  // The config schema checks an inline schema the same way.
  assert.throws(bad({ schema: { label: 0, categorical: [], numeric: [{ column: 1, rule: 'log' }] } }), /schema\.numeric\.0\.rule.*got "log"/);
});
