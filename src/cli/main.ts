// The `alpt` command line. Each subcommand lives in its own file; the library never imports the CLI.

import { Command, InvalidArgumentError, Option } from 'commander';
import { addTrainOptions } from './train-options.js';
import { runTrain } from './train-command.js';
import { runSynth } from './synth-command.js';
import { runDemo } from './demo-command.js';
import { runMemory } from './memory-command.js';
import { runCompare } from './compare-command.js';
import { runBench } from './bench-command.js';
import { runPredict } from './predict-command.js';
import { runExport } from './export-command.js';
import { runInspect } from './inspect-command.js';
import { runReport } from './report-command.js';
import { showTrainDefaults } from './help-defaults.js';
import { addStoreOptions, runWorker, workerFlags } from './worker-command.js';

function positiveInt(flag: string, v: string, zeroOk = false): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < (zeroOk ? 0 : 1)) throw new InvalidArgumentError(`${flag} must be a ${zeroOk ? 'non-negative' : 'positive'} integer, got "${v}"`);
  return n;
}
import { addServeCommand } from './serve-command.js';

export async function main(argv: string[]): Promise<void> {
  const program = new Command('alpt')
    .description('Train and evaluate CTR models with low-precision (2/4/8-bit) embedding tables (LPT / ALPT)')
    .showHelpAfterError()
    .exitOverride((err) => {
      // commander already printed the message; keep its exit code
      process.exit(err.exitCode);
    });

  addStoreOptions(addTrainOptions(program.command('train').description('train a model and print a JSON summary'))
    .option('--resume', 'continue from <out>/checkpoint.alpt'))
    .option('--workers <n>', 'distributed (with --store): worker processes on this machine, this one included', workerFlags.posInt('--workers'))
    .action(async (_o, cmd: Command) => runTrain(cmd));

  addStoreOptions(addTrainOptions(program.command('worker').description('one rank of a distributed run (rank 0 evaluates and writes the run folder); same training flags on every rank'))
    .option('--resume', 'rank 0: continue from <out>/checkpoint.alpt'))
    .requiredOption('--rank <r>', 'this worker\'s rank, 0..world-1', workerFlags.nonNegInt('--rank'))
    .requiredOption('--world <n>', 'number of workers', workerFlags.posInt('--world'))
    .option('--run <id>', 'key namespace of the run in the store (same on every rank)', 'alpt')
    .action(async (_o, cmd: Command) => runWorker(cmd));

  addTrainOptions(program.command('compare').description('grid of methods × bit widths × seeds; Markdown table, CSV and JSON'), { bitsList: true })
    .option('--methods <list>', 'embedding methods', 'fp32,lpt-dr,lpt-sr,alpt,alpt-fast,lsq')
    .option('--seeds <n|list>', 'number of seeds (1..n) or a list', '3')
    .option('--results <dir>', 'where compare.csv / compare.json / compare.md go', 'runs/compare')
    .option('--from-runs <files>', 'no training: tabulate runs.jsonl files of earlier compare runs (comma separated)')
    .action(async (_o, cmd: Command) => runCompare(cmd));

  program
    .command('synth')
    .description('write seeded Criteo-like data (train.txt, valid.txt, test.txt); prints the files, rows/s and distinct values per large field')
    .requiredOption('--out <dir>', 'output folder')
    .option('--rows <n>', 'training rows', '100000')
    .option('--valid-rows <n>', 'validation rows')
    .option('--test-rows <n>', 'test rows')
    .option('--cardinality <n>', 'largest field vocabulary', '10000')
    .option('--large-fields <k>', 'the first k categorical fields (C1…) get --large-cardinality values, drawn without per-value tables (for --hash-rows runs)', '0')
    .option('--large-cardinality <n>', 'values of each large field (up to 2^32)', '50000000')
    .addOption(new Option('--large-tail <kind>', 'large fields: zipf (s = 1.05), uniform, or mixed (half each)').choices(['zipf', 'uniform', 'mixed']).default('mixed'))
    .option('--seed <n>', 'seed', '1')
    .action(async (o) => runSynth(o));

  program
    .command('memory')
    .description('bytes per row of each embedding method (codes, step sizes, optimizer state), from real allocations')
    .option('--rows <n>', 'rows to allocate', '100000')
    .option('--dim <d>', 'embedding dimension', '16')
    .option('--bits <list>', 'bit widths', '8,4,2')
    .option('--methods <list>', 'methods', 'fp32,lpt-dr,lpt-sr,alpt,alpt-fast,lsq')
    .option('--sparse-optimizer <list>', 'sparse optimizers', 'adam,rowwise-adagrad')
    .addOption(new Option('--step-dtype <dtype>', 'storage of per-row step sizes').choices(['f32', 'f16']))
    .addOption(new Option('--step-optimizer <name>', 'optimizer of the learned step sizes (alpt)').choices(['adam', 'adagrad', 'sgd']))
    .option('--json', 'JSON lines instead of a Markdown table')
    .action(async (o) => runMemory(o));

  addTrainOptions(program.command('demo').description('the built-in default: synthesise Criteo-like data, train a DCN, print metrics'))
    .option('--rows <n>', 'synthetic training rows', '200000')
    .action(async (_o, cmd: Command) => runDemo(cmd));

  addTrainOptions(program.command('bench').description('time training steps on synthetic batches (JSON line: step_ms, samples_per_s, phases)'))
    .option('--fields <n>', 'categorical fields', '39')
    .option('--rows-per-field <n>', 'vocabulary per field', '100000')
    .option('--steps <n>', 'timed steps', '20')
    .option('--warmup <n>', 'untimed warm-up steps', '2')
    .option('--profile-ops', 'also report milliseconds per step of every kernel (gemm shapes, element-wise ops, sparse kernels)')
    .addOption(new Option('--ids <law>', 'how batch ids are drawn: uniform (4 batches, reused) or zipf (fresh batches, Zipf over each field\'s rows, hot rows scattered over the table)').choices(['uniform', 'zipf']).default('uniform'))
    .option('--zipf-exponent <s>', 'exponent of the Zipf law for --ids zipf', '1.05')
    .option('--checkpoint-bench <dir>', 'after the steps, write a checkpoint into DIR, read it back (resume), report seconds and GB/s; the file is deleted')
    .action(async (_o, cmd: Command) => runBench(cmd));

  program
    .command('predict')
    .description('score a file of the training format with a model file: CSV of probabilities, JSON summary (rows/s; AUC and logloss when the input has labels)')
    .requiredOption('--model <file>', 'model file (model.alpt from `alpt train --out DIR` or `alpt export`)')
    .requiredOption('--input <file>', 'rows to score, in the training format (labels give AUC)')
    .addOption(new Option('--format <format>', 'input format (must be the model\'s)').choices(['libfm', 'criteo', 'avazu', 'csv']))
    .option('--out <file|->', 'CSV with a score column; - for stdout (the summary then goes to stderr)', 'scores.csv')
    .option('--id-column <name>', 'write this input column (or `line`, the line number) before the score')
    .option('--skip-bad', 'malformed lines get an empty score and are counted, instead of stopping')
    .option('--threads <n>', 'compute threads (0 = all cores)', (v) => positiveInt('--threads', v, true), 0)
    .addOption(new Option('--backend <name>', 'compute backend').choices(['auto', 'blas', 'wasm', 'js']).default('auto'))
    .addOption(new Option('--progress <mode>', 'progress bar on stderr').choices(['auto', 'bar', 'none']).default('auto'))
    .action(async (o) => runPredict(o));

  program
    .command('export')
    .description('make a model file from a run or checkpoint, or export a model file to ONNX or plain safetensors')
    .option('--run <dir>', 'a run folder (its checkpoint.alpt: the best epoch\'s weights)')
    .option('--checkpoint <file>', 'a checkpoint file')
    .option('--model <file>', 'a model file')
    .addOption(new Option('--format <format>', 'alpt: model file; onnx: ONNX graph (opset 18, packed table); safetensors: tensors + JSON description').choices(['alpt', 'onnx', 'safetensors']).default('alpt'))
    .option('--out <file>', 'output file (default: <run>/model.alpt, model.onnx, model.safetensors)')
    .action(async (o) => runExport(o));

  program
    .command('inspect')
    .description('verify a model or checkpoint file and show what it holds: config, fields, rows, bytes per part, checksums, training summary')
    .argument('<file>', 'model.alpt or checkpoint.alpt')
    .option('--json', 'one JSON line')
    .action((file: string, o) => runInspect(file, o));

  program
    .command('report')
    .description('one self-contained HTML page (charts as inline SVG) from run folders and/or compare results folders')
    .argument('<paths...>', 'run folders (summary.json, metrics.jsonl) or compare --results folders (runs.jsonl)')
    .option('--out <file>', 'output HTML file (default: <folder>/report.html for one folder, else report.html)')
    .option('--title <text>', 'page title')
    .action(async (paths: string[], o) => runReport(paths, o));

  showTrainDefaults(program);
  addServeCommand(program);

  await program.parseAsync(argv);
}
