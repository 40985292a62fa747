// One ALPT step and one LSQ step of a tiny DCN against an independent reference: PyTorch running
// ../shared/peers/torch_ref.py's own model, optimizers and train_step, dumped tensor by tensor into
// test/fixtures/alpt-step-reference.json by scripts/make-reference.py (docs/reliability.md).
// alpt is set up with exactly the reference's starting weights and optimizer states, StepRunner.train
// runs once, and every intermediate tensor is compared: loss, dense gradients, the rows' summed
// gradients, the staged float rows, the fake-quantized rows, ∂L/∂Q and ∂L/∂Δ of the second pass,
// the new Δ, the new dense weights, BatchNorm's running statistics; the stochastically written-back
// codes must be floor or ceil of staged/Δ_new. On the TypeScript (js) and the wasm backend.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createBackend } from '../src/kernels/index.js';
import type { Backend } from '../src/kernels/backend.js';
import { buildModel } from '../src/models/registry.js';
import { createTable } from '../src/embedding/factory.js';
import type { AlptTable } from '../src/embedding/quantized-table.js';
import type { LsqTable } from '../src/embedding/lsq-table.js';
import { Adam } from '../src/nn/optim.js';
import { StepRunner } from '../src/train/step.js';
import { packRow, rowBytes, unpackRow } from '../src/quant/pack.js';
import { qHigh, qLow } from '../src/quant/round.js';
import { lsqBackward, lsqGradScale } from '../src/quant/lsq.js';

type Num = number[];
interface Case {
  method: 'alpt' | 'lsq';
  bits: number;
  step: number;
  lr: number;
  lrStep: number;
  ids: number[];
  labels: number[];
  initial: {
    embM: Num; embV: Num; stepM: Num; stepV: Num; initStep: number;
    codes?: number[]; steps?: Num; master?: Num; tableStep?: Num;
  };
  expected: {
    loss: number; denseGrad: Record<string, Num>; dense: Record<string, Num>; runningMean: Num; runningVar: Num;
    rows: number[]; rowGrad: Num[]; q: Num[]; dq: Num[];
    staged?: Num[]; dDelta?: Num; dDeltaFirstPass?: Num; steps?: Num; codes?: number[][];
    master?: Num[]; dTableStep?: number; tableStep?: Num;
  };
}
interface Fixture {
  model: { fields: number; rows: number; dim: number; mlp: number[]; crossLayers: number; batchNorm: boolean };
  batch: number;
  untouchedRow: number;
  denseStep: number;
  initialDense: { weights: Record<string, Num>; adamM: Record<string, Num>; adamV: Record<string, Num>; runningMean: Num; runningVar: Num };
  cases: Case[];
}

const fx = JSON.parse(readFileSync(new URL('../../test/fixtures/alpt-step-reference.json', import.meta.url), 'utf8')) as Fixture;
const { fields: F, rows: ROWS, dim: D } = fx.model;

/** torch_ref's parameter names → alpt's (src/models/dcn.ts: head = [[MLP ‖ Cross] → Linear]). */
const PARAM: Record<string, string> = {
  'mlp.0.weight': 'head.0.0.0.weight', 'mlp.0.bias': 'head.0.0.0.bias',
  'mlp.1.weight': 'head.0.0.1.weight', 'mlp.1.bias': 'head.0.0.1.bias',
  'cross_w.0': 'head.0.1.w.0', 'cross_b.0': 'head.0.1.b.0',
  'out.weight': 'head.1.weight', 'out.bias': 'head.1.bias',
};
const RUNNING_MEAN = 'head.0.0.1.running_mean';
const RUNNING_VAR = 'head.0.0.1.running_var';

