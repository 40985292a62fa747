// The training flags, shared by `train`, `compare` and `bench`, and their merge with a YAML file:
// defaults ← config file ← flags given on the command line.

import { readFileSync } from 'node:fs';
import { Command, Option, InvalidArgumentError } from 'commander';
import { parse as parseYaml } from 'yaml';
import { DEFAULTS, validateConfig, type TrainConfig } from '../train/config.js';
import { applyMemoryLight } from '../train/memory-light.js';

const int = (name: string) => (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n)) throw new InvalidArgumentError(`${name} must be an integer, got "${v}"`);
  return n;
};
const num = (name: string) => (v: string) => {
  const n = Number(v);
  if (!Number.isFinite(n)) throw new InvalidArgumentError(`${name} must be a number, got "${v}"`);
  return n;
};
export const intList = (name: string) => (v: string) =>
  v === '' ? [] : v.split(',').map((s) => int(name)(s.trim()));

/** Flag → config key. Every flag here maps onto one TrainConfig field. */
export function addTrainOptions(cmd: Command, opts: { bitsList?: boolean } = {}): Command {
  cmd = opts.bitsList
    ? cmd.option('--bits <list>', 'bit widths, comma separated (e.g. 8,4,2)', intList('--bits'))
    : cmd.option('--bits <b>', 'bits per embedding code (1..8)', int('--bits'));
  return cmd
    .option('--config <file>', 'YAML config file (flags override it)')
    .option('--data <dir>', 'folder with train.*, valid.*, test.* (e.g. ../shared/data/bench/frappe)')
    .option('--train <file>', 'training file')
    .option('--valid <file>', 'validation file (early stopping)')
    .option('--test <file>', 'test file (final metrics)')
    .addOption(new Option('--format <format>', 'input format').choices(['libfm', 'criteo', 'avazu', 'csv']))
    .option('--schema <file>', 'CSV schema (YAML/JSON: label, categorical, numeric) for --format csv')
    .option('--min-count <n>', 'values seen fewer times in train share the field OOV id', int('--min-count'))
    .option('--skip-bad', 'skip malformed lines (counted in the summary) instead of stopping')
    .option('--cache-dir <dir>', 'where encoded datasets are cached (default ~/.cache/alpt)')
    .option('--model <name>', 'lr, fm, dnn, wide-deep, deepfm, dcn, dcn-v2, ipnn')
    .option('--embedding <method>', 'fp32, lpt-dr, lpt-sr, alpt, alpt-fast, lsq')
    .option('--dim <d>', 'embedding dimension', int('--dim'))
    .option('--mlp <sizes>', 'hidden sizes, comma separated (e.g. 400,400,400)', intList('--mlp'))
    .option('--cross-layers <n>', 'DCN cross layers', int('--cross-layers'))
    .option('--no-batch-norm', 'no BatchNorm after hidden Linear layers')
    .option('--dropout <p>', 'dropout rate after each hidden ReLU', num('--dropout'))
    .option('--init-std <s>', 'embedding init N(0, s²)', num('--init-std'))
    .option('--batch <n>', 'batch size', int('--batch'))
    .option('--lr <lr>', 'learning rate (dense and sparse)', num('--lr'))
    .addOption(new Option('--optimizer <name>', 'dense optimizer').choices(['adam', 'sgd']))
    .option('--weight-decay <w>', 'L2 weight decay of dense weights', num('--weight-decay'))
    .addOption(new Option('--sparse-optimizer <name>', 'embedding optimizer').choices(['adam', 'adagrad', 'rowwise-adagrad', 'sgd']))
    .option('--sparse-lr <lr>', 'embedding learning rate (default: --lr)', num('--sparse-lr'))
    .option('--step-lr <lr>', 'step-size learning rate (alpt, lsq); relative to the initial step by default', num('--step-lr'))
    .addOption(new Option('--step-lr-scale <scale>', 'relative: lr × initial Δ (bit-width free); absolute: plain lr').choices(['relative', 'absolute']))
    .addOption(new Option('--step-optimizer <name>', 'optimizer of the step sizes (adagrad: 4 bytes a row, sgd: none)').choices(['adam', 'adagrad', 'sgd']))
    .addOption(new Option('--step-dtype <dtype>', 'storage of per-row step sizes').choices(['f32', 'f16']))
    .option('--lsq-per-row', 'lsq: one learned step per row instead of per table')
    .option('--init-step <delta>', 'constant initial step size Δ0 (default 2·mean|w|/sqrt(Q_P))', num('--init-step'))
    .option('--epochs <n>', 'maximum epochs', int('--epochs'))
    .option('--patience <n>', 'early stopping: epochs without valid AUC gain', int('--patience'))
    .option('--lr-decay-epochs <list>', 'divide the lr by --lr-decay after these epochs (paper: 6,9)', intList('--lr-decay-epochs'))
    .option('--lr-decay <f>', 'factor of the step schedule', num('--lr-decay'))
    .option('--eval-every <steps>', 'also evaluate on valid every N steps (logged)', int('--eval-every'))
    .option('--max-steps <n>', 'stop each epoch after N steps (smoke runs)', int('--max-steps'))
    .option('--seed <n>', 'run seed', int('--seed'))
    .option('--threads <n>', 'compute threads (0 = all cores)', int('--threads'))
    .addOption(new Option('--backend <name>', 'compute backend (blas: OpenBLAS addon, see README)').choices(['auto', 'blas', 'wasm', 'js']))
    .option('--out <dir>', 'run folder: metrics.jsonl, checkpoint.alpt, model.alpt, summary.json')
    .addOption(new Option('--progress <mode>', 'progress display').choices(['auto', 'bar', 'lines', 'none']))
    .option('--memory-light', 'smallest ALPT table: row-wise Adagrad (sparse lr 0.05), f16 Δ, light step optimizer (flags given win)');
}

