// Evaluation metrics against brute-force definitions.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { auc } from '../src/train/metrics.js';
import { CounterRng, Stream } from '../src/util/rng.js';

/** P(score of a positive > score of a negative) over all pairs, ties counting 1/2. */
function pairwiseAuc(labels: Float32Array, scores: Float32Array): number {
  let wins = 0, pairs = 0;
  for (let i = 0; i < labels.length; i++) {
    if (labels[i] !== 1) continue;
    for (let j = 0; j < labels.length; j++) {
      if (labels[j] !== 0) continue;
      pairs++;
      wins += scores[i] > scores[j] ? 1 : scores[i] === scores[j] ? 0.5 : 0;
    }
  }
  return wins / pairs;
}

test('auc with many ties equals the pairwise count (ties 1/2)', () => {
  for (const seed of [1, 2, 3, 4, 5]) {
    for (const levels of [1, 2, 3, 7]) {
      const rng = new CounterRng(seed, Stream.bench, levels);
      const n = 300 + rng.int(200);
      const labels = new Float32Array(n), scores = new Float32Array(n);
      for (let i = 0; i < n; i++) {
        const q = rng.int(levels);
        scores[i] = q / levels - 0.5; // few distinct values: ties everywhere
        labels[i] = rng.next() < 0.2 + 0.6 * (q / levels) ? 1 : 0;
      }
      const want = pairwiseAuc(labels, scores);
      assert.ok(Math.abs(auc(labels, scores) - want) < 1e-12, `seed ${seed} levels ${levels}: ${auc(labels, scores)} vs ${want}`);
      if (levels === 1) assert.equal(auc(labels, scores), 0.5);
    }
  }
});

test('auc refuses NaN scores', () => {
  const labels = new Float32Array([0, 1, 0, 1]);
  assert.throws(() => auc(labels, new Float32Array([0.1, NaN, 0.3, 0.9])), /auc: score 1 of 4 is NaN/);
  assert.throws(() => auc(labels, new Float32Array([0.1, 0.2, 0.3, NaN]), 4), /NaN/);
  assert.equal(auc(labels, new Float32Array([0.1, 0.2, 0.3, NaN]), 3), 0.5, 'scores past n are not read');
});