// Tolerances. Both sides compute in float32 but sum in different orders (GEMM blocking, the
// scatter-add of repeated ids, BatchNorm statistics in float64 here and float32 in torch), and
// Adam's division happens in float64 here: each op is good to ~n·2^-24 ≈ 1e-6 relative for the
// n ≤ 24 terms summed here, and one step chains two forward/backward passes through that. 1e-5
// relative leaves a margin of ~10 over what is observed (a few 1e-7) and is still ~100× tighter
// than the difference a wrong second-pass gradient makes (asserted below from the fixture itself).
// The absolute floor, the same 1e-5 times the largest magnitude of the tensor group, covers
// elements that are sums cancelling to ~0 (the bias before BatchNorm has a gradient of exactly 0
// in exact arithmetic: both sides produce rounding noise there).
const RTOL = 1e-5;
/** Loss: one sum of 8 log-terms, far from cancellation. */
const LOSS_RTOL = 1e-6;
/** Codes are compared with staged/Δ_new: the reference's value ±1e-4 covers float noise (the fixture's values are ≥0.01 from an integer). */
const CODE_SLACK = 1e-4;

function maxAbs(...xs: ArrayLike<number>[]): number {
  let m = 0;
  for (const x of xs) for (let i = 0; i < x.length; i++) m = Math.max(m, Math.abs(x[i]));
  return m;
}

/** |a−e| ≤ RTOL·|e| + RTOL·scale, elementwise; scale defaults to max|e|. Returns the worst ratio err/tol. */
function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, what: string, scale = maxAbs(expected), rtol = RTOL): number {
  assert.equal(actual.length, expected.length, `${what}: length`);
  let worst = 0;
  for (let i = 0; i < expected.length; i++) {
    const err = Math.abs(actual[i] - expected[i]);
    const tol = rtol * Math.abs(expected[i]) + rtol * scale;
    assert.ok(err <= tol, `${what}[${i}]: alpt ${actual[i]} vs torch ${expected[i]} (|diff| ${err.toExponential(2)} > tol ${tol.toExponential(2)})`);
    worst = Math.max(worst, err / tol);
  }
  return worst;
}

function f32(xs: Num): Float32Array {
  return Float32Array.from(xs);
}

function copy(x: Float32Array): Float32Array {
  return Float32Array.from(x);
}

interface Setup {
  runner: StepRunner;
  model: ReturnType<typeof buildModel>;
  table: AlptTable | LsqTable;
  dense: Adam;
}

/** alpt's DCN, table and optimizers holding exactly the fixture's starting state. */
function setUp(c: Case, backend: Backend): Setup {
  const model = buildModel('dcn', {
    backend, numFields: F, dim: D, mlp: fx.model.mlp, crossLayers: fx.model.crossLayers, batchNorm: fx.model.batchNorm, dropout: 0, seed: 1,
  });
  const table = createTable({
    method: c.method, rows: ROWS, dim: D, bits: c.bits, seed: 1, optimizer: { name: 'adam', lr: c.lr },
    stepLr: c.lrStep, stepLrScale: 'absolute', stepOptimizer: 'adam', backend, // torch_ref: absolute --lr-step
  }) as AlptTable | LsqTable;
  const init = c.initial;
  const state: Record<string, ArrayBufferView> = {
    initStep: Float64Array.of(init.initStep),
    'opt.m': f32(init.embM), 'opt.v': f32(init.embV), 'stepOpt.m': f32(init.stepM), 'stepOpt.v': f32(init.stepV),
  };
  if (c.method === 'alpt') {
    const rb = rowBytes(D, c.bits);
    const codes = new Uint8Array(ROWS * rb);
    for (let r = 0; r < ROWS; r++) packRow(init.codes!, r * D, D, c.bits, codes, r * rb);
    state.codes = codes;
    state.steps = f32(init.steps!);
  } else {
    state.master = f32(init.master!);
    state.steps = f32(init.tableStep!);
  }
  table.load(state);

  const params = new Map(model.params().map((p) => [p.name, p]));
  assert.equal(params.size, Object.keys(PARAM).length);
  const adamState: Record<string, ArrayBufferView> = { step: Float32Array.of(fx.denseStep) };
  for (const [tn, an] of Object.entries(PARAM)) {
    const p = params.get(an);
    assert.ok(p, `alpt has no parameter ${an}`);
    assert.equal(p.value.length, fx.initialDense.weights[tn].length, `${an} size`);
    p.value.set(fx.initialDense.weights[tn]);
    adamState[`${an}.exp_avg`] = f32(fx.initialDense.adamM[tn]);
    adamState[`${an}.exp_avg_sq`] = f32(fx.initialDense.adamV[tn]);
  }
  const buffers = model.buffers();
  buffers[RUNNING_MEAN].set(fx.initialDense.runningMean);
  buffers[RUNNING_VAR].set(fx.initialDense.runningVar);
  const dense = new Adam(model.params(), { lr: c.lr, backend });
  dense.load(adamState);
  const runner = new StepRunner(backend, model, { main: table }, dense, F);
  return { runner, model, table, dense };
}

