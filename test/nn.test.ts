import { test } from 'node:test';
import assert from 'node:assert/strict';

import type { Backend } from '../src/kernels/backend.js';
import { naiveBackend, randn } from './nn-helpers.js';
import {
  Adam,
  BCEWithLogitsLoss,
  BatchNorm1d,
  BiInteraction,
  Concat,
  CrossNetwork,
  CrossNetworkV2,
  Dropout,
  FM,
  InnerProduct,
  Identity,
  Linear,
  Parallel,
  ReLU,
  SGD,
  Sequential,
  buildMlp,
  compareGrad,
  gradCheck,
  meanBceWithLogits,
  sigmoid,
  type GradCheckResult,
  type Layer,
  type Param,
} from '../src/nn/index.js';

// Max relative error |a − n| / max(|a|, |n|, 1e-2·max|a|) tolerated by the gradient checks:
// float32 forward passes with central differences (eps = 1e-2, or 1e-3 near ReLU kinks) give
// errors of order 1e-4 on smooth layers; a wrong gradient shows up as O(1).
const TOL = 5e-3;

function expectGrad(name: string, r: GradCheckResult, tol = TOL): void {
  if (process.env.NN_VERBOSE) console.log(`${name}: max rel err ${r.maxRelErr.toExponential(2)} (${r.checked} entries)`);
  assert.ok(r.checked > 0, `${name}: nothing checked`);
  assert.ok(r.maxRelErr < tol, `${name}: max rel err ${r.maxRelErr.toExponential(2)} ≥ ${tol} at ${JSON.stringify(r.worst)}`);
}

test('Linear: gradient check (input, weight, bias)', () => {
  const be = naiveBackend();
  const l = new Linear(be, 7, 5, { seed: 3, id: 1 });
  const r = gradCheck(l, { batch: 6 });
  expectGrad('Linear', r);
  assert.deepEqual(Object.keys(r.perTensor).sort(), ['bias', 'input', 'weight']);
});

test('Linear: forward matches x·Wᵀ + b', () => {
  const be = naiveBackend();
  const l = new Linear(be, 3, 2, { seed: 1, id: 0 });
  const x = randn(2 * 3, 5);
  const y = l.forward(x, 2, true);
  const W = l.weight.value;
  const b = l.bias!.value;
  for (let i = 0; i < 2; i++)
    for (let o = 0; o < 2; o++) {
      let s = b[o];
      for (let k = 0; k < 3; k++) s += x[i * 3 + k] * W[o * 3 + k];
      assert.ok(Math.abs(y[i * 2 + o] - s) < 1e-6);
    }
});

test('Linear: init like torch nn.Linear (U(±1/√fan_in)), deterministic per (seed, id)', () => {
  const be = naiveBackend();
  const inDim = 256;
  const l = new Linear(be, inDim, 128, { seed: 7, id: 2 });
  const bound = 1 / Math.sqrt(inDim);
  const w = l.weight.value;
  let mean = 0;
  let sq = 0;
  let maxAbs = 0;
  for (const v of w) {
    mean += v;
    sq += v * v;
    maxAbs = Math.max(maxAbs, Math.abs(v));
  }
  mean /= w.length;
  const std = Math.sqrt(sq / w.length - mean * mean);
  assert.ok(maxAbs <= bound, `max |W| ${maxAbs} > ${bound}`);
  assert.ok(maxAbs > 0.98 * bound, 'W should fill the range');
  assert.ok(Math.abs(mean) < 0.01 * bound, `mean ${mean}`);
  assert.ok(Math.abs(std - bound / Math.sqrt(3)) < 0.02 * bound, `std ${std} vs ${bound / Math.sqrt(3)}`);
  for (const v of l.bias!.value) assert.ok(Math.abs(v) <= bound);
  assert.ok(l.bias!.value.some((v) => v !== 0));
  assert.equal(l.weight.decay, true);
  assert.equal(l.bias!.decay, false);
  const same = new Linear(be, inDim, 128, { seed: 7, id: 2 });
  assert.deepEqual(same.weight.value, w);
  const other = new Linear(be, inDim, 128, { seed: 7, id: 3 });
  assert.notDeepEqual(other.weight.value, w);
});

