// The command line as a user meets it: clear errors for bad input, the memory report, synth data.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const bin = fileURLToPath(new URL('../../bin/alpt.js', import.meta.url));
const tmp = mkdtempSync(join(tmpdir(), 'alpt-cli-'));
const env = { ...process.env, ALPT_CACHE_DIR: join(tmp, 'cache') };
const alpt = (...args: string[]) => spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', env });

test('an unknown option is refused and named', () => {
  const r = alpt('train', '--bogus');
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /unknown option '--bogus'/);
});

test('a bad value names the flag', () => {
  const r = alpt('train', '--bits', 'eight');
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /--bits must be an integer/);
});

test('an unknown key in the YAML config is refused and named', () => {
  const cfg = join(tmp, 'bad.yaml');
  writeFileSync(cfg, 'model: dcn\nlearning_rate: 0.1\n');
  const r = alpt('train', '--config', cfg, '--data', tmp);
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /bad\.yaml: unknown option "learning_rate"/);
});

test('a malformed data line stops the run naming file, line and field; --skip-bad counts it', () => {
  const dir = join(tmp, 'bad-data');
  const s = alpt('synth', '--out', dir, '--rows', '300', '--seed', '2');
  assert.equal(s.status, 0, s.stderr);
  const train = join(dir, 'train.txt');
  const lines = readFileSync(train, 'utf8').split('\n');
  const cols = lines[4].split('\t');
  cols[5] = 'abc';
  lines[4] = cols.join('\t');
  writeFileSync(train, lines.join('\n'));
  const r = alpt('train', '--data', dir, '--model', 'lr', '--epochs', '1', '--progress', 'none');
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /train\.txt:5: field I5: "abc" is not a number/);
  const ok = alpt('train', '--data', dir, '--model', 'lr', '--epochs', '1', '--progress', 'none', '--skip-bad');
  assert.equal(ok.status, 0, ok.stderr);
  const summary = JSON.parse(ok.stdout.trim().split('\n').pop()!);
  assert.equal(summary.skipped_rows, 1);
  assert.equal(summary.train_rows, 299);
});

test('flags override the YAML config; the summary carries the documented fields', () => {
  const dir = join(tmp, 'small');
  assert.equal(alpt('synth', '--out', dir, '--rows', '2000', '--seed', '3').status, 0);
  const cfg = join(tmp, 'run.yaml');
  writeFileSync(cfg, 'model: dnn\nmlp: 16,8\nembedding: lpt-sr\nbits: 4\nepochs: 1\nbatch: 256\n');
  const out = join(tmp, 'run');
  const r = alpt('train', '--config', cfg, '--data', dir, '--bits', '2', '--progress', 'none', '--out', out);
  assert.equal(r.status, 0, r.stderr);
  const s = JSON.parse(r.stdout.trim().split('\n').pop()!);
  for (const k of ['model', 'embedding', 'bits', 'seed', 'epochs_run', 'best_epoch', 'valid_auc', 'test_auc', 'test_logloss', 'train_samples_per_s', 'table_bytes', 'params'])
    assert.ok(k in s, `summary has ${k}`);
  assert.equal(s.model, 'dnn');
  assert.equal(s.bits, 2);
  assert.equal(s.embedding, 'lpt-sr');
  assert.deepEqual(JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8')).test_auc, s.test_auc);
  assert.ok(readFileSync(join(out, 'metrics.jsonl'), 'utf8').includes('valid_auc'));
});

test('alpt memory reports 16·b/8 + 4 + 4 bytes per row for LPT with row-wise Adagrad', () => {
  const r = alpt('memory', '--rows', '1000', '--methods', 'fp32,lpt-sr', '--sparse-optimizer', 'adam,rowwise-adagrad', '--json');
  assert.equal(r.status, 0, r.stderr);
  const rows = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
  const per = (m: string, b: number, o: string) => rows.find((x) => x.method === m && x.bits === b && x.optimizer === o).bytesPerRow;
  assert.equal(per('fp32', 32, 'adam'), 192);
  assert.equal(per('lpt-sr', 8, 'rowwise-adagrad'), 24);
  assert.equal(per('lpt-sr', 4, 'rowwise-adagrad'), 16);
  assert.equal(per('lpt-sr', 2, 'rowwise-adagrad'), 12);
});

test('alpt compare runs the grid and writes Markdown, CSV and JSON; --from-runs tabulates saved runs', () => {
  const dir = join(tmp, 'cmp-data');
  assert.equal(alpt('synth', '--out', dir, '--rows', '1500', '--seed', '4').status, 0);
  const out = join(tmp, 'cmp');
  const r = alpt('compare', '--data', dir, '--model', 'dnn', '--mlp', '8', '--epochs', '1', '--batch', '256', '--methods', 'fp32,lpt-sr,alpt', '--bits', '4,2', '--seeds', '2', '--progress', 'none', '--results', out);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /\| lpt-sr \| 2 \|/);
  const csv = readFileSync(join(out, 'compare.csv'), 'utf8').trim().split('\n');
  assert.equal(csv.length, 1 + 1 + 2 + 2, 'header + fp32 + lpt-sr×2 + alpt×2');
  const json = JSON.parse(readFileSync(join(out, 'compare.json'), 'utf8'));
  assert.equal(json.runs.length, 2 * 5);
  assert.ok(json.rows.every((row: { seeds: number }) => row.seeds === 2));
  const again = alpt('compare', '--from-runs', join(out, 'runs.jsonl'), '--results', join(tmp, 'cmp2'));
  assert.equal(again.status, 0, again.stderr);
  assert.equal(readFileSync(join(tmp, 'cmp2', 'compare.csv'), 'utf8'), readFileSync(join(out, 'compare.csv'), 'utf8'));
});