/** Dense gradients of the first pass, taken when the dense optimizer steps. */
function recordDenseGrads(s: Setup): Map<string, Float32Array> {
  const grads = new Map<string, Float32Array>();
  const step = s.dense.step.bind(s.dense);
  s.dense.step = () => {
    for (const p of s.model.params()) grads.set(p.name, copy(p.grad));
    step();
  };
  return grads;
}

/**
 * The bias of the Linear before BatchNorm (mlp.0.bias) is a dead parameter: BatchNorm subtracts the
 * batch mean, so its gradient is exactly 0 and both sides produce float32 rounding noise there
 * (~1e-5 of the other gradients: it is a sum of B terms of size |dy|·γ/σ that cancel). Adam, which
 * divides by √v, turns that noise into steps of ±lr, different on each side. So: its gradient must
 * be noise-sized, its new value is not compared, and BatchNorm's running mean, which the second
 * (ALPT) forward takes with the new bias, is compared minus momentum·(new bias).
 */
const DEAD_BIAS = 'mlp.0.bias';
const BN_MOMENTUM = 0.1;

function checkDense(s: Setup, c: Case, grads: Map<string, Float32Array>, what: string): void {
  const e = c.expected;
  const gScale = maxAbs(...Object.values(e.denseGrad));
  const params = new Map(s.model.params().map((p) => [p.name, p]));
  for (const [tn, an] of Object.entries(PARAM)) {
    if (tn === DEAD_BIAS) {
      assert.ok(maxAbs(grads.get(an)!) <= 1e-4 * gScale, `${what}: ${tn} gradient ${maxAbs(grads.get(an)!)} is not rounding noise`);
      continue;
    }
    assertClose(grads.get(an)!, e.denseGrad[tn], `${what} dense gradient ${tn}`, gScale);
    assertClose(params.get(an)!.value, e.dense[tn], `${what} new ${tn}`);
  }
  const b = s.model.buffers();
  assertClose(b[RUNNING_VAR], e.runningVar, `${what} BatchNorm running var`);
  let mean = b[RUNNING_MEAN], meanRef = e.runningMean;
  if (c.method === 'alpt') {
    const bias = params.get(PARAM[DEAD_BIAS])!.value, biasRef = e.dense[DEAD_BIAS];
    mean = mean.map((m, j) => m - BN_MOMENTUM * bias[j]);
    meanRef = meanRef.map((m, j) => m - BN_MOMENTUM * biasRef[j]);
  }
  assertClose(mean, meanRef, `${what} BatchNorm running mean`);
}

/** Rows of a per-unique-row buffer [count×dim] (alpt's first-seen order) in the fixture's (sorted) order. */
function byRow(rows: Int32Array, buf: Float32Array, wanted: number[], what: string): Float32Array[] {
  const at = new Map<number, number>();
  rows.forEach((r, i) => at.set(r, i));
  return wanted.map((r) => {
    const i = at.get(r);
    assert.ok(i !== undefined, `${what}: row ${r} missing`);
    return buf.slice(i * D, (i + 1) * D);
  });
}