test('ReLU: gradient check away from 0', () => {
  const be = naiveBackend();
  const x = randn(8 * 10, 11);
  for (let i = 0; i < x.length; i++) if (Math.abs(x[i]) < 0.1) x[i] = x[i] < 0 ? -0.1 - x[i] : 0.1 + x[i];
  expectGrad('ReLU', gradCheck(new ReLU(be, 10), { batch: 8, x, eps: 1e-3 }));
});

test('BatchNorm1d: gradient check in training mode (batch statistics)', () => {
  const be = naiveBackend();
  const bn = new BatchNorm1d(be, 6);
  // non-trivial affine params so dgamma/dbeta/dx all matter
  bn.gamma.value.set(randn(6, 3, 0.5).map((v) => v + 1));
  bn.beta.value.set(randn(6, 4, 0.5));
  const x = randn(9 * 6, 12, 2).map((v, i) => v + (i % 6));
  expectGrad('BatchNorm train', gradCheck(bn, { batch: 9, x, training: true }));
});

test('BatchNorm1d: gradient check in eval mode (running statistics)', () => {
  const be = naiveBackend();
  const bn = new BatchNorm1d(be, 5);
  bn.runningMean.set([0.1, -0.2, 0.3, 0, 1]);
  bn.runningVar.set([0.5, 2, 1, 0.1, 3]);
  bn.gamma.value.set([1, 2, 0.5, -1, 1.5]);
  expectGrad('BatchNorm eval', gradCheck(bn, { batch: 4, training: false }));
});

test('BatchNorm1d: training output and running stats match a hand computation', () => {
  const be = naiveBackend();
  const bn = new BatchNorm1d(be, 2);
  const x1 = new Float32Array([1, 10, 2, 20, 3, 30, 6, 0]); // B = 4, D = 2
  const y = bn.forward(x1, 4, true);
  const col = (x: Float32Array, j: number) => [0, 1, 2, 3].map((i) => x[i * 2 + j]);
  const stats = (v: number[]) => {
    const m = v.reduce((a, b) => a + b, 0) / v.length;
    const ss = v.reduce((a, b) => a + (b - m) ** 2, 0);
    return { m, biased: ss / v.length, unbiased: ss / (v.length - 1) };
  };
  const rm = [0, 0];
  const rv = [1, 1];
  for (let j = 0; j < 2; j++) {
    const s = stats(col(x1, j));
    for (let i = 0; i < 4; i++) {
      const expect = (x1[i * 2 + j] - s.m) / Math.sqrt(s.biased + 1e-5);
      assert.ok(Math.abs(y[i * 2 + j] - expect) < 1e-5, `y[${i},${j}]`);
    }
    rm[j] = 0.9 * rm[j] + 0.1 * s.m;
    rv[j] = 0.9 * rv[j] + 0.1 * s.unbiased;
  }
  const x2 = new Float32Array([-1, 5, 4, 7, 0, 1, 2, 2]);
  bn.forward(x2, 4, true);
  for (let j = 0; j < 2; j++) {
    const s = stats(col(x2, j));
    rm[j] = 0.9 * rm[j] + 0.1 * s.m;
    rv[j] = 0.9 * rv[j] + 0.1 * s.unbiased;
    assert.ok(Math.abs(bn.runningMean[j] - rm[j]) < 1e-5, `running mean ${bn.runningMean[j]} vs ${rm[j]}`);
    assert.ok(Math.abs(bn.runningVar[j] - rv[j]) < 1e-4, `running var ${bn.runningVar[j]} vs ${rv[j]}`);
  }
  // eval uses running stats
  const ye = bn.forward(new Float32Array([1, 1]), 1, false);
  for (let j = 0; j < 2; j++) assert.ok(Math.abs(ye[j] - (1 - rm[j]) / Math.sqrt(rv[j] + 1e-5)) < 1e-5);
  // frozen stats for a second pass
  bn.trackRunningStats = false;
  const before = bn.runningMean.slice();
  bn.forward(x1, 4, true);
  assert.deepEqual(bn.runningMean, before);
  assert.deepEqual(
    bn.buffers().map((b) => b.name),
    ['running_mean', 'running_var'],
  );
});

