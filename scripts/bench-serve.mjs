#!/usr/bin/env node
// `npm run bench:serve`: load on `alpt serve`, over loopback only, bounded in requests and time
// (at most ~60 s in all). Runs the server as a child process (`node bin/alpt.js serve --port 0`),
// sends 1-row and 100-row requests at several concurrency levels (closed loop: each client sends
// its next request when the last one is answered), 1-row requests at a fixed 1,000 requests/s
// (open loop, latency from the scheduled send time), and one run with 10 % malformed requests;
// then the same with dynamic batching off (--max-batch 1) to show what merging buys.
// Reports requests/s, rows/s, p50/p99/p999 latency, 4xx/5xx, rows per forward pass, server RSS.
// Usage: node scripts/bench-serve.mjs [--model FILE] [--seconds S] [--threads N] [--quick]
// Without --model, trains DCN 400-400-400 (4-bit ALPT) on the Criteo sample (a few seconds).
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const bin = join(root, 'bin', 'alpt.js');
const args = process.argv.slice(2);
const opt = (n, d) => (args.includes(n) ? args[args.indexOf(n) + 1] : d);
const quick = args.includes('--quick');
const cellSeconds = Number(opt('--seconds', quick ? 1 : 2.5));
const threads = opt('--threads', '1');
const HOST = '127.0.0.1'; // loopback only, always
const started = performance.now();
const BUDGET_MS = 60_000;
const MAX_REQUESTS_PER_CELL = 200_000;
const left = () => BUDGET_MS - (performance.now() - started);

// ---- the model and the rows ------------------------------------------------------------------
const criteo = '/work/shared/data/bench/criteo10k';
let tmp = null;
let model = opt('--model', null);
if (!model) {
  tmp = mkdtempSync(join(tmpdir(), 'alpt-bench-serve-'));
  let data = criteo;
  if (!existsSync(join(criteo, 'train.txt'))) {
    data = join(tmp, 'synth');
    spawnSync(process.execPath, [bin, 'synth', '--out', data, '--rows', '20000', '--cardinality', '2000'], { stdio: 'inherit' });
  }
  const t = spawnSync(process.execPath, [bin, 'train', '--data', data, '--format', 'criteo', '--model', 'dcn', '--embedding', 'alpt', '--bits', '4', '--mlp', '400,400,400', '--epochs', '1', '--out', join(tmp, 'model'), '--progress', 'none', '--cache-dir', join(tmp, 'cache')], { encoding: 'utf8' });
  if (t.status !== 0) throw new Error(`training the benchmark model failed: ${t.stderr}`);
  model = join(tmp, 'model', 'model.alpt');
}
const dataFile = existsSync(join(criteo, 'test.txt')) ? join(criteo, 'test.txt') : join(tmp, 'synth', 'test.txt');
const I = Array.from({ length: 13 }, (_, j) => `I${j + 1}`);
const C = Array.from({ length: 26 }, (_, j) => `C${j + 1}`);
const records = readFileSync(dataFile, 'utf8').split('\n').filter(Boolean).slice(0, 2000).map((line) => {
  const v = line.split('\t');
  const r = {};
  I.forEach((n, j) => (r[n] = v[1 + j] === '' ? '' : Number(v[1 + j])));
  C.forEach((n, j) => (r[n] = v[14 + j]));
  return r;
});
const bodies = (rows, count) => Array.from({ length: count }, (_, k) => JSON.stringify({ rows: Array.from({ length: rows }, (_, i) => records[(k * rows + i) % records.length]) }));
const body1 = bodies(1, 1000);
const body100 = bodies(100, 100);
const good = records[0];
const { I3: _omit, ...missing } = good;
const MALFORMED = [
  { type: 'application/json', body: '{"rows": [' },
  { type: 'application/json', body: JSON.stringify({ rows: [missing] }) },
  { type: 'application/json', body: JSON.stringify({ rows: [{ ...good, I1: 'NaN' }] }) },
  { type: 'application/json', body: JSON.stringify({ rows: [{ ...good, C3: { x: 1 } }] }) },
  { type: 'application/json', body: JSON.stringify({ rows: [] }) },
  { type: 'application/json', body: JSON.stringify({ rows: [{ ...good, bogus: 1 }] }) },
  { type: 'application/json', body: JSON.stringify({ rows: [{ ...good, C1: 'z'.repeat(5000) }] }) },
  { type: 'application/json', body: JSON.stringify({ rows: Array(1001).fill(good) }) },
  { type: 'application/json', body: '{"rows":' + '['.repeat(5000) + ']'.repeat(5000) + '}' },
  { type: 'text/plain', body: JSON.stringify({ rows: [good] }) },
];

