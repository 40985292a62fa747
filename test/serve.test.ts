// `alpt serve`: scores over HTTP equal loadModel().predict bit for bit (batched or not), bad input
// gets a 4xx naming the row and field and the server keeps answering, a reload swaps the model
// under a stream of requests, a corrupt file is refused, and SIGTERM drains and exits 0.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:net';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { train } from '../src/train/run.js';
import { writeSynthetic } from '../src/data/index.js';
import { loadModel, type LoadedModel } from '../src/predict/loaded-model.js';
import { startServer, type AlptServer } from '../src/serve/server.js';

const bin = fileURLToPath(new URL('../../bin/alpt.js', import.meta.url));
const tmp = mkdtempSync(join(tmpdir(), 'alpt-serve-'));
const I = Array.from({ length: 13 }, (_, j) => `I${j + 1}`);
const C = Array.from({ length: 26 }, (_, j) => `C${j + 1}`);
let modelA = '', modelB = '', checkpointA = '';
let lines: string[] = [];
let predA: LoadedModel, predB: LoadedModel;
let shaA = '', shaB = '';

type Rec = Record<string, string | number>;
const record = (line: string): Rec => {
  const v = line.split('\t');
  const r: Rec = {};
  I.forEach((n, j) => (r[n] = v[1 + j] === '' ? '' : Number(v[1 + j])));
  C.forEach((n, j) => (r[n] = v[14 + j]));
  return r;
};

before(async () => {
  const data = join(tmp, 'synth');
  await writeSynthetic({ dir: data, rows: 3000, validRows: 400, testRows: 400, seed: 11, cardinality: 200 });
  const cfg = { data, format: 'criteo' as const, model: 'dcn' as const, embedding: 'alpt' as const, bits: 4, dim: 8, mlp: [16], crossLayers: 1, batch: 500, epochs: 1, progress: 'none' as const, cacheDir: join(tmp, 'cache') };
  await train({ ...cfg, seed: 1, out: join(tmp, 'a') });
  await train({ ...cfg, seed: 2, out: join(tmp, 'b') });
  modelA = join(tmp, 'a', 'model.alpt');
  modelB = join(tmp, 'b', 'model.alpt');
  checkpointA = join(tmp, 'a', 'checkpoint.alpt');
  lines = readFileSync(join(data, 'test.txt'), 'utf8').split('\n').filter(Boolean);
  predA = await loadModel(modelA, { threads: 1 });
  predB = await loadModel(modelB, { threads: 1 });
  const { createHash } = await import('node:crypto');
  shaA = createHash('sha256').update(readFileSync(modelA)).digest('hex');
  shaB = createHash('sha256').update(readFileSync(modelB)).digest('hex');
});

after(() => {
  predA?.dispose();
  predB?.dispose();
  rmSync(tmp, { recursive: true, force: true });
});

async function post(url: string, body: unknown, headers: Record<string, string> = { 'content-type': 'application/json' }): Promise<{ status: number; json: any }> {
  const res = await fetch(url, { method: 'POST', headers, body: typeof body === 'string' ? body : JSON.stringify(body) });
  const text = await res.text();
  let json: any = null;
  try {
    json = JSON.parse(text);
  } catch {
    json = text;
  }
  return { status: res.status, json };
}

function sameScores(got: number[], want: Float32Array, what: string): void {
  assert.equal(got.length, want.length, `${what}: count`);
  for (let i = 0; i < want.length; i++) assert.ok(Object.is(Math.fround(got[i]), want[i]), `${what}: row ${i}: ${got[i]} vs ${want[i]}`);
}

async function withServer(opts: Partial<Parameters<typeof startServer>[0]>, fn: (s: AlptServer & { url: string }, url: string) => Promise<void>): Promise<void> {
  const s = await startServer({ model: modelA, host: '127.0.0.1', port: 0, logger: false, defaultMetrics: false, ...opts });
  try {
    await fn(s, s.url);
  } finally {
    await s.shutdown();
  }
}