test('Dropout: gradient check with a fixed mask; mask keyed by step', () => {
  const be = naiveBackend();
  const d = new Dropout(be, 16, 0.3, { seed: 5, id: 1 });
  d.setStep(42);
  expectGrad('Dropout', gradCheck(d, { batch: 10 }));

  const x = new Float32Array(200 * 16).fill(1);
  const y1 = d.forward(x, 200, true).slice();
  let kept = 0;
  for (const v of y1) {
    assert.ok(v === 0 || Math.abs(v - 1 / 0.7) < 1e-6);
    if (v !== 0) kept++;
  }
  const frac = kept / y1.length;
  assert.ok(Math.abs(frac - 0.7) < 0.03, `kept fraction ${frac}`);
  assert.deepEqual(d.forward(x, 200, true), y1, 'same step → same mask');
  d.setStep(43);
  assert.notDeepEqual(d.forward(x, 200, true), y1, 'next step → new mask');
  assert.equal(d.forward(x, 200, false), x, 'eval is the identity');
});

test('CrossNetwork (3 layers): forward matches the formula; gradient check incl. x0 through every layer', () => {
  const be = naiveBackend();
  const dim = 6;
  const cn = new CrossNetwork(be, dim, 3, { seed: 1, id: 9 });
  // init: w ~ N(0, 0.01²), b = 0
  for (const w of cn.w) for (const v of w.value) assert.ok(Math.abs(v) < 0.06);
  for (const b of cn.b) assert.ok(b.value.every((v) => v === 0));
  // larger params so the x0 factor paths carry weight in the check
  cn.w.forEach((w, l) => w.value.set(randn(dim, 20 + l, 0.5)));
  cn.b.forEach((b, l) => b.value.set(randn(dim, 30 + l, 0.3)));
  const B = 5;
  const x0 = randn(B * dim, 40);
  const y = cn.forward(x0, B, true);
  for (let i = 0; i < B; i++) {
    let xl = Array.from(x0.subarray(i * dim, (i + 1) * dim), Number);
    const x0r = xl.slice();
    for (let l = 0; l < 3; l++) {
      const s = xl.reduce((a, v, j) => a + v * cn.w[l].value[j], 0);
      xl = xl.map((v, j) => x0r[j] * s + cn.b[l].value[j] + v);
    }
    for (let j = 0; j < dim; j++) assert.ok(Math.abs(y[i * dim + j] - xl[j]) < 1e-4 * (1 + Math.abs(xl[j])));
  }
  const r = gradCheck(cn, { batch: B, x: x0 });
  expectGrad('CrossNetwork', r);
  assert.deepEqual(Object.keys(r.perTensor).sort(), ['b.0', 'b.1', 'b.2', 'input', 'w.0', 'w.1', 'w.2']);
});

test('CrossNetwork without parameter gradients: the same dx0, weight gradients untouched', () => {
  const be = naiveBackend();
  const dim = 6, B = 5;
  const cn = new CrossNetwork(be, dim, 3, { seed: 1, id: 9 });
  const x0 = randn(B * dim, 41);
  const dy = randn(B * dim, 42);
  cn.forward(x0, B, true);
  const full = cn.backward(dy, B).slice();
  const grads = cn.params().map((p) => p.grad.slice());
  cn.setParamGrads(false);
  for (const p of cn.params()) p.grad.fill(7);
  cn.forward(x0, B, true);
  assert.deepEqual(cn.backward(dy, B), full);
  for (const p of cn.params()) assert.ok(p.grad.every((v) => v === 7), `${p.name} was written`);
  cn.setParamGrads(true);
  cn.forward(x0, B, true);
  cn.backward(dy, B);
  cn.params().forEach((p, i) => assert.deepEqual(p.grad, grads[i]));
});

