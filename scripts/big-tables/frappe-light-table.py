#!/usr/bin/env python3
# Table of scripts/big-tables/frappe-light-grid.sh runs: usage frappe-light-table.py [OUT dir, default /tmp/bt-light]
# Per Δ setting and width: bytes/row, test AUC per seed, mean, mean paired difference against adam-f32
# (same seeds, same width), and how far Δ moved: median Δ of field f2 (the largest, 4083 rows) over
# the nominal Δ0 = 2·mean|w|/sqrt(Q_P) with mean|w| = 0.01·sqrt(2/π) (init N(0, 0.01²)).
import json, glob, collections, statistics as st, sys, math
out = sys.argv[1] if len(sys.argv) > 1 else '/tmp/bt-light'
R = collections.defaultdict(dict); D = collections.defaultdict(dict); order = []
for f in sorted(glob.glob(f'{out}/*.json')):
    j = json.load(open(f)); name = f.split('/')[-1].rsplit('-b', 1)[0]
    if name not in order: order.append(name)
    R[(name, j['bits'])][j['seed']] = (j['test_auc'], j['table_bytes_per_row'])
    f2 = [x for x in (j.get('step_size_histogram') or {}).get('fields', []) if x['field'] == 'f2']
    d0 = 2 * 0.01 * math.sqrt(2 / math.pi) / math.sqrt(2 ** (j['bits'] - 1) - 1)
    if f2: D[(name, j['bits'])][j['seed']] = f2[0]['median'] / d0
def lr_of(n):  # '…-lrX' → X; no suffix: the default step lr 0.01
    return float(n.split('-lr')[1]) if '-lr' in n else 0.01
order.sort(key=lambda n: (n != 'adam-f32', n.split('-lr')[0], lr_of(n)))
print('| Δ setting | bits | bytes/row | seeds | test AUC per seed | mean | vs adam-f32 (paired) | median Δ/Δ0 (f2) |')
print('|---|---|---|---|---|---|---|---|')
for bits in (8, 4, 2):
    base = R.get(('adam-f32', bits), {})
    for name in order:
        d = R.get((name, bits), {})
        if not d: continue
        seeds = sorted(d); aucs = [d[s][0] for s in seeds]
        common = [s for s in seeds if s in base]
        delta = st.mean(d[s][0] - base[s][0] for s in common) if common else float('nan')
        dd = D.get((name, bits), {})
        mv = f"{st.mean(dd.values()):.2f}" if dd else '–'
        print(f"| {name} | {bits} | {d[seeds[0]][1]:g} | {','.join(map(str, seeds))} | {' / '.join(f'{a:.4f}' for a in aucs)} | {st.mean(aucs):.4f} | {delta:+.4f} | {mv} |")
