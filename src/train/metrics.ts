// Exact evaluation metrics. AUC is the tie-aware Mann–Whitney statistic (tied scores share their
// average rank), so it matches sklearn / torch_ref bit for bit up to float rounding.

/** Throws on a NaN score: sorting would place it arbitrarily and return a plausible, wrong AUC. */
export function auc(labels: Float32Array, scores: Float32Array, n = labels.length): number {
  for (let i = 0; i < n; i++) {
    if (Number.isNaN(scores[i])) throw new Error(`auc: score ${i} of ${n} is NaN`);
  }
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  order.sort((a, b) => scores[a] - scores[b]);
  let rankSumPos = 0;
  let pos = 0;
  let i = 0;
  while (i < n) {
    let j = i + 1;
    while (j < n && scores[order[j]] === scores[order[i]]) j++;
    const avgRank = (i + 1 + j) / 2; // ranks i+1..j
    for (let t = i; t < j; t++) {
      if (labels[order[t]] > 0.5) {
        rankSumPos += avgRank;
        pos++;
      }
    }
    i = j;
  }
  const neg = n - pos;
  if (pos === 0 || neg === 0) return NaN;
  return (rankSumPos - (pos * (pos + 1)) / 2) / (pos * neg);
}

/** Mean binary cross-entropy of logits, computed stably in float64. */
export function logloss(labels: Float32Array, logits: Float32Array, n = labels.length): number {
  let s = 0;
  for (let i = 0; i < n; i++) {
    const z = logits[i];
    // log(1+e^z) - y·z, stable for both signs
    s += Math.max(z, 0) - z * labels[i] + Math.log1p(Math.exp(-Math.abs(z)));
  }
  return s / n;
}
