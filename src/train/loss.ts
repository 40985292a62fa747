// Mean sigmoid cross-entropy on logits, with its gradient (σ(z) − y)/B written in the same pass.
export function sigmoidCrossEntropy(logits: Float32Array, labels: Float32Array, batch: number, dlogits: Float32Array): number {
  let s = 0;
  const inv = 1 / batch;
  for (let i = 0; i < batch; i++) {
    const z = logits[i];
    const y = labels[i];
    const e = Math.exp(-Math.abs(z));
    s += Math.max(z, 0) - z * y + Math.log1p(e);
    const p = z >= 0 ? 1 / (1 + e) : e / (1 + e);
    dlogits[i] = (p - y) * inv;
  }
  return s * inv;
}