// ---- the server --------------------------------------------------------------------------------
const children = new Set();
process.on('exit', () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
});
async function startServer(extra) {
  const child = spawn(process.execPath, [bin, 'serve', '--model', model, '--host', HOST, '--port', '0', '--threads', threads, '--log-level', 'info', ...extra], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  let out = '';
  const port = await new Promise((resolve, reject) => {
    const onData = (d) => {
      out += d;
      const m = /Server listening at http:\/\/127\.0\.0\.1:(\d+)/.exec(out) ?? /"url":"http:\/\/127\.0\.0\.1:(\d+)"/.exec(out);
      if (m) resolve(Number(m[1]));
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', (d) => (out += d));
    child.on('exit', (code) => reject(new Error(`server exited (${code}): ${out}`)));
    const t = setTimeout(() => reject(new Error(`server did not start: ${out}`)), 20_000);
    child.stdout.once('close', () => clearTimeout(t));
    child.stdout.on('data', () => /listening|"url"/.test(out) && clearTimeout(t));
  });
  // keep draining its log (startup at info, every refused request at warn) so the pipe never blocks it
  child.stdout.resume();
  child.stderr.resume();
  let exitCode;
  const exited = new Promise((resolve) => child.on('exit', (code, sig) => resolve((exitCode = code ?? sig))));
  return { child, port, exited, get exitCode() { return exitCode; } };
}

function rssMB(pid) {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : NaN;
  } catch {
    return NaN;
  }
}

// ---- the client ------------------------------------------------------------------------------
function send(agent, port, path, type, body) {
  return new Promise((resolve) => {
    const req = http.request({ host: HOST, port, path, method: 'POST', agent, headers: { 'content-type': type, 'content-length': Buffer.byteLength(body) } }, (res) => {
      res.on('data', () => {});
      res.on('end', () => resolve(res.statusCode));
    });
    req.on('error', () => resolve(0)); // 0: no answer (connection error)
    req.end(body);
  });
}

async function batchStats(port) {
  const text = await new Promise((resolve) => {
    http.get({ host: HOST, port, path: '/metrics' }, (res) => {
      let s = '';
      res.on('data', (d) => (s += d));
      res.on('end', () => resolve(s));
    }).on('error', () => resolve(''));
  });
  const num = (name) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? NaN);
  return { rows: num('alpt_batch_rows_sum'), passes: num('alpt_batch_rows_count') };
}

function pct(sorted, p) {
  if (!sorted.length) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
}