function runAlpt(c: Case, backend: Backend, what: string): void {
  const s = setUp(c, backend);
  const t = s.table as AlptTable;
  const e = c.expected;
  const lo = qLow(c.bits), hi = qHigh(c.bits);
  const rb = rowBytes(D, c.bits);
  const grads = recordDenseGrads(s);
  const codes0 = Uint8Array.from(t.codes);
  const untouched = fx.untouchedRow;
  const rec: {
    rows?: Int32Array; rowGrad?: Float32Array; staged?: Float32Array; q?: Float32Array;
    dq?: Float32Array; stepsBefore?: Float32Array;
  } = {};
  // Record each phase's tensors as StepRunner.updateMain hands them over (the phases themselves run unchanged).
  const stage = t.stageUpdate.bind(t);
  t.stageUpdate = (rows, count, g, step) => {
    rec.rows = rows.slice(0, count);
    rec.rowGrad = g.slice(0, count * D);
    stage(rows, count, g, step);
    rec.staged = copy(t.stagedView().weights);
    assert.deepEqual(Array.from(t.stagedView().rows), Array.from(rec.rows));
  };
  const fake = t.fakeQuantizeStaged.bind(t);
  t.fakeQuantizeStaged = (out) => {
    fake(out);
    rec.q = out.slice(0, t.staged * D);
  };
  const stepsWb = t.updateStepSizesAndWriteBack.bind(t);
  t.updateStepSizesAndWriteBack = (dq, step) => {
    rec.dq = dq.slice(0, t.staged * D);
    rec.stepsBefore = Float32Array.from(t.stepSizes.array as Float32Array);
    stepsWb(dq, step);
  };

  const loss = s.runner.train(Int32Array.from(c.ids), f32(c.labels), c.ids.length / F, c.step);

  assertClose([loss], [e.loss], `${what} loss`, 0, LOSS_RTOL);
  checkDense(s, c, grads, what);
  assert.ok(rec.rows && rec.staged && rec.q && rec.dq && rec.stepsBefore, `${what}: a phase of the ALPT step did not run`);
  assert.deepEqual(Array.from(rec.rows).sort((a, b) => a - b), e.rows, `${what}: touched rows`);
  const rows = rec.rows;
  const rowGrad = byRow(rows, rec.rowGrad!, e.rows, 'row gradients');
  const staged = byRow(rows, rec.staged, e.rows, 'staged');
  const q = byRow(rows, rec.q, e.rows, 'fake-quantized');
  const dq = byRow(rows, rec.dq, e.rows, 'dL/dQ');
  const gScale = maxAbs(...e.rowGrad), sScale = maxAbs(...e.staged!), dqScale = maxAbs(...e.dq);
  const dsScale = maxAbs(e.dDelta!);
  const gscale = lsqGradScale(D, c.bits);
  const steps = t.stepSizes.array as Float32Array;
  e.rows.forEach((r, i) => {
    const w = `${what} row ${r}`;
    assertClose(rowGrad[i], e.rowGrad[i], `${w} first-pass gradient`, gScale);
    assertClose(staged[i], e.staged![i], `${w} staged (after SparseAdam)`, sScale);
    assertClose(q[i], e.q[i], `${w} fake-quantized Q(w)`, sScale);
    assertClose(dq[i], e.dq[i], `${w} second-pass dL/dQ`, dqScale);
    const ds = lsqBackward(staged[i], 0, dq[i], 0, D, rec.stepsBefore![r], lo, hi, null, 0) * gscale;
    assertClose([ds], [e.dDelta![i]], `${w} dL/dΔ`, dsScale);
    assertClose([steps[r]], [e.steps![i]], `${w} new Δ`);
    // stochastic write-back: each code is floor or ceil of staged/Δ_new (clipped to the grid)
    const got = new Int32Array(D);
    unpackRow(t.codes, r * rb, D, c.bits, got, 0);
    for (let k = 0; k < D; k++) {
      const x = e.staged![i][k] / e.steps![i];
      const a = Math.min(hi, Math.max(lo, Math.floor(x - CODE_SLACK)));
      const b = Math.min(hi, Math.max(lo, Math.ceil(x + CODE_SLACK)));
      assert.ok(got[k] >= a && got[k] <= b, `${w} code ${k}: ${got[k]} not in [${a}, ${b}] (staged/Δ_new = ${x})`);
    }
  });
  // a row outside the batch keeps its codes and Δ
  assert.deepEqual(t.codes.subarray(untouched * rb, (untouched + 1) * rb), codes0.subarray(untouched * rb, (untouched + 1) * rb));
  assert.equal(steps[untouched], Math.fround(c.initial.steps![untouched]));
}