test('CrossNetworkV2 (3 layers): gradient check', () => {
  const be = naiveBackend();
  const cn = new CrossNetworkV2(be, 5, 3, { seed: 2, id: 4 });
  const r = gradCheck(cn, { batch: 4 });
  expectGrad('CrossNetworkV2', r);
  assert.equal(Object.keys(r.perTensor).length, 7);
});

test('FM: forward equals Σ_{i<j} <v_i, v_j>; gradient check', () => {
  const be = naiveBackend();
  const F = 5;
  const d = 3;
  const fm = new FM(be, F, d);
  const B = 4;
  const x = randn(B * F * d, 50);
  const y = fm.forward(x, B, true);
  for (let r = 0; r < B; r++) {
    let s = 0;
    for (let i = 0; i < F; i++)
      for (let j = i + 1; j < F; j++)
        for (let k = 0; k < d; k++) s += x[r * F * d + i * d + k] * x[r * F * d + j * d + k];
    assert.ok(Math.abs(y[r] - s) < 1e-4 * (1 + Math.abs(s)));
  }
  expectGrad('FM', gradCheck(fm, { batch: B, x }));
  expectGrad('BiInteraction', gradCheck(new BiInteraction(be, F, d), { batch: B, x }));
});

test('InnerProduct: pair order and gradient check', () => {
  const be = naiveBackend();
  const F = 4;
  const d = 3;
  const ip = new InnerProduct(be, F, d);
  assert.equal(ip.outDim, 6);
  const x = randn(2 * F * d, 60);
  const y = ip.forward(x, 2, true);
  let p = 0;
  for (let i = 0; i < F; i++)
    for (let j = i + 1; j < F; j++, p++) {
      let s = 0;
      for (let k = 0; k < d; k++) s += x[F * d + i * d + k] * x[F * d + j * d + k];
      assert.ok(Math.abs(y[6 + p] - s) < 1e-5);
    }
  expectGrad('InnerProduct', gradCheck(ip, { batch: 3 }));
});

test('BCE with logits: stable values and gradient = (σ(z) − y)/B', () => {
  const loss = new BCEWithLogitsLoss(naiveBackend());
  const z = new Float32Array([0, 100, -100, 3.5, -2, 0.25]);
  const y = new Float32Array([1, 0, 1, 1, 0, 1]);
  const B = z.length;
  const L = loss.forward(z, y, B);
  const ref =
    [Math.log(2), 100, 100, Math.log1p(Math.exp(-3.5)), Math.log1p(Math.exp(-2)), Math.log1p(Math.exp(-0.25))].reduce((a, b) => a + b) / B;
  assert.ok(Number.isFinite(L));
  assert.ok(Math.abs(L - ref) < 1e-9, `${L} vs ${ref}`);
  const g = loss.backward();
  for (let i = 0; i < B; i++) assert.ok(Math.abs(g[i] - (sigmoid(z[i]) - y[i]) / B) < 1e-7);
  assert.equal(sigmoid(-1000), 0);
  assert.equal(sigmoid(1000), 1);
  // finite differences (moderate logits)
  const zz = new Float32Array([0.3, -1.2, 2.0, -0.4, 1.1]);
  const yy = new Float32Array([1, 0, 0, 1, 1]);
  loss.forward(zz, yy, 5);
  const analytic = loss.backward().slice();
  const r: GradCheckResult = { maxRelErr: 0, worst: null, perTensor: {}, checked: 0 };
  compareGrad(() => meanBceWithLogits(zz, yy, 5), zz, analytic, 'logits', r, { eps: 1e-3 });
  expectGrad('BCE', r);
});

