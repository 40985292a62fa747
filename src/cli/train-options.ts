// The training flags, shared by `train`, `compare` and `bench`, and their merge with a YAML file:
// defaults ← config file ← flags given on the command line.

import { readFileSync } from 'node:fs';
import { Command, Option, InvalidArgumentError } from 'commander';
import { parse as parseYaml } from 'yaml';
import { DEFAULTS, validateConfig, type TrainConfig } from '../train/config.js';
import { CONFIG_FIELDS, CONFIG_KEYS, camel, choicesFor, helpFor, kebab, type ConfigKey } from '../train/config-schema.js';
import { CSV_SCHEMA, NUMERIC_COLUMN_SCHEMA } from '../data/csv-schema.js';
import type { CsvSchema } from '../data/types.js';
import { explainIssues } from '../util/explain-issues.js';
import { didYouMean } from '../util/closest.js';
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
    : cmd.option('--bits <b>', helpFor('bits'), int('--bits'));
  return cmd
    .option('--config <file>', 'YAML config file (flags override it)')
    .option('--data <dir>', helpFor('data'))
    .option('--train <file>', helpFor('train'))
    .option('--valid <file>', helpFor('valid'))
    .option('--test <file>', helpFor('test'))
    .addOption(new Option('--format <format>', helpFor('format')).choices(choicesFor('format')))
    .option('--schema <file>', helpFor('schema'))
    .option('--valid-fraction <f>', helpFor('validFraction'), num('--valid-fraction'))
    .option('--min-count <n>', helpFor('minCount'), int('--min-count'))
    .option('--skip-bad', helpFor('skipBad'))
    .option('--cache-dir <dir>', helpFor('cacheDir'))
    .option('--hash-rows <n|list>', helpFor('hashRows'), intList('--hash-rows'))
    .option('--hash-rows-total <n>', helpFor('hashRowsTotal'), int('--hash-rows-total'))
    .option('--hash-seed <n>', helpFor('hashSeed'), int('--hash-seed'))
    .option('--model <name>', helpFor('model'))
    .option('--embedding <method>', helpFor('embedding'))
    .option('--dim <d>', helpFor('dim'), int('--dim'))
    .option('--mlp <sizes>', helpFor('mlp'), intList('--mlp'))
    .option('--cross-layers <n>', helpFor('crossLayers'), int('--cross-layers'))
    .option('--no-batch-norm', 'no BatchNorm after hidden Linear layers (YAML: batch-norm: false)')
    .option('--dropout <p>', helpFor('dropout'), num('--dropout'))
    .option('--init-std <s>', helpFor('initStd'), num('--init-std'))
    .option('--batch <n>', helpFor('batch'), int('--batch'))
    .option('--lr <lr>', helpFor('lr'), num('--lr'))
    .addOption(new Option('--optimizer <name>', helpFor('optimizer')).choices(choicesFor('optimizer')))
    .option('--weight-decay <w>', helpFor('weightDecay'), num('--weight-decay'))
    .addOption(new Option('--sparse-optimizer <name>', helpFor('sparseOptimizer')).choices(choicesFor('sparseOptimizer')))
    .option('--sparse-lr <lr>', helpFor('sparseLr'), num('--sparse-lr'))
    .option('--step-lr <lr>', helpFor('stepLr'), num('--step-lr'))
    .addOption(new Option('--step-lr-scale <scale>', helpFor('stepLrScale')).choices(choicesFor('stepLrScale')))
    .addOption(new Option('--step-optimizer <name>', helpFor('stepOptimizer')).choices(choicesFor('stepOptimizer')))
    .addOption(new Option('--step-dtype <dtype>', helpFor('stepDtype')).choices(choicesFor('stepDtype')))
    .option('--lsq-per-row', helpFor('lsqPerRow'))
    .option('--memory-light', helpFor('memoryLight'))
    .option('--init-step <delta>', helpFor('initStep'), num('--init-step'))
    .option('--epochs <n>', helpFor('epochs'), int('--epochs'))
    .option('--patience <n>', helpFor('patience'), int('--patience'))
    .option('--lr-decay-epochs <list>', helpFor('lrDecayEpochs'), intList('--lr-decay-epochs'))
    .option('--lr-decay <f>', helpFor('lrDecay'), num('--lr-decay'))
    .option('--eval-every <steps>', helpFor('evalEvery'), int('--eval-every'))
    .option('--checkpoint-every <steps>', helpFor('checkpointEvery'), int('--checkpoint-every'))
    .option('--max-steps <n>', helpFor('maxSteps'), int('--max-steps'))
    .option('--seed <n>', helpFor('seed'), int('--seed'))
    .option('--threads <n>', helpFor('threads'), int('--threads'))
    .addOption(new Option('--backend <name>', helpFor('backend')).choices(choicesFor('backend')))
    .option('--out <dir>', helpFor('out'))
    .addOption(new Option('--progress <mode>', helpFor('progress')).choices(choicesFor('progress')));
}