test('out-of-range flags and quoted YAML values are refused naming key, value and what is allowed', () => {
  for (const [flag, value, re] of [
    ['--threads', '1000', /threads \(--threads\): got 1000; expected number to be <=256/],
    ['--sparse-lr', '-1', /sparseLr \(--sparse-lr\): got -1; expected number to be >0/],
    ['--max-steps', '0', /maxSteps \(--max-steps\): got 0/],
    ['--model', 'dcnn', /model \(--model\): got "dcnn"; unknown model/],
  ] as const) {
    const r = alpt('train', flag, value, '--data', tmp);
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, re);
  }
  const cfg = join(tmp, 'quoted.yaml');
  writeFileSync(cfg, 'skip-bad: "no"\n');
  const r = alpt('train', '--config', cfg, '--data', tmp);
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /quoted\.yaml: skip-bad: got "no"; expected boolean/);
});

test('--resume: needs --out; refuses other settings naming both values and leaves config.json alone', () => {
  const dir = join(tmp, 'resume-data');
  assert.equal(alpt('synth', '--out', dir, '--rows', '1000', '--seed', '5').status, 0);
  const noOut = alpt('train', '--data', dir, '--resume');
  assert.notEqual(noOut.status, 0);
  assert.match(noOut.stderr, /--resume needs --out DIR/);
  const out = join(tmp, 'resume-run');
  const common = ['--data', dir, '--model', 'dnn', '--mlp', '8', '--batch', '256', '--progress', 'none', '--out', out];
  assert.equal(alpt('train', ...common, '--epochs', '1', '--dim', '8').status, 0);
  const config = readFileSync(join(out, 'config.json'), 'utf8');
  const r = alpt('train', ...common, '--epochs', '2', '--dim', '16', '--resume');
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /cannot resume with different settings:\n\s+dim \(--dim\): checkpoint 8, now 16/);
  assert.doesNotMatch(r.stderr, /bytes, table expects/);
  assert.equal(readFileSync(join(out, 'config.json'), 'utf8'), config, 'config.json untouched');
  const ok = alpt('train', ...common, '--epochs', '2', '--dim', '8', '--resume');
  assert.equal(ok.status, 0, ok.stderr);
  assert.equal(JSON.parse(ok.stdout.trim().split('\n').pop()!).epochs_run, 2);
});

test('a diverging run (--lr 1e4) exits non-zero naming the step instead of reporting loss 1e18', () => {
  const dir = join(tmp, 'diverge-data');
  assert.equal(alpt('synth', '--out', dir, '--rows', '2000', '--seed', '6').status, 0);
  const r = alpt('train', '--data', dir, '--model', 'dnn', '--mlp', '16', '--lr', '1e4', '--batch', '256', '--epochs', '10', '--progress', 'lines', '--out', join(tmp, 'diverge-run'));
  assert.equal(r.status, 1);
  assert.match(r.stderr, /alpt: training diverged at epoch \d+, step \d+: mean train loss/);
  assert.equal(r.stdout, '', 'no summary for a diverged run');
});

test('without a validation split the run says so once; no NaN; summary valid_auc is null', () => {
  const dir = join(tmp, 'novalid-data');
  assert.equal(alpt('synth', '--out', dir, '--rows', '1000', '--seed', '7').status, 0);
  const r = alpt('train', '--train', join(dir, 'train.txt'), '--test', join(dir, 'test.txt'), '--format', 'criteo', '--model', 'lr', '--epochs', '2', '--progress', 'lines');
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stderr.match(/no validation split/g)?.length, 1);
  assert.doesNotMatch(r.stderr, /NaN|Infinity/);
  const s = JSON.parse(r.stdout.trim().split('\n').pop()!);
  assert.equal(s.valid_auc, null);
  assert.equal(s.best_epoch, 2);
  const held = alpt('train', '--train', join(dir, 'train.txt'), '--format', 'criteo', '--model', 'lr', '--epochs', '1', '--progress', 'none', '--valid-fraction', '0.25');
  assert.equal(held.status, 0, held.stderr);
  assert.equal(typeof JSON.parse(held.stdout.trim().split('\n').pop()!).valid_auc, 'number');
});