test('MLP stack (Linear → BN → ReLU → Dropout ×2, then Linear): gradient check', () => {
  const be = naiveBackend();
  const tower = buildMlp(be, 8, [12, 6], { seed: 3, idBase: 10, dropout: 0.2 });
  const head = new Linear(be, 6, 1, { seed: 3, id: 20 });
  const net = new Sequential([tower, head]);
  net.setStep(7);
  // eps 1e-3: larger steps cross ReLU kinks (every input moves every BN-normalised unit), smaller
  // ones drown in float32 roundoff; hence the looser 1e-2 tolerance (a wrong gradient is O(1)).
  const r = gradCheck(net, { batch: 16, eps: 1e-3 });
  expectGrad('MLP', r, 1e-2);
  const names = net.params().map((p) => p.name);
  assert.deepEqual(names, [
    '0.0.weight', '0.0.bias', '0.1.weight', '0.1.bias',
    '0.4.weight', '0.4.bias', '0.5.weight', '0.5.bias',
    '1.weight', '1.bias',
  ]);
  assert.deepEqual(
    net.buffers().map((b) => b.name),
    ['0.1.running_mean', '0.1.running_var', '0.5.running_mean', '0.5.running_var'],
  );
  // order as torch_ref: Linear, BatchNorm1d, ReLU (, Dropout)
  assert.deepEqual(tower.layers.map((l) => l.constructor.name), ['Linear', 'BatchNorm1d', 'ReLU', 'Dropout', 'Linear', 'BatchNorm1d', 'ReLU', 'Dropout']);
  assert.deepEqual(buildMlp(be, 8, [4], { batchNorm: false }).layers.map((l) => l.constructor.name), ['Linear', 'ReLU']);
});

test('Concat: forward joins row blocks, backward splits', () => {
  const be = naiveBackend();
  const c = new Concat(be, [2, 1, 3]);
  const a = new Float32Array([1, 2, 3, 4]);
  const b = new Float32Array([9, 8]);
  const d = new Float32Array([5, 6, 7, 10, 11, 12]);
  assert.deepEqual(Array.from(c.forward([a, b, d], 2)), [1, 2, 9, 5, 6, 7, 3, 4, 8, 10, 11, 12]);
  const [ga, gb, gd] = c.backward(new Float32Array([1, 2, 9, 5, 6, 7, 3, 4, 8, 10, 11, 12]), 2);
  assert.deepEqual(ga, a);
  assert.deepEqual(gb, b);
  assert.deepEqual(gd, d);
});

function refAdam(
  p0: number[],
  grads: number[][],
  o: { lr: number; b1: number; b2: number; eps: number; wd: number; decoupled: boolean },
): number[] {
  const p = p0.slice();
  const m = p.map(() => 0);
  const v = p.map(() => 0);
  grads.forEach((g, s) => {
    const t = s + 1;
    for (let i = 0; i < p.length; i++) {
      let gi = g[i];
      if (o.wd && !o.decoupled) gi += o.wd * p[i];
      if (o.wd && o.decoupled) p[i] *= 1 - o.lr * o.wd;
      m[i] = o.b1 * m[i] + (1 - o.b1) * gi;
      v[i] = o.b2 * v[i] + (1 - o.b2) * gi * gi;
      const mh = m[i] / (1 - o.b1 ** t);
      const vh = v[i] / (1 - o.b2 ** t);
      p[i] -= (o.lr * mh) / (Math.sqrt(vh) + o.eps);
    }
  });
  return p;
}

function mkParam(name: string, vals: number[], decay: boolean): Param {
  return { name, value: new Float32Array(vals), grad: new Float32Array(vals.length), decay };
}

