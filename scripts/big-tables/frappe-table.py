import json,glob,collections,statistics as st
R=collections.defaultdict(dict)
for f in [f for f in glob.glob('/tmp/bt-frappe/*.json') if '-s3' not in f]:
    j=json.load(open(f)); name=f.split('/')[-1].split('-b')[0]
    R[(name,j['bits'])][j['seed']]=(j['test_auc'],j['table_bytes_per_row'],j['epochs_run'],j['best_epoch'])
print('| Δ setting | bits | bytes/row | seeds | test AUC per seed | mean | vs adam-f32 (same seeds) |')
print('|---|---|---|---|---|---|---|')
for bits in (8,4,2):
    base=R.get(('adam-f32',bits),{})
    for name in ('adam-f32','adagrad-f16','sgd-f16'):
        d=R.get((name,bits),{})
        if not d: continue
        seeds=sorted(d); aucs=[d[s][0] for s in seeds]
        common=[s for s in seeds if s in base]
        delta=st.mean(d[s][0]-base[s][0] for s in common) if common else float('nan')
        print(f"| {name} | {bits} | {d[seeds[0]][1]:g} | {','.join(map(str,seeds))} | {' / '.join(f'{a:.4f}' for a in aucs)} | {st.mean(aucs):.4f} | {delta:+.4f} |")
