// The report page: content from a compare grid and a run folder, then opened in a real browser
// (Debian's headless Chromium via playwright-core): no console error, no network request, every
// chart drawn with the expected number of marks, a screenshot saved.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { gatherReport, allCharts } from '../src/report/index.js';

const bin = fileURLToPath(new URL('../../bin/alpt.js', import.meta.url));
const tmp = mkdtempSync(join(tmpdir(), 'alpt-report-'));
const env = { ...process.env, ALPT_CACHE_DIR: join(tmp, 'cache') };
const alpt = (...args: string[]) => spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', env });
const CHROMIUM = '/usr/bin/chromium';

const data = join(tmp, 'data');
const grid = join(tmp, 'grid');
const run = join(tmp, 'run-alpt2');
const small = ['--model', 'dcn', '--mlp', '16', '--dim', '8', '--epochs', '2', '--batch', '256', '--threads', '1', '--progress', 'lines'];

let prepared = false;
function prepare(): void {
  if (prepared) return;
  prepared = true;
  let r = alpt('synth', '--out', data, '--rows', '3000', '--cardinality', '300', '--seed', '3');
  assert.equal(r.status, 0, r.stderr);
  r = alpt('compare', '--data', data, '--format', 'criteo', ...small, '--methods', 'fp32,lpt-sr,alpt', '--bits', '4,2', '--seeds', '2', '--results', grid);
  assert.equal(r.status, 0, r.stderr);
  r = alpt('train', '--data', data, '--format', 'criteo', ...small, '--embedding', 'alpt', '--bits', '2', '--eval-every', '4', '--step-dtype', 'f16', '--out', run);
  assert.equal(r.status, 0, r.stderr);
}

test('compare writes report.html beside its table; the page is self-contained and has every chart', async () => {
  prepare();
  const html = readFileSync(join(grid, 'report.html'), 'utf8');
  assert.ok(existsSync(join(grid, 'compare.md')));
  assert.doesNotMatch(html, /<script/i, 'no script: the charts are SVG');
  assert.doesNotMatch(html, /<link\b|@import/i, 'no external style');
  // url(…) only to an element of the page (SVG gradients), each id defined once.
  for (const m of html.matchAll(/url\(([^)]*)\)/g)) assert.match(m[1], /^#/, m[0]);
  const ids = [...html.matchAll(/\bid="([^"]+)"/g)].map((m) => m[1]);
  assert.equal(new Set(ids).size, ids.length, 'unique ids');
  // The only URLs are XML namespace names (never fetched).
  const urls = [...html.matchAll(/https?:\/\/[^\s"')<]+/g)].map((m) => m[0]);
  for (const u of urls) assert.match(u, /^http:\/\/www\.w3\.org\/(2000\/svg|1999\/xlink)$/, u);
  for (const id of ['auc-vs-bytes', 'curve-train_loss', 'curve-valid_auc', 'curve-valid_logloss', 'steps-alpt-4', 'steps-lpt-sr-2', 'codes-alpt-2', 'speed', 'memory']) {
    assert.match(html, new RegExp(`<figure class="chart" id="${id}"`), id);
  }
  assert.doesNotMatch(html, /id="steps-fp32"|id="codes-fp32"/, 'fp32 has no step sizes or codes');
  // One grid row per method × bits (fp32 once), each with 2 seeds.
  const d = gatherReport([grid]);
  assert.equal(d.runs.length, 10);
  assert.deepEqual(d.grid.map((g) => `${g.method}-${g.bits}:${g.seeds}`), ['fp32-32:2', 'lpt-sr-4:2', 'lpt-sr-2:2', 'alpt-4:2', 'alpt-2:2']);
  const c = allCharts(d);
  assert.equal(c.headline.marks.auc_points, 5);
  assert.equal(c.headline.marks.ref_auc, 1);
  assert.equal(c.steps.length, 4);
  assert.equal(c.codes.length, 4);
  // The summary carries what the charts need, small: 17 bins per field, 2^bits code counts.
  const s = d.runs.find((r) => r.group === 'alpt-2')!.summary;
  assert.equal(s.step_size_histogram!.fields.length, s.fields);
  for (const f of s.step_size_histogram!.fields) assert.equal(f.counts.reduce((a, b) => a + b, 0) > 0, true);
  assert.equal(s.step_size_histogram!.fields[0].counts.length, 17);
  assert.deepEqual([s.code_histogram!.counts.length, s.code_histogram!.lo], [4, -2]);
  assert.equal(s.code_histogram!.counts.reduce((a, b) => a + b, 0), s.rows * s.dim);
  assert.ok(s.code_histogram!.at_limits > 0 && s.code_histogram!.at_limits <= 1);
  assert.ok(s.backend && ['blas', 'wasm', 'js'].includes(s.backend.name), JSON.stringify(s.backend));
  assert.equal(s.curve!.filter((p) => p.train_loss !== undefined).length, s.epochs_run);
});

test('alpt report of a run folder: curves from metrics.jsonl, --eval-every points included', () => {
  prepare();
  const out = join(tmp, 'one.html');
  const r = alpt('report', run, grid, '--out', out);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout.trim(), out);
  const d = gatherReport([run]);
  const metrics = readFileSync(join(run, 'metrics.jsonl'), 'utf8').trim().split('\n');
  assert.equal(d.runs[0].curve.length, metrics.length);
  assert.ok(d.runs[0].curve.some((p) => p.train_loss === undefined), 'eval-every points');
  assert.equal(d.runs[0].summary.memory.steps / d.runs[0].summary.memory.rows, 2, 'f16 steps');
  const bad = alpt('report', join(tmp, 'nowhere'));
  assert.notEqual(bad.status, 0);
  assert.match(bad.stderr, /nowhere: no such file or folder/);
});

test('the report in a real browser: no console error, no request but the file, every chart drawn', async (t) => {
  if (!existsSync(CHROMIUM)) {
    t.skip(`${CHROMIUM} not found (apt-get install chromium); the browser check is skipped`);
    return;
  }
  prepare();
  const file = join(tmp, 'both.html');
  const r = alpt('report', grid, run, '--out', file);
  assert.equal(r.status, 0, r.stderr);
  const { chromium } = await import('playwright-core');
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    // playwright gives every launch a fresh temporary profile (user-data dir)
  });
  try {
    const page = await browser.newPage({ javaScriptEnabled: false });
    const errors: string[] = [];
    const requests: string[] = [];
    page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
    page.on('pageerror', (e) => errors.push(String(e)));
    page.on('request', (q) => requests.push(q.url()));
    const url = pathToFileURL(file).href;
    await page.goto(url, { waitUntil: 'load' });
    assert.deepEqual(errors, []);
    assert.deepEqual(requests, [url], 'the page fetches nothing');
    const expected = allCharts(gatherReport([grid, run]));
    const charts = [expected.headline, ...expected.curves, ...expected.steps, ...expected.codes, ...expected.speed];
    for (const c of charts) {
      for (const [name, n] of Object.entries(c.marks)) {
        const count = await page.locator(`figure#${c.id} svg g.${name}_marks > :is(path, line, rect, text)`).count();
        assert.equal(count, n, `${c.id}: ${name}`);
      }
      const box = await page.locator(`figure#${c.id} svg`).boundingBox();
      assert.ok(box && box.width > 100 && box.height > 50, `${c.id} is visible`);
    }
    const shot = join(tmp, 'report.png');
    await page.screenshot({ path: shot, fullPage: true });
    assert.ok(readFileSync(shot).length > 10_000);
    process.stderr.write(`report screenshot: ${shot}\n`);
  } finally {
    await browser.close();
  }
});
