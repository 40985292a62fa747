#!/usr/bin/env python3
"""Reference tensors for one ALPT step and one LSQ step of a tiny DCN, computed by torch_ref.py.

The way llm.c checks each tensor against a PyTorch dump: this script builds torch_ref's own model
(Net), optimizers (make_optimizers) and training step (train_step) -- imported, not re-implemented --
warms them up for two steps so the Adam moments are not at their t=1 values (where an Adam update
is ~lr*sign(g) and hides the gradient's size), then runs ONE more step on a fixed batch and records
every intermediate tensor of that step by wrapping torch_ref's functions and optimizers:

  initial   codes (W/Delta, integers), Delta per row, Delta0, embedding and step SparseAdam moments,
            dense weights, dense Adam moments, BatchNorm running statistics
  step      loss; the dense gradients (first pass); the embedding rows' summed gradients (first
            pass); the staged float rows after SparseAdam; the fake-quantized rows Q(w) of the
            second pass; dL/dQ per row and dL/dDelta per row (second pass); the new Delta; the
            written-back codes; the new dense weights and BatchNorm running statistics.
            dDeltaFirstPass is what dL/dDelta would be if the first pass's row gradients were fed
            to the LSQ backward instead of the second pass's: the test checks it is far from the
            right value, so the comparison can tell the two apart.

Cases: ALPT at 4 and 2 bits (2 bits puts staged values past the clip range, the other branch of
the LSQ gradient), and LSQ (per-table learned step) at 4 bits. DCN: 3 fields, dim 4, mlp [8] with
BatchNorm, 1 cross layer. BatchNorm is on (torch_ref's and alpt's default) because it is what
makes ALPT's second forward differ from a re-run of the first: it normalises with the batch
statistics of the fake-quantized inputs, and it updates the running statistics a second time.

Needs Debian's python3-torch; never needed by `npm test` (the JSON is checked in):
  /usr/bin/python3 scripts/make-reference.py [--torch-ref ../shared/peers/torch_ref.py]
"""
import argparse, importlib.util, json, math, os, sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

p = argparse.ArgumentParser()
p.add_argument('--torch-ref', default=os.environ.get('TORCH_REF', os.path.join(ROOT, '..', 'shared', 'peers', 'torch_ref.py')))
p.add_argument('--out', default=os.path.join(ROOT, 'test', 'fixtures', 'alpt-step-reference.json'))
args = p.parse_args()

spec = importlib.util.spec_from_file_location('torch_ref', args.torch_ref)
tr = importlib.util.module_from_spec(spec)
spec.loader.exec_module(tr)
import torch

torch.set_num_threads(1)

FIELDS, PER_FIELD, DIM, BATCH = 3, 4, 4, 8
ROWS = FIELDS * PER_FIELD
UNTOUCHED = 2 * PER_FIELD + 3          # row never in the reference batch: must stay as it was
LR, LR_STEP = 1e-2, 1e-4               # lr 1e-2 so the rows cross code boundaries in one step
WARMUP = 2


def r9(x):
    """float32 values as JSON numbers with 9 significant digits (round-trips float32 exactly)."""
    return [float('%.9g' % v) for v in x.detach().double().reshape(-1).tolist()]


def make_batch(g, exclude=None):
    ids = torch.arange(FIELDS) * PER_FIELD + torch.randint(0, PER_FIELD, (BATCH, FIELDS), generator=g)
    if exclude is not None:
        ids[ids == exclude] = exclude - 1
    y = (torch.rand(BATCH, generator=g) < 0.5).float()
    y[0], y[1] = 1.0, 0.0
    return ids, y


def coalesced(grad):
    """A sparse embedding gradient as {row: summed values}."""
    g = grad.coalesce()
    return {int(i): v for i, v in zip(g.indices()[0].tolist(), g.values())}


def dense_names(model):
    return [n for n, _ in model.named_parameters() if not n.startswith('emb') and not n.startswith('step') and n != 'table_step']