test('Adam: matches a hand computation of torch semantics (plain, L2, AdamW), and state round-trips', () => {
  const grads = [
    [0.5, -1, 2e-3],
    [0.1, -0.3, -4],
    [-0.2, 0.05, 0],
    [1, 1, 1],
  ];
  const p0 = [0.3, -0.7, 1.5];
  for (const cfg of [
    { wd: 0, decoupled: false },
    { wd: 0.1, decoupled: false },
    { wd: 0.1, decoupled: true },
  ]) {
    const w = mkParam('w', p0, true);
    const b = mkParam('b', p0, false); // decay=false → no weight decay
    const opt = new Adam([w, b], { lr: 0.01, weightDecay: cfg.wd, decoupled: cfg.decoupled });
    for (const g of grads) {
      w.grad.set(g);
      b.grad.set(g);
      opt.step();
    }
    const o = { lr: 0.01, b1: 0.9, b2: 0.999, eps: 1e-8, ...cfg };
    const ew = refAdam(p0, grads, o);
    const eb = refAdam(p0, grads, { ...o, wd: 0 });
    for (let i = 0; i < 3; i++) {
      assert.ok(Math.abs(w.value[i] - ew[i]) < 1e-6, `${JSON.stringify(cfg)} w[${i}] ${w.value[i]} vs ${ew[i]}`);
      assert.ok(Math.abs(b.value[i] - eb[i]) < 1e-6, `${JSON.stringify(cfg)} b[${i}]`);
    }
    assert.equal(opt.steps, 4);
  }
  // first step of Adam moves each coordinate by ≈ lr·sign(g)
  const q = mkParam('q', [0, 0], true);
  q.grad.set([3, -1e-3]);
  new Adam([q], { lr: 0.1 }).step();
  assert.ok(Math.abs(q.value[0] + 0.1) < 1e-6 && Math.abs(q.value[1] - 0.1) < 1e-4);

  // checkpoint: run 2 steps, save, continue 2 steps; versus restore into a fresh optimizer
  const a = mkParam('a', p0, true);
  const optA = new Adam([a], { lr: 0.01 });
  for (const g of grads.slice(0, 2)) {
    a.grad.set(g);
    optA.step();
  }
  const saved = optA.state();
  const savedValue = a.value.slice();
  assert.deepEqual(Object.keys(saved).sort(), ['a.exp_avg', 'a.exp_avg_sq', 'step']);
  for (const g of grads.slice(2)) {
    a.grad.set(g);
    optA.step();
  }
  const a2 = mkParam('a', Array.from(savedValue), true);
  const optB = new Adam([a2], { lr: 0.01 });
  optB.load(saved);
  for (const g of grads.slice(2)) {
    a2.grad.set(g);
    optB.step();
  }
  assert.deepEqual(a2.value, a.value);
});

test('SGD: plain and momentum match torch semantics', () => {
  const p = mkParam('p', [1, -2], true);
  const opt = new SGD([p], { lr: 0.1, momentum: 0.9 });
  const grads = [
    [1, 2],
    [0.5, -1],
    [0, 3],
  ];
  const ref = [1, -2];
  const buf = [0, 0];
  grads.forEach((g, s) => {
    p.grad.set(g);
    opt.step();
    for (let i = 0; i < 2; i++) {
      buf[i] = s === 0 ? g[i] : 0.9 * buf[i] + g[i];
      ref[i] -= 0.1 * buf[i];
    }
  });
  for (let i = 0; i < 2; i++) assert.ok(Math.abs(p.value[i] - ref[i]) < 1e-6);
  const s = opt.state();
  assert.ok(s['p.momentum_buffer']);
  const q = mkParam('q', [1], false);
  q.grad.set([2]);
  new SGD([q], { lr: 0.5, weightDecay: 1 }).step(); // decay=false: ignored
  assert.ok(Math.abs(q.value[0] - 0) < 1e-7);
});

test('buffers are reused: same object for the same batch size, no allocation per step', () => {
  const be = naiveBackend();
  const layers: Layer[] = [
    new Linear(be, 6, 4, { id: 1 }),
    new ReLU(be, 6),
    new BatchNorm1d(be, 6),
    new Dropout(be, 6, 0.5, { id: 2 }),
    new CrossNetwork(be, 6, 2),
    new CrossNetworkV2(be, 6, 2),
    new FM(be, 3, 2),
    new BiInteraction(be, 3, 2),
    new InnerProduct(be, 3, 2),
    buildMlp(be, 6, [5, 4], { dropout: 0.1 }),
  ];
  for (const l of layers) {
    const x = randn(8 * l.inDim, 3);
    const y1 = l.forward(x, 8, true);
    const dx1 = l.backward(new Float32Array(8 * l.outDim).fill(0.1), 8);
    const allocs = be.allocs;
    const y2 = l.forward(x, 8, true);
    const dx2 = l.backward(new Float32Array(8 * l.outDim).fill(0.2), 8);
    const name = l.constructor.name;
    assert.equal(y2, y1, `${name}: forward buffer reused`);
    assert.equal(dx2, dx1, `${name}: backward buffer reused`);
    assert.equal(y1.length, 8 * l.outDim, `${name}: exact-length output`);
    // smaller batch: no allocation; back to the larger: no allocation, same object again
    l.forward(x, 3, true);
    l.backward(new Float32Array(3 * l.outDim), 3);
    const y3 = l.forward(x, 8, true);
    l.backward(new Float32Array(8 * l.outDim), 8);
    assert.equal(be.allocs, allocs, `${name}: no allocations after the largest batch`);
    assert.equal(y3.length, 8 * l.outDim);
    // growing allocates
    const big = randn(20 * l.inDim, 4);
    assert.equal(l.forward(big, 20, true).length, 20 * l.outDim);
  }
});