test('serve: scores equal predict bit for bit, for records, arrays and lines, alone or batched', async () => {
  await withServer({ maxWaitMs: 5, maxBatch: 64 }, async (s, url) => {
    const rows = lines.slice(0, 60);
    const recs = rows.map(record);
    const want = predA.predict(recs);
    const r = await post(`${url}/v1/predict`, { rows: recs });
    assert.equal(r.status, 200, JSON.stringify(r.json));
    sameScores(r.json.scores, want, 'records');
    assert.deepEqual(r.json.model, { version: shaA.slice(0, 12), sha256: shaA });
    const arrays = rows.map((l) => l.split('\t').slice(1));
    sameScores((await post(`${url}/v1/predict`, { rows: arrays })).json.scores, want, 'arrays');
    sameScores((await post(`${url}/v1/predict`, { rows })).json.scores, want, 'raw lines');
    // 60 concurrent 1-row requests: merged into a few forward passes, the same scores.
    const single = await Promise.all(recs.map((rec) => post(`${url}/v1/predict`, { rows: [rec] })));
    single.forEach((x, i) => {
      assert.equal(x.status, 200);
      assert.ok(Object.is(Math.fround(x.json.scores[0]), want[i]), `row ${i} alone`);
    });
    const m = await s.metrics.batchRequests.get();
    const sum = m.values.find((v) => v.metricName === 'alpt_batch_requests_sum')!.value;
    const count = m.values.find((v) => v.metricName === 'alpt_batch_requests_count')!.value;
    assert.ok(sum > count, `requests were merged: ${sum} requests in ${count} passes`);
    // Unseen categorical values score through the field's OOV id.
    const unseen = { ...recs[0], C1: 'never-seen-value', C2: 'zzz' };
    const u = await post(`${url}/v1/predict`, { rows: [unseen] });
    assert.equal(u.status, 200);
    sameScores(u.json.scores, predA.predict([unseen]), 'unseen');
    for (const path of ['/healthz', '/readyz']) assert.equal((await fetch(url + path)).status, 200, path);
    const metrics = await (await fetch(`${url}/metrics`)).text();
    for (const name of ['alpt_http_requests_total', 'alpt_http_request_duration_seconds_bucket', 'alpt_batch_rows_bucket', 'alpt_rows_scored_total', 'alpt_model_info', 'alpt_model_loaded_timestamp_seconds']) {
      assert.ok(metrics.includes(name), `metrics: ${name}`);
    }
  });
});

