// The `alpt` command line. Each subcommand lives in its own file; the library never imports the CLI.

import { Command, Option } from 'commander';
import { addTrainOptions } from './train-options.js';
import { runTrain } from './train-command.js';
import { runSynth } from './synth-command.js';
import { runDemo } from './demo-command.js';
import { runMemory } from './memory-command.js';
import { runCompare } from './compare-command.js';
import { runBench } from './bench-command.js';
import { addServeCommand } from './serve-command.js';

export async function main(argv: string[]): Promise<void> {
  const program = new Command('alpt')
    .description('Train and evaluate CTR models with low-precision (2/4/8-bit) embedding tables (LPT / ALPT)')
    .showHelpAfterError()
    .exitOverride((err) => {
      // commander already printed the message; keep its exit code
      process.exit(err.exitCode);
    });

  addTrainOptions(program.command('train').description('train a model and print a JSON summary'))
    .option('--resume', 'continue from <out>/checkpoint.alpt')
    .action(async (_o, cmd: Command) => runTrain(cmd));

  addTrainOptions(program.command('compare').description('grid of methods × bit widths × seeds; Markdown table, CSV and JSON'), { bitsList: true })
    .option('--methods <list>', 'embedding methods', 'fp32,lpt-dr,lpt-sr,alpt,alpt-fast,lsq')
    .option('--seeds <n|list>', 'number of seeds (1..n) or a list', '3')
    .option('--results <dir>', 'where compare.csv / compare.json / compare.md go', 'runs/compare')
    .option('--from-runs <files>', 'no training: tabulate runs.jsonl files of earlier compare runs (comma separated)')
    .action(async (_o, cmd: Command) => runCompare(cmd));

  program
    .command('synth')
    .description('write seeded Criteo-like data (train.txt, valid.txt, test.txt)')
    .requiredOption('--out <dir>', 'output folder')
    .option('--rows <n>', 'training rows', '100000')
    .option('--valid-rows <n>', 'validation rows')
    .option('--test-rows <n>', 'test rows')
    .option('--cardinality <n>', 'largest field vocabulary', '10000')
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
    .addOption(new Option('--step-optimizer <name>', 'optimizer of the learned step sizes (alpt)').choices(['adam', 'sgd']))
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
    .action(async (_o, cmd: Command) => runBench(cmd));

  addServeCommand(program);

  await program.parseAsync(argv);
}