/** One measured cell: closed loop with `concurrency` clients, or open loop at `rate` requests/s. */
async function cell(srv, { name, rows, concurrency = 1, rate = 0, malformed = 0, seconds = cellSeconds }) {
  const ms = Math.min(seconds * 1000, Math.max(0, left() - 3000));
  if (ms < 300) return null;
  const agent = new http.Agent({ keepAlive: true, maxSockets: rate ? 256 : concurrency });
  const pool = rows === 1 ? body1 : body100;
  const lat = [];
  let ok = 0, c4 = 0, c5 = 0, failed = 0, sent = 0, goodRows = 0;
  const b0 = await batchStats(srv.port);
  const t0 = performance.now();
  const one = async (k, scheduled) => {
    const bad = malformed > 0 && k % Math.round(1 / malformed) === 0;
    const m = bad ? MALFORMED[(k / Math.round(1 / malformed)) % MALFORMED.length] : null;
    const status = await send(agent, srv.port, '/v1/predict', m ? m.type : 'application/json', m ? m.body : pool[k % pool.length]);
    const dt = performance.now() - scheduled;
    if (status === 200) {
      ok++;
      goodRows += rows;
      lat.push(dt);
    } else if (status >= 500) c5++;
    else if (status >= 400) c4++;
    else failed++;
  };
  if (rate) {
    // open loop: request k is due at t0 + k/rate, whether or not earlier ones were answered
    const inflight = new Set();
    while (performance.now() - t0 < ms && sent < MAX_REQUESTS_PER_CELL) {
      const due = t0 + (sent * 1000) / rate;
      const now = performance.now();
      if (due > now) await new Promise((r) => setTimeout(r, Math.max(0, due - now - 0.5)));
      while (t0 + (sent * 1000) / rate <= performance.now() && sent < MAX_REQUESTS_PER_CELL) {
        const p = one(sent, t0 + (sent * 1000) / rate);
        inflight.add(p);
        p.then(() => inflight.delete(p));
        sent++;
      }
    }
    await Promise.all(inflight);
  } else {
    const worker = async () => {
      while (performance.now() - t0 < ms && sent < MAX_REQUESTS_PER_CELL) {
        const k = sent++;
        const start = performance.now();
        await one(k, start);
      }
    };
    await Promise.all(Array.from({ length: concurrency }, worker));
  }
  const elapsed = (performance.now() - t0) / 1000;
  agent.destroy();
  const b1 = await batchStats(srv.port);
  lat.sort((a, b) => a - b);
  const r = {
    name,
    rows,
    concurrency: rate ? `${rate}/s open` : concurrency,
    requests_per_s: (ok + c4 + c5) / elapsed,
    rows_per_s: goodRows / elapsed,
    p50_ms: pct(lat, 0.5),
    p99_ms: pct(lat, 0.99),
    p999_ms: pct(lat, 0.999),
    n4xx: c4,
    n5xx: c5,
    failed,
    rows_per_pass: (b1.rows - b0.rows) / (b1.passes - b0.passes),
    rss_mb: rssMB(srv.child.pid),
  };
  console.log(JSON.stringify(r));
  return r;
}

async function warm(srv) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });
  for (let k = 0; k < 200; k++) await send(agent, srv.port, '/v1/predict', 'application/json', k % 2 ? body1[k] : body100[k % 100]);
  agent.destroy();
}

async function stop(srv) {
  srv.child.kill('SIGTERM');
  const t = setTimeout(() => srv.child.kill('SIGKILL'), 10_000);
  const code = await srv.exited;
  clearTimeout(t);
  return code;
}