const KEYS = new Set(Object.keys(DEFAULTS).concat(['data', 'train', 'valid', 'test', 'format', 'schema', 'cacheDir', 'out', 'sparseLr', 'maxSteps', 'initStep']));
const camel = (k: string) => k.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());

/** Read a YAML (or JSON) config file; unknown keys are errors naming the key. */
export function readConfigFile(path: string): Partial<TrainConfig> {
  let raw: unknown;
  try {
    raw = parseYaml(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new Error(`${path}: ${(e as Error).message}`);
  }
  if (raw === null || raw === undefined) return {};
  if (typeof raw !== 'object' || Array.isArray(raw)) throw new Error(`${path}: expected a mapping of options`);
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(raw as Record<string, unknown>)) {
    const key = camel(k);
    if (!KEYS.has(key)) throw new Error(`${path}: unknown option "${k}"`);
    out[key] = key === 'mlp' || key === 'lrDecayEpochs' ? (typeof v === 'string' ? intList(k)(v) : typeof v === 'number' ? [v] : v) : v;
  }
  return out as Partial<TrainConfig>;
}

export function readSchema(path: string): TrainConfig['schema'] {
  try {
    return parseYaml(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new Error(`${path}: ${(e as Error).message}`);
  }
}

/** Merge defaults, the config file and the flags actually given on the command line. */
export function configFromCommand(cmd: Command, extra: Partial<TrainConfig> = {}, override: Partial<TrainConfig> = {}): TrainConfig {
  const opts = cmd.opts();
  const fromFile = opts.config ? readConfigFile(opts.config) : {};
  const fromFlags: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(opts)) {
    if (k === 'config' || k === 'schema') continue;
    if (cmd.getOptionValueSource(k) !== 'cli') continue;
    fromFlags[k] = v;
  }
  let cfg = { ...DEFAULTS, ...extra, ...fromFile, ...fromFlags, ...override } as TrainConfig;
  cfg = applyMemoryLight(cfg, new Set([...Object.keys(fromFile), ...Object.keys(fromFlags), ...Object.keys(override)]));
  if (opts.schema) cfg.schema = readSchema(opts.schema);
  return validateConfig(cfg);
}