test('serve: bad input gets the right 4xx naming the row and field, and the server keeps answering', async () => {
  await withServer({ maxRows: 50, maxBody: 64 * 1024, maxString: 100, requestTimeoutMs: 400 }, async (_s, url) => {
    const good = record(lines[0]);
    const p = `${url}/v1/predict`;
    const { I3: _drop, ...missing } = good;
    const cases: [string, () => Promise<{ status: number; json: any }>, number, RegExp][] = [
      ['not JSON', () => post(p, '{"rows": [', { 'content-type': 'application/json' }), 400, /JSON/],
      ['text/plain', () => post(p, JSON.stringify({ rows: [good] }), { 'content-type': 'text/plain' }), 415, /Unsupported Media Type/],
      ['no content type', () => post(p, JSON.stringify({ rows: [good] }), {}), 415, /Unsupported Media Type/],
      ['missing field', () => post(p, { rows: [good, missing] }), 400, /^row 1: field I3: missing/],
      ['unknown field', () => post(p, { rows: [{ ...good, bogus: 1 }] }), 400, /^row 0: field bogus: unknown field/],
      ['object value', () => post(p, { rows: [{ ...good, C4: { a: 1 } }] }), 400, /^row 0: field C4: must be/],
      ['boolean value', () => post(p, { rows: [good, { ...good, I2: true }] }), 400, /^row 1: field I2: must be/],
      ['text in a numeric column', () => post(p, { rows: [{ ...good, I1: 'abc' }] }), 400, /^row 0: field I1: "abc" is not a number/],
      ['NaN in a numeric column', () => post(p, { rows: [{ ...good, I1: 'NaN' }] }), 400, /^row 0: field I1: "NaN" is not a number/],
      ['Infinity in a numeric column', () => post(p, '{"rows":[' + JSON.stringify({ ...good, I1: 0 }).replace('"I1":0', '"I1":1e999') + ']}'), 400, /^row 0: field I1: must be/],
      ['wrong number of values', () => post(p, { rows: [[1, 2, 3]] }), 400, /^row 0: expected 39 values/],
      ['empty rows', () => post(p, { rows: [] }), 400, /rows must NOT have fewer than 1 items/],
      ['no rows', () => post(p, { records: [good] }), 400, /required property 'rows'/],
      ['extra property', () => post(p, { rows: [good], extra: 1 }), 400, /additional properties/],
      ['too many rows', () => post(p, { rows: Array(51).fill(good) }), 400, /rows must NOT have more than 50 items/],
      ['body too large', () => post(p, { rows: [{ ...good, C1: 'x'.repeat(70 * 1024) }] }), 413, /too large/i],
      ['huge string', () => post(p, { rows: [{ ...good, C5: 'y'.repeat(101) }] }), 400, /^row 0: field C5: must NOT have more than 100 characters/],
      ['deep nesting', () => post(p, '{"rows":' + '['.repeat(20000) + ']'.repeat(20000) + '}'), 400, /^row 0: field #0/],
      ['row of the wrong kind', () => post(p, { rows: [null] }), 400, /^row 0: must be object,array,string/],
      ['line break in a raw line', () => post(p, { rows: ['1\t2\n3'] }), 400, /^row 0: a raw line must not contain a line break/],
      ['__proto__', () => post(p, '{"rows":[{"__proto__":{"x":1}}]}'), 400, /./],
      ['unknown route', () => post(`${url}/v1/nothing`, { rows: [good] }), 404, /not found/i],
      ['GET predict', async () => {
        const r = await fetch(p);
        return { status: r.status, json: await r.json() };
      }, 404, /not found/i],
    ];
    for (const [what, send, status, msg] of cases) {
      const r = await send();
      assert.equal(r.status, status, `${what}: ${JSON.stringify(r.json)}`);
      assert.match(String(r.json.message), msg, what);
      const ok = await post(p, { rows: [good] });
      assert.equal(ok.status, 200, `after ${what}`);
    }
    // A slow client: headers and half a body, then nothing → 408, and the server goes on.
    const reply = await new Promise<string>((resolve, reject) => {
      const port = Number(new URL(url).port);
      const sock = connect(port, '127.0.0.1', () => {
        sock.write(`POST /v1/predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"rows":`);
      });
      let got = '';
      sock.on('data', (d) => (got += d));
      sock.on('close', () => resolve(got));
      sock.on('error', reject);
      setTimeout(() => sock.destroy(), 5000);
    });
    assert.match(reply, /^HTTP\/1.1 408/, reply);
    assert.equal((await post(p, { rows: [good] })).status, 200, 'after a slow client');
  });
});

test('serve: a reload swaps the model under a stream of requests; a corrupt or wrong file is refused', async () => {
  const path = join(tmp, 'serving.alpt');
  copyFileSync(modelA, path);
  await withServer({ model: path, maxWaitMs: 1 }, async (s, url) => {
    const recs = lines.slice(0, 8).map(record);
    const wantA = predA.predict(recs), wantB = predB.predict(recs);
    let stop = false;
    const seen = new Set<string>();
    const errors: string[] = [];
    const client = async (): Promise<void> => {
      while (!stop) {
        const r = await post(`${url}/v1/predict`, { rows: recs });
        if (r.status !== 200) {
          errors.push(`${r.status} ${JSON.stringify(r.json)}`);
          continue;
        }
        seen.add(r.json.model.sha256);
        sameScores(r.json.scores, r.json.model.sha256 === shaA ? wantA : wantB, `scores of ${r.json.model.version}`);
      }
    };
    const clients = [client(), client(), client()];
    try {
    await new Promise((r) => setTimeout(r, 150));
    // Replace the file the usual way (write beside, rename over), then reload.
    copyFileSync(modelB, path + '.tmp');
    renameSync(path + '.tmp', path);
    const r = await post(`${url}/v1/admin/reload`, '', {});
    assert.equal(r.status, 200, JSON.stringify(r.json));
    assert.equal(r.json.model.sha256, shaB);
    assert.equal(r.json.previous.sha256, shaA);
    await new Promise((r) => setTimeout(r, 150));
    } finally {
      stop = true;
      await Promise.all(clients);
    }
    assert.deepEqual(errors, []);
    assert.ok(seen.has(shaA) && seen.has(shaB), 'the stream saw both models');
    assert.equal((await (await fetch(`${url}/readyz`)).json()).model.sha256, shaB);

    // Corrupt (one flipped byte), truncated, and the wrong kind of file: refused, B keeps serving.
    const bytes = readFileSync(modelB);
    const flipped = Buffer.from(bytes);
    flipped[flipped.length - 100] ^= 0xff;
    const bad: [string, Buffer][] = [
      ['flipped byte', flipped],
      ['truncated', bytes.subarray(0, bytes.length >> 1)],
      ['checkpoint', readFileSync(checkpointA)],
      ['empty', Buffer.alloc(0)],
    ];
    for (const [what, content] of bad) {
      writeFileSync(path, content);
      const rr = await post(`${url}/v1/admin/reload`, '', {});
      assert.equal(rr.status, 422, `${what}: ${JSON.stringify(rr.json)}`);
      assert.match(rr.json.message, /refused; still serving/);
      assert.equal(rr.json.model.sha256, shaB);
      const ok = await post(`${url}/v1/predict`, { rows: recs });
      assert.equal(ok.status, 200);
      sameScores(ok.json.scores, wantB, `after a ${what} reload`);
    }
    const refused = (await s.metrics.reloads.get()).values.find((v) => v.labels.result === 'refused')!.value;
    assert.equal(refused, bad.length);
    // The old model was released once nothing was pinned to it.
    assert.equal(s.slot.current!.sha256, shaB);
  });
});

test('serve: the admin token guards reload', async () => {
  await withServer({ adminToken: 's3cret' }, async (_s, url) => {
    assert.equal((await post(`${url}/v1/admin/reload`, '', {})).status, 401);
    assert.equal((await post(`${url}/v1/admin/reload`, '', { authorization: 'Bearer wrong!' })).status, 401);
    assert.equal((await post(`${url}/v1/admin/reload`, '', { authorization: 'Bearer s3cret' })).status, 200);
  });
});

test('serve: SIGTERM drains the requests in flight and exits 0 (alpt serve child process)', async () => {
  const child = spawn(process.execPath, [bin, 'serve', '--model', modelA, '--port', '0', '--max-wait-ms', '300', '--threads', '1'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout.on('data', (d) => {
      out += d;
      const m = /"url":"(http:\/\/127\.0\.0\.1:\d+)"/.exec(out);
      if (m) resolve(m[1]);
    });
    child.on('exit', (code) => reject(new Error(`exited ${code}: ${out}`)));
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const recs = lines.slice(0, 5).map(record);
  // Requests wait up to 300 ms for company in the batcher: SIGTERM arrives while they are in flight.
  const inflight = recs.map((r) => post(`${url}/v1/predict`, { rows: [r] }));
  await new Promise((r) => setTimeout(r, 100));
  child.kill('SIGTERM');
  const results = await Promise.all(inflight);
  const want = predA.predict(recs);
  results.forEach((r, i) => {
    assert.equal(r.status, 200, JSON.stringify(r.json));
    assert.ok(Object.is(Math.fround(r.json.scores[0]), want[i]));
  });
  assert.equal(await exited, 0, out);
  assert.match(out, /SIGTERM: draining/);
  assert.match(out, /"drained":true/);
});
