// The model zoo by name: adding a model is one file plus one line here.
import type { CtrModel, ModelBuilder, ModelContext } from './model.js';
import { buildLr } from './lr.js';
import { buildFm } from './fm.js';
import { buildDnn } from './dnn.js';
import { buildWideDeep } from './wide-deep.js';
import { buildDeepFm } from './deepfm.js';
import { buildDcn } from './dcn.js';
import { buildDcnV2 } from './dcn-v2.js';
import { buildIpnn } from './ipnn.js';

export const MODELS: Record<string, ModelBuilder> = {
  lr: buildLr,
  fm: buildFm,
  dnn: buildDnn,
  'wide-deep': buildWideDeep,
  deepfm: buildDeepFm,
  dcn: buildDcn,
  'dcn-v2': buildDcnV2,
  ipnn: buildIpnn,
};

const ALIASES: Record<string, string> = { widedeep: 'wide-deep', wdl: 'wide-deep', dcnv2: 'dcn-v2', pnn: 'ipnn' };

/** A registered model name or alias (any case). */
export function isKnownModel(name: string): boolean {
  const key = ALIASES[name.toLowerCase()] ?? name.toLowerCase();
  return key in MODELS;
}

export function buildModel(name: string, ctx: ModelContext): CtrModel {
  const key = ALIASES[name.toLowerCase()] ?? name.toLowerCase();
  const b = MODELS[key];
  if (!b) throw new Error(`unknown model "${name}" (expected ${Object.keys(MODELS).join(', ')})`);
  return b(ctx);
}

/** The model a training config describes (its architecture keys), for numFields fields. */
export function buildModelFor(
  cfg: { model: string; dim: number; mlp: number[]; crossLayers: number; batchNorm: boolean; dropout: number; seed: number },
  numFields: number, backend: ModelContext['backend'],
): CtrModel {
  return buildModel(cfg.model, {
    backend, numFields, dim: cfg.dim, mlp: cfg.mlp, crossLayers: cfg.crossLayers, batchNorm: cfg.batchNorm, dropout: cfg.dropout, seed: cfg.seed,
  });
}