def run_case(emb, bits, seed, shared_dense):
    a = argparse.Namespace(emb=emb, bits=bits, dim=DIM, mlp='8', cross=1, bn=1, model='dcn', init_std=0.01,
                           lr=LR, lr_step=LR_STEP)
    torch.manual_seed(seed)
    model = tr.Net(a, ROWS, FIELDS)
    opts = tr.make_optimizers(model, a)
    g = torch.Generator().manual_seed(seed + 1)
    for _ in range(WARMUP):
        tr.train_step(model, opts, *make_batch(g), a)
    ids, y = make_batch(g, exclude=UNTOUCHED)
    step = WARMUP + 1
    params = dict(model.named_parameters())
    names = dense_names(model)
    bn = model.mlp[1]
    lo, hi = tr.qrange(bits)

    def adam_state(opt, p):
        s = opt.state[p]
        return s['exp_avg'], s['exp_avg_sq'], int(s['step'])

    # The dense part (weights, Adam moments, BatchNorm running statistics) is shared by all cases:
    # the first case's warmed-up state is copied into the others (it keeps the fixture small).
    for n in names:
        assert adam_state(opts['dense'], params[n])[2] == WARMUP
    if shared_dense is not None:
        with torch.no_grad():
            for n in names:
                params[n].copy_(shared_dense['dense'][n])
                m, v, _ = adam_state(opts['dense'], params[n])
                m.copy_(shared_dense['denseM'][n]); v.copy_(shared_dense['denseV'][n])
            bn.running_mean.copy_(shared_dense['runningMean']); bn.running_var.copy_(shared_dense['runningVar'])
    dense0 = {'dense': {n: params[n].detach().clone() for n in names},
              'denseM': {n: adam_state(opts['dense'], params[n])[0].clone() for n in names},
              'denseV': {n: adam_state(opts['dense'], params[n])[1].clone() for n in names},
              'runningMean': bn.running_mean.clone(), 'runningVar': bn.running_var.clone()}
    init = {}
    W = model.emb.weight.detach().clone()
    em, ev, est = adam_state(opts['emb'], model.emb.weight)
    assert est == WARMUP
    init['embM'], init['embV'] = r9(em), r9(ev)
    if emb == 'alpt':
        S = model.step.weight.detach()
        codes = torch.round(W / S)
        assert torch.equal(codes * S, W), 'the table is not on its codes grid'
        assert codes.min() >= lo and codes.max() <= hi
        sm, sv, sst = adam_state(opts['step'], model.step.weight)
        assert sst == WARMUP
        init.update(codes=[int(c) for c in codes.reshape(-1).tolist()], steps=r9(S), stepM=r9(sm), stepV=r9(sv))
    else:
        sm, sv, sst = adam_state(opts['step'], model.table_step)
        t0 = float(model.table_step)
        init.update(master=r9(W), tableStep=r9(model.table_step), stepM=r9(sm), stepV=r9(sv))
    # Delta0 as torch_ref computes it at construction (the unit of alpt's relative step lr; the
    # reference uses an absolute lr_step, so it only has to be stored)
    torch.manual_seed(seed)
    w0 = torch.empty(ROWS, DIM)
    torch.nn.init.normal_(w0, 0, a.init_std)
    init['initStep'] = 2 * w0.abs().mean().item() / math.sqrt(hi)

    # ---- instrument the reference step
    rec = {}
    dense_step, emb_step, step_step = opts['dense'].step, opts['emb'].step, opts['step'].step

    def dense_wrap(*x, **k):
        if 'denseGrad' not in rec:  # first pass only (the second pass never steps the dense weights)
            rec['denseGrad'] = {n: r9(params[n].grad) for n in names}
        return dense_step(*x, **k)

    def emb_wrap(*x, **k):
        rec['rowGrad'] = coalesced(model.emb.weight.grad)
        out = emb_step(*x, **k)
        rec['afterEmbStep'] = model.emb.weight.detach().clone()
        return out

    def step_wrap(*x, **k):
        if emb == 'alpt':
            rec['stepGrad'] = coalesced(model.step.weight.grad)
            rec['stepBefore'] = model.step.weight.detach().clone()
        else:
            rec['tableStepGrad'] = model.table_step.grad.detach().clone()
        return step_step(*x, **k)

    opts['dense'].step, opts['emb'].step, opts['step'].step = dense_wrap, emb_wrap, step_wrap
    embed = model.embed

    def embed_wrap(ids_):
        out = embed(ids_)
        if model.fake_quant or emb == 'lsq':
            rec['q'] = out.detach().clone()
            out.register_hook(lambda d: rec.__setitem__('dq', d.detach().clone()))
        return out

    model.embed = embed_wrap
    requantize = tr.requantize_rows

    def requantize_wrap(W_, S_, rows, bits_, stochastic):
        rec['staged'] = W_[rows].clone()
        rec['newSteps'] = S_[rows].clone()
        requantize(W_, S_, rows, bits_, stochastic)
        rec['written'] = torch.round(W_[rows] / S_[rows])

    tr.requantize_rows = requantize_wrap
    loss = tr.train_step(model, opts, ids, y, a)
    tr.requantize_rows = requantize

    touched = sorted(rec['rowGrad'].keys())
    assert UNTOUCHED not in touched
    flat_ids = ids.reshape(-1)
    q_rows, dq_rows = {}, {}
    for slot, r in enumerate(flat_ids.tolist()):
        q_rows[r] = rec['q'].reshape(-1, DIM)[slot]
        dq_rows[r] = dq_rows.get(r, 0) + rec['dq'].reshape(-1, DIM)[slot]
    out = {'loss': loss, 'denseGrad': rec['denseGrad'],
           'dense': {n: r9(params[n]) for n in names},
           'runningMean': r9(bn.running_mean), 'runningVar': r9(bn.running_var),
           'rows': touched,
           'rowGrad': [r9(rec['rowGrad'][r]) for r in touched],
           'q': [r9(q_rows[r]) for r in touched],
           'dq': [r9(dq_rows[r]) for r in touched]}
    info = {}
    if emb == 'alpt':
        staged = dict(zip(torch.unique(ids).tolist(), rec['staged']))
        new_steps = dict(zip(torch.unique(ids).tolist(), rec['newSteps'].reshape(-1)))
        written = dict(zip(torch.unique(ids).tolist(), rec['written']))
        S0 = rec['stepBefore'].reshape(-1)
        gscale = 1.0 / math.sqrt(DIM * hi)
        ds_first = []
        for r in touched:
            # the same LSQ backward (torch_ref.LSQ) fed the first pass's row gradient instead of dL/dQ
            s = S0[r].clone().reshape(1).requires_grad_(True)
            tr.LSQ.apply(staged[r], s, bits, gscale).backward(rec['rowGrad'][r])
            ds_first.append(float(s.grad))
        xs = torch.stack([staged[r] / S0[r] for r in touched])
        xn = torch.stack([staged[r] / new_steps[r] for r in touched])
        frac = xs - torch.floor(xs)
        info = {'clipped': int(((xs < lo) | (xs > hi)).sum()),
                'minDistToRoundingTie': float((frac - 0.5).abs().min()),
                'minDistToIntegerNewStep': float((xn - torch.round(xn)).abs().min()),
                'changedCodes': int(sum(int((written[r] != torch.round(W[r] / S0[r])).sum()) for r in touched))}
        out.update(staged=[r9(staged[r]) for r in touched],
                   dDelta=[float('%.9g' % float(rec['stepGrad'][r])) for r in touched],
                   dDeltaFirstPass=[float('%.9g' % v) for v in ds_first],
                   steps=[float('%.9g' % float(new_steps[r])) for r in touched],
                   codes=[[int(c) for c in written[r].tolist()] for r in touched])
    else:
        out.update(master=[r9(model.emb.weight[r]) for r in touched],
                   dTableStep=float('%.9g' % float(rec['tableStepGrad'])),
                   tableStep=r9(model.table_step))
        x = W[touched] / (abs(t0) + 1e-10)
        info = {'clipped': int(((x < lo) | (x > hi)).sum())}
    case = {'method': emb, 'bits': bits, 'seed': seed, 'step': step, 'lr': LR, 'lrStep': LR_STEP,
            'ids': [int(i) for i in flat_ids.tolist()], 'labels': [float(v) for v in y.tolist()],
            'initial': init, 'expected': out}
    return case, info, dense0


