// Every TrainConfig key declared once: type, range, default and help text. DEFAULTS, validateConfig,
// the YAML reader and the CLI help all come from here, so a value is either understood or refused
// by name — never silently reinterpreted (YAML "no" is not true, "1" is not 1).
import { z } from 'zod';
import { MODELS, isKnownModel } from '../models/registry.js';
import { CSV_SCHEMA } from '../data/csv-schema.js';
import type { SparseOptimizerName } from '../embedding/table.js';

export const EMBEDDING_METHODS = ['fp32', 'lpt-dr', 'lpt-sr', 'alpt', 'alpt-fast', 'lsq'] as const;
export const SPARSE_OPTIMIZERS = ['adam', 'adagrad', 'rowwise-adagrad', 'sgd'] as const satisfies readonly SparseOptimizerName[];
export const DATA_FORMATS = ['libfm', 'criteo', 'avazu', 'csv', 'parquet'] as const;
/** More compute threads than this is a typo, not a machine (the wasm heap is shared by all of them). */
export const MAX_THREADS = 256;

const int = () => z.number().int();
const positive = () => z.number().gt(0);
/** A list of integers: a YAML list, one number, or "400,400,400" (the flag syntax). */
const intList = (min: number) =>
  z.preprocess(
    (v) => (typeof v === 'number' ? [v] : typeof v === 'string' ? (v.trim() === '' ? [] : v.split(',').map((s) => (/^\s*-?\d+\s*$/.test(s) ? Number(s) : s))) : v),
    z.array(int().min(min)),
  );