function runLsq(c: Case, backend: Backend, what: string): void {
  const s = setUp(c, backend);
  const t = s.table as LsqTable;
  const e = c.expected;
  const lo = qLow(c.bits), hi = qHigh(c.bits);
  const grads = recordDenseGrads(s);
  const rec: { rows?: Int32Array; q?: Float32Array; dq?: Float32Array } = {};
  const update = t.update.bind(t);
  t.update = (rows, count, g, step) => {
    rec.rows = rows.slice(0, count);
    rec.q = s.runner.mainLookup.vectors.slice(0, count * D); // the forward's gathered Q(w)
    rec.dq = g.slice(0, count * D);
    update(rows, count, g, step);
  };
  const loss = s.runner.train(Int32Array.from(c.ids), f32(c.labels), c.ids.length / F, c.step);
  assertClose([loss], [e.loss], `${what} loss`, 0, LOSS_RTOL);
  checkDense(s, c, grads, what);
  assert.ok(rec.rows, `${what}: the table was not updated`);
  assert.deepEqual(Array.from(rec.rows).sort((a, b) => a - b), e.rows);
  const q = byRow(rec.rows, rec.q!, e.rows, 'Q(w)');
  const dq = byRow(rec.rows, rec.dq!, e.rows, 'dL/dQ');
  const t0 = c.initial.tableStep![0];
  const delta = Math.abs(t0) + 1e-10;
  const sScale = maxAbs(...e.master!), dqScale = maxAbs(...e.dq);
  let ds = 0;
  e.rows.forEach((r, i) => {
    const w = `${what} row ${r}`;
    assertClose(q[i], e.q[i], `${w} Q(w)`, sScale);
    assertClose(dq[i], e.dq[i], `${w} dL/dQ`, dqScale);
    assertClose(t.master.subarray(r * D, (r + 1) * D), e.master![i], `${w} new master weights`, sScale);
    ds += lsqBackward(f32(c.initial.master!.slice(r * D, (r + 1) * D)), 0, dq[i], 0, D, delta, lo, hi, null, 0);
  });
  ds *= lsqGradScale(ROWS * D, c.bits) * Math.sign(t0);
  assertClose([ds], [e.dTableStep!], `${what} dL/dΔ (table)`);
  assertClose(t.stepSizes, e.tableStep!, `${what} new table step`);
  const u = fx.untouchedRow;
  assert.deepEqual(Array.from(t.master.subarray(u * D, (u + 1) * D)), Array.from(f32(c.initial.master!.slice(u * D, (u + 1) * D))));
}

test('the fixture can tell a second-pass gradient from a first-pass one, and Δ moves', () => {
  for (const c of fx.cases.filter((k) => k.method === 'alpt')) {
    const e = c.expected;
    const scale = maxAbs(e.dDelta!);
    const gap = Math.max(...e.dDelta!.map((v, i) => Math.abs(v - e.dDeltaFirstPass![i]) / (RTOL * (Math.abs(v) + scale))));
    assert.ok(gap > 100, `${c.bits}-bit: first-pass dL/dΔ is only ${gap.toFixed(1)} tolerances away`);
    const moved = Math.max(...e.rows.map((r, i) => Math.abs(e.steps![i] - c.initial.steps![r]) / (RTOL * e.steps![i])));
    assert.ok(moved > 100, `${c.bits}-bit: Δ moved only ${moved.toFixed(1)} tolerances`);
  }
});

for (const kind of ['js', 'wasm'] as const) {
  for (const c of fx.cases) {
    test(`${c.method} ${c.bits}-bit DCN step ≡ torch_ref (${kind} backend)`, async () => {
      const backend = await createBackend({ kind, threads: 1 });
      try {
        if (c.method === 'alpt') runAlpt(c, backend, `${c.method}-${c.bits} ${kind}`);
        else runLsq(c, backend, `${c.method}-${c.bits} ${kind}`);
      } finally {
        backend.dispose();
      }
    });
  }
}