def main():
    cases, shared = [], None
    for emb, bits, seed in [('alpt', 4, 11), ('alpt', 2, 12), ('lsq', 4, 13)]:
        case, info, dense0 = run_case(emb, bits, seed, shared)
        shared = shared or dense0
        print(f'{emb} {bits}-bit seed {seed}: loss {case["expected"]["loss"]:.6f} rows {len(case["expected"]["rows"])} {info}',
              file=sys.stderr)
        cases.append(case)
    doc = {'about': 'One ALPT and one LSQ training step of a tiny DCN, by ../shared/peers/torch_ref.py '
                    '(scripts/make-reference.py; docs/reliability.md). Tensors are row-major, float32 values.',
           'torch': torch.__version__,
           'model': {'name': 'dcn', 'fields': FIELDS, 'rows': ROWS, 'dim': DIM, 'mlp': [8], 'crossLayers': 1, 'batchNorm': True},
           'batch': BATCH, 'untouchedRow': UNTOUCHED, 'denseStep': WARMUP,
           'initialDense': {'weights': {n: r9(v) for n, v in shared['dense'].items()},
                            'adamM': {n: r9(v) for n, v in shared['denseM'].items()},
                            'adamV': {n: r9(v) for n, v in shared['denseV'].items()},
                            'runningMean': r9(shared['runningMean']), 'runningVar': r9(shared['runningVar'])},
           'cases': cases}
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, 'w') as f:
        json.dump(doc, f, separators=(',', ':'))
        f.write('\n')
    print(f'wrote {args.out} ({os.path.getsize(args.out)} bytes)', file=sys.stderr)


if __name__ == '__main__':
    main()