export const CONFIG_FIELDS = {
  // data
  data: z.string().optional().describe('folder with train.*, valid.*, test.* (e.g. ../shared/data/bench/frappe)'),
  train: z.string().optional().describe('training file'),
  valid: z.string().optional().describe('validation file (early stopping, best epoch)'),
  test: z.string().optional().describe('test file (final metrics)'),
  format: z.enum(DATA_FORMATS).optional().describe('input format (guessed from the file names with --data)'),
  schema: CSV_SCHEMA.optional().describe('CSV schema (YAML/JSON: label, categorical, numeric) for --format csv'),
  validFraction: z.number().gt(0).lt(1).optional().describe('hold out this fraction of train as validation (seeded by --seed) when there is no valid split'),
  minCount: int().min(1).default(1).describe('values seen fewer times in train share the field OOV id'),
  skipBad: z.boolean().default(false).describe('skip malformed lines (counted in the summary) instead of stopping'),
  cacheDir: z.string().optional().describe('where encoded datasets are cached (default ~/.cache/alpt)'),
  hashRows: z
    .preprocess(
      (v) => (typeof v === 'number' ? [v] : typeof v === 'string' ? v.split(',').map((s) => (/^\s*\d+(?:\.\d*)?(?:e\d+)?\s*$/i.test(s) ? Number(s) : s)) : v),
      z.array(int().min(1).max(2 ** 31 - 1)).min(1),
    )
    .optional()
    .describe('hashed ids: N rows per field (or N1,N2,… one per field), value → row by a seeded hash; no vocabulary kept, bounded-memory ingest'),
  hashRowsTotal: int().min(1).max(2 ** 31 - 1).optional().describe('hashed ids: this many rows in total, split evenly over the fields (instead of --hash-rows)'),
  hashSeed: int().min(0).max(2 ** 32 - 1).default(0).describe('seed of the --hash-rows hash (part of the model: predict hashes with it)'),
  // model
  model: z
    .string()
    .refine(isKnownModel, { message: `unknown model; expected one of ${Object.keys(MODELS).join(', ')}` })
    .default('dcn')
    .describe(Object.keys(MODELS).join(', ')),
  embedding: z.enum(EMBEDDING_METHODS).default('fp32').describe(EMBEDDING_METHODS.join(', ')),
  bits: int().min(1).max(8).default(8).describe('bits per embedding code (1..8)'),
  dim: int().min(1).default(16).describe('embedding dimension'),
  mlp: intList(1).default([400, 400, 400]).describe('hidden sizes, comma separated (e.g. 400,400,400)'),
  crossLayers: int().min(0).default(3).describe('DCN cross layers'),
  batchNorm: z.boolean().default(true).describe('BatchNorm after hidden Linear layers'),
  dropout: z.number().min(0).lt(1).default(0).describe('dropout rate after each hidden ReLU, in [0, 1)'),
  initStd: positive().default(0.01).describe('embedding init N(0, s²), s > 0'),
  // optimisation
  batch: int().min(1).default(1024).describe('batch size'),
  lr: positive().default(1e-3).describe('learning rate (dense and sparse)'),
  optimizer: z.enum(['adam', 'sgd']).default('adam').describe('dense optimizer'),
  weightDecay: z.number().min(0).default(0).describe('L2 weight decay of dense weights (>= 0)'),
  sparseOptimizer: z.enum(SPARSE_OPTIMIZERS).default('adam').describe('embedding optimizer'),
  sparseLr: positive().optional().describe('embedding learning rate (default: --lr)'),
  stepLr: positive().default(0.01).describe('step-size learning rate (alpt, lsq); relative to the initial step by default'),
  stepLrScale: z.enum(['relative', 'absolute']).default('relative').describe('relative: lr × initial Δ (bit-width free); absolute: plain lr'),
  stepOptimizer: z.enum(['adam', 'adagrad', 'sgd']).default('adam').describe('optimizer of the step sizes (adagrad: 4 bytes a row, sgd: none)'),
  stepDtype: z.enum(['f32', 'f16']).default('f32').describe('storage of per-row step sizes'),
  lsqPerRow: z.boolean().default(false).describe('lsq: one learned step per row instead of per table'),
  initStep: positive().optional().describe('constant initial step size Δ0 (default 2·mean|w|/sqrt(Q_P))'),
  epochs: int().min(1).default(15).describe('maximum epochs'),
  patience: int().min(1).default(2).describe('early stopping: epochs without valid AUC gain'),
  lrDecayEpochs: intList(1).default([]).describe('multiply the lr by --lr-decay after these epochs (paper: 6,9)'),
  lrDecay: z.number().gt(0).max(1).default(0.1).describe('factor of the step schedule, in (0, 1]'),
  evalEvery: int().min(0).default(0).describe('also evaluate on valid every N steps (logged; 0 = off)'),
  checkpointEvery: int().min(0).default(0).describe('also write checkpoint.alpt every N steps (0 = at epoch ends only)'),
  // run
  seed: int().min(0).max(2 ** 32 - 1).default(2024).describe('run seed (0..2^32-1)'),
  threads: int().min(0).max(MAX_THREADS).default(0).describe(`compute threads (0 = all cores, at most ${MAX_THREADS})`),
  backend: z.enum(['auto', 'blas', 'wasm', 'js']).default('auto').describe('compute backend (blas: OpenBLAS addon, see README)'),
  out: z.string().optional().describe('run folder: metrics.jsonl, checkpoint.alpt, model.alpt, summary.json'),
  memoryLight: z.boolean().default(false).describe('smallest ALPT table: row-wise Adagrad (sparse lr 0.05), f16 step sizes, SGD on the step sizes with step lr 10 × Δ0 (flags given win)'),
  progress: z.enum(['auto', 'bar', 'lines', 'none']).default('auto').describe('progress display'),
  maxSteps: int().min(1).optional().describe('stop each epoch after N steps (smoke runs)'),
};

export type ConfigKey = keyof typeof CONFIG_FIELDS;
export const CONFIG_KEYS = Object.keys(CONFIG_FIELDS) as ConfigKey[];
export const TRAIN_CONFIG_SCHEMA = z.strictObject(CONFIG_FIELDS);

/** camelCase key → its flag and YAML spelling. */
export const kebab = (key: string): string => key.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase());
export const camel = (key: string): string => key.replace(/[-_]([a-z])/g, (_, c: string) => c.toUpperCase());

/** Help text of a key with its default, for the CLI. */
export function helpFor(key: ConfigKey): string {
  const field = CONFIG_FIELDS[key];
  const parsed = field.safeParse(undefined);
  const def = parsed.success && parsed.data !== undefined && !(Array.isArray(parsed.data) && parsed.data.length === 0) ? ` (default ${parsed.data})` : '';
  return (field.description ?? key) + def;
}

/** The allowed values of an enum key (for the CLI's choices). */
export function choicesFor(key: ConfigKey): string[] {
  let t: any = CONFIG_FIELDS[key];
  while (t.def?.innerType) t = t.def.innerType; // through .optional() / .default()
  if (!t.options) throw new Error(`config key ${key} is not an enum`);
  return [...t.options];
}