// Seed 2 is a draw whose finite-difference steps cross no ReLU kink at eps = 1e-3 (with other
// seeds a few entries sit within eps of a kink; their error then shrinks with eps, as it should).
function dcnHead(be: Backend, F: number, d: number, opts: { dropout?: number } = {}): Sequential {
  const w = F * d;
  const tower = buildMlp(be, w, [7, 5], { seed: 2, idBase: 0, dropout: opts.dropout });
  const cross = new CrossNetwork(be, w, 3, { seed: 1, id: 100 });
  cross.w.forEach((p, l) => p.value.set(randn(w, 200 + l, 0.3)));
  const par = new Parallel(be, [tower, cross]);
  return new Sequential([par, new Linear(be, par.outDim, 1, { seed: 1, id: 200 })]);
}

test('Parallel: DCN head [MLP ‖ CrossNet] → Linear: gradient check, names, buffers, running-stat switch', () => {
  const be = naiveBackend();
  const net = dcnHead(be, 3, 2);
  assert.equal(net.outDim, 1);
  assert.equal((net.layers[0] as Parallel).outDim, 5 + 6);
  const r = gradCheck(net, { batch: 12, eps: 1e-3 });
  expectGrad('DCN head', r, 1e-2);
  const names = net.params().map((p) => p.name);
  assert.ok(names.includes('0.0.0.weight') && names.includes('0.1.w.2') && names.includes('1.bias'), names.join(','));
  assert.deepEqual(
    net.buffers().map((b) => b.name),
    ['0.0.1.running_mean', '0.0.1.running_var', '0.0.4.running_mean', '0.0.4.running_var'],
  );
  const bn = (net.layers[0] as Parallel).branches[0] as Sequential;
  net.setTrackRunningStats(false);
  assert.equal((bn.layers[1] as BatchNorm1d).trackRunningStats, false);
  const before = (bn.layers[1] as BatchNorm1d).runningMean.slice();
  net.forward(randn(4 * 6, 9), 4, true);
  assert.deepEqual((bn.layers[1] as BatchNorm1d).runningMean, before);
  net.setTrackRunningStats(true);
  net.forward(randn(4 * 6, 9), 4, true);
  assert.notDeepEqual((bn.layers[1] as BatchNorm1d).runningMean, before);
});

test('Parallel: IPNN input [x0 ‖ inner products]: gradient check', () => {
  const be = naiveBackend();
  const par = new Parallel(be, [new Identity(4 * 3), new InnerProduct(be, 4, 3)]);
  assert.equal(par.outDim, 12 + 6);
  expectGrad('IPNN input', gradCheck(par, { batch: 5 }));
});

test('with the project JS backend (if present): Linear, CrossV2, DCN head gradient checks', async (t) => {
  let create: (() => Backend) | undefined;
  try {
    const spec = '../src/kernels/js.js';
    create = ((await import(spec)) as { createJsBackend?: () => Backend }).createJsBackend;
  } catch {
    create = undefined;
  }
  if (!create) {
    t.skip('src/kernels/js.ts not available');
    return;
  }
  const be = create();
  expectGrad('Linear/js', gradCheck(new Linear(be, 9, 4, { id: 3 }), { batch: 7 }));
  expectGrad('CrossV2/js', gradCheck(new CrossNetworkV2(be, 6, 2, { id: 4 }), { batch: 5 }));
  expectGrad('DCN head/js', gradCheck(dcnHead(be, 3, 2), { batch: 12, eps: 1e-3 }), 1e-2);
  be.dispose();
});