/** YAML 1.1 reading: unquoted yes/no/on/off are booleans (as most YAML users expect), never strings. */
function readYaml(path: string): unknown {
  try {
    return parseYaml(readFileSync(path, 'utf8'), { version: '1.1' });
  } catch (e) {
    throw new Error(`${path}: ${(e as Error).message}`);
  }
}

/** Read a YAML (or JSON) config file; every key and value is checked against the config schema. */
export function readConfigFile(path: string): Partial<TrainConfig> {
  const raw = readYaml(path);
  if (raw === null || raw === undefined) return {};
  if (typeof raw !== 'object' || Array.isArray(raw)) throw new Error(`${path}: expected a mapping of options`);
  const out: Record<string, unknown> = {};
  const errors: string[] = [];
  const spellings = CONFIG_KEYS.map(kebab);
  for (const [k, v] of Object.entries(raw as Record<string, unknown>)) {
    const key = camel(k);
    if (!(CONFIG_KEYS as string[]).includes(key)) {
      errors.push(`unknown option "${k}"${didYouMean(k, spellings)}`);
      continue;
    }
    const r = CONFIG_FIELDS[key as ConfigKey].safeParse(v);
    if (r.success) out[key] = r.data;
    else errors.push(...explainIssues(r.error.issues, v, { name: (p) => [k, ...p.map(String)].join('.') }));
  }
  if (errors.length) throw new Error(errors.map((e) => `${path}: ${e}`).join('\n'));
  return out as Partial<TrainConfig>;
}

/** Read and check a CSV schema file (unknown keys and bucket rules are refused by name). */
export function readSchema(path: string): CsvSchema {
  const raw = readYaml(path);
  const r = CSV_SCHEMA.safeParse(raw);
  if (r.success) return r.data;
  const keysAt = (p: PropertyKey[]) => (p.length === 0 ? Object.keys(CSV_SCHEMA.shape) : p[0] === 'numeric' ? Object.keys(NUMERIC_COLUMN_SCHEMA.shape) : []);
  throw new Error(explainIssues(r.error.issues, raw, { keysAt }).map((e) => `${path}: ${e}`).join('\n'));
}

/** Merge defaults, the config file and the flags actually given on the command line. */
export function configFromCommand(cmd: Command, extra: Partial<TrainConfig> = {}, override: Partial<TrainConfig> = {}): TrainConfig {
  const opts = cmd.opts();
  const fromFile = opts.config ? readConfigFile(opts.config) : {};
  const fromFlags: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(opts)) {
    // Subcommand flags (--resume, --methods, --rows…) are not config keys.
    if (k === 'schema' || !(CONFIG_KEYS as string[]).includes(k)) continue;
    if (cmd.getOptionValueSource(k) !== 'cli') continue;
    fromFlags[k] = v;
  }
  let cfg = { ...DEFAULTS, ...extra, ...fromFile, ...fromFlags, ...override } as TrainConfig;
  cfg = applyMemoryLight(cfg, new Set([...Object.keys(fromFile), ...Object.keys(fromFlags), ...Object.keys(override)]));
  if (opts.schema) cfg.schema = readSchema(opts.schema);
  return validateConfig(cfg);
}