// ---- the runs ----------------------------------------------------------------------------------
const results = [];
const notes = [`machine: ${cpus().length} × ${cpus()[0]?.model ?? '?'}; load average at start ${loadavg().map((x) => x.toFixed(1)).join(' / ')} (shared with other jobs)`];
const plan = [
  { flags: [], label: 'batching on (--max-batch 512 --max-wait-ms 0)', cells: [
    { name: '1-row', rows: 1, concurrency: 1 },
    { name: '1-row', rows: 1, concurrency: 8 },
    { name: '1-row', rows: 1, concurrency: 32 },
    { name: '1-row', rows: 1, rate: 1000, seconds: quick ? 1 : 4 },
    { name: '100-row', rows: 100, concurrency: 1 },
    { name: '100-row', rows: 100, concurrency: 4 },
    { name: '100-row', rows: 100, concurrency: 16 },
    { name: '1-row + 10% malformed', rows: 1, concurrency: 16, malformed: 0.1, seconds: quick ? 1 : 4, rss: true },
  ] },
  { flags: ['--max-batch', '1'], label: 'batching off (--max-batch 1)', cells: [
    { name: '1-row', rows: 1, concurrency: 32 },
    { name: '1-row', rows: 1, rate: 1000, seconds: quick ? 1 : 3 },
    { name: '100-row', rows: 100, concurrency: 16 },
  ] },
];
let crashed = false;
for (const run of plan) {
  if (left() < 5000) {
    notes.push(`skipped (time budget): ${run.label}`);
    continue;
  }
  const srv = await startServer(run.flags);
  await warm(srv);
  const rssStart = rssMB(srv.child.pid);
  for (const c of run.cells) {
    const before = rssMB(srv.child.pid);
    const r = await cell(srv, c);
    if (!r) {
      notes.push(`skipped (time budget): ${run.label} ${c.name}`);
      continue;
    }
    r.batching = run.label;
    r.rss_before_mb = before;
    if (c.rss) r.rss_growth = r.rss_mb / before - 1;
    results.push(r);
    if (srv.exitCode !== undefined) crashed = true;
  }
  const rssEnd = rssMB(srv.child.pid);
  const code = await stop(srv);
  if (code !== 0) crashed = true;
  notes.push(`${run.label}: server RSS ${rssStart.toFixed(1)} MB after warm-up, ${rssEnd.toFixed(1)} MB at the end; SIGTERM exit code ${code}`);
}
if (tmp) rmSync(tmp, { recursive: true, force: true });

// ---- the report --------------------------------------------------------------------------------
const f = (x, d = 0) => (Number.isFinite(x) ? x.toFixed(d) : '–');
console.log('\n| batching | request | clients | requests/s | rows/s | p50 ms | p99 ms | p99.9 ms | 4xx | 5xx | rows/pass | RSS before → after MB |');
console.log('|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|');
for (const r of results) {
  console.log(`| ${r.batching.startsWith('batching on') ? 'on' : 'off'} | ${r.name} | ${r.concurrency} | ${f(r.requests_per_s)} | ${f(r.rows_per_s)} | ${f(r.p50_ms, 2)} | ${f(r.p99_ms, 2)} | ${f(r.p999_ms, 2)} | ${r.n4xx} | ${r.n5xx} | ${f(r.rows_per_pass, 1)} | ${f(r.rss_before_mb, 1)} → ${f(r.rss_mb, 1)}${r.rss_growth !== undefined ? ` (${(r.rss_growth * 100).toFixed(1)} %)` : ''} |`);
}
console.log('');
for (const n of notes) console.log(`- ${n}`);
const mal = results.find((r) => r.name.includes('malformed'));
const open1 = results.find((r) => r.batching.startsWith('batching on') && r.concurrency === '1000/s open');
const best100 = Math.max(0, ...results.filter((r) => r.rows === 100).map((r) => r.rows_per_s));
console.log(`- malformed mix: ${mal ? `${mal.n5xx} 5xx, ${mal.failed} unanswered, RSS growth ${(mal.rss_growth * 100).toFixed(1)} %` : 'not run'}; server crashed: ${crashed ? 'YES' : 'no'}`);
console.log(`- target p99 < 5 ms for 1-row requests at 1,000 requests/s: ${open1 ? `${f(open1.p99_ms, 2)} ms (${open1.p99_ms < 5 ? 'met' : 'missed'})` : 'not run'}`);
console.log(`- target ≥ 100,000 rows/s with 100-row requests: ${f(best100)} rows/s (${best100 >= 100_000 ? 'met' : `missed, ${(best100 / 1000).toFixed(0)}k = ${((best100 / 100_000) * 100).toFixed(0)} % of it`})`);
console.log(`- load average at the end ${loadavg().map((x) => x.toFixed(1)).join(' / ')}; ${((performance.now() - started) / 1000).toFixed(1)} s in all`);
process.exit(crashed || (mal && mal.n5xx > 0) ? 1 : 0);
