// `alpt serve`: score raw rows over HTTP with a model file. SIGHUP reloads the file (the old model
// keeps serving when the new one is refused); SIGTERM / SIGINT stop accepting, drain the requests
// in flight (at most --drain-timeout) and exit 0 (1 when the drain timed out).
import { Command, Option } from 'commander';
import { SERVE_DEFAULTS, startServer } from '../serve/server.js';

export function addServeCommand(program: Command): void {
  const d = SERVE_DEFAULTS;
  program
    .command('serve')
    .description('serve a model over HTTP: POST /v1/predict, GET /healthz /readyz /metrics; SIGHUP reloads the model file')
    .requiredOption('--model <file>', 'model file (model.alpt)')
    .option('--host <host>', 'address to listen on', d.host)
    .option('--port <n>', 'port (0: any free port)', String(d.port))
    .option('--max-batch <rows>', 'rows per forward pass at most (dynamic batching; 1: no merging of 1-row requests)', String(d.maxBatch))
    .option('--max-wait-ms <ms>', 'how long a request waits for others to share its forward pass (0: merge the requests that arrived in the same event-loop turn, no added wait)', String(d.maxWaitMs))
    .option('--max-rows <n>', 'rows per request at most', String(d.maxRows))
    .option('--max-body <bytes>', 'request body size at most (413 above); k/m suffixes allowed', String(d.maxBody))
    .option('--max-string <n>', 'characters of one value at most', String(d.maxString))
    .option('--request-timeout <ms>', 'a request must arrive completely within this (408 after)', String(d.requestTimeoutMs))
    .option('--drain-timeout <ms>', 'on SIGTERM/SIGINT, wait this long for requests in flight', String(d.drainTimeoutMs))
    .option('--admin-token <token>', 'allow POST /v1/admin/reload from anywhere with "Authorization: Bearer <token>" (default: loopback only; or env ALPT_ADMIN_TOKEN)')
    .addOption(new Option('--backend <kind>', 'kernel backend').choices(['auto', 'blas', 'wasm', 'js']).default('auto'))
    .option('--threads <n>', 'kernel threads (the event loop uses another core)', String(d.threads))
    .addOption(new Option('--log-level <level>', 'log level').choices(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info'))
    .option('--log-requests', 'one log line per request (info)')
    .action(async (o) => runServe(o));
}

function int(name: string, v: string, min = 0): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new Error(`--${name}: expected an integer ≥ ${min}, got ${v}`);
  return n;
}

function bytes(v: string): number {
  const m = /^(\d+)\s*([kKmM]?)[bB]?$/.exec(v.trim());
  if (!m) throw new Error(`--max-body: expected bytes (e.g. 4194304, 512k, 4m), got ${v}`);
  return Number(m[1]) * (m[2].toLowerCase() === 'k' ? 1024 : m[2].toLowerCase() === 'm' ? 1024 * 1024 : 1);
}

interface ServeFlags {
  model: string;
  host: string;
  port: string;
  maxBatch: string;
  maxWaitMs: string;
  maxRows: string;
  maxBody: string;
  maxString: string;
  requestTimeout: string;
  drainTimeout: string;
  adminToken?: string;
  backend: 'auto' | 'blas' | 'wasm' | 'js';
  threads: string;
  logLevel: string;
  logRequests?: boolean;
}

export async function runServe(o: ServeFlags): Promise<void> {
  const maxWaitMs = Number(o.maxWaitMs);
  if (!(maxWaitMs >= 0)) throw new Error(`--max-wait-ms: expected a number ≥ 0, got ${o.maxWaitMs}`);
  const server = await startServer({
    model: o.model,
    host: o.host,
    port: int('port', o.port),
    maxBatch: int('max-batch', o.maxBatch, 1),
    maxWaitMs,
    maxRows: int('max-rows', o.maxRows, 1),
    maxBody: bytes(o.maxBody),
    maxString: int('max-string', o.maxString, 1),
    requestTimeoutMs: int('request-timeout', o.requestTimeout, 1),
    drainTimeoutMs: int('drain-timeout', o.drainTimeout, 0),
    adminToken: o.adminToken ?? process.env.ALPT_ADMIN_TOKEN,
    backend: o.backend,
    threads: int('threads', o.threads, 1),
    logger: { level: o.logLevel },
    logRequests: !!o.logRequests,
  });
  const log = server.app.log;
  const e = server.slot.current!;
  const m = e.model.info;
  log.info({ url: server.url, model: { version: e.version, sha256: e.sha256, path: o.model, kind: m.model, embedding: m.embedding, bits: m.bits, fields: m.input?.required.length }, pid: process.pid }, 'serving');

  process.on('SIGHUP', () => {
    log.info('SIGHUP: reloading the model file');
    void server.reload(); // logs and counts its outcome
  });
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) {
      log.warn(`${signal} again: exiting without draining`);
      process.exit(1);
    }
    stopping = true;
    log.info(`${signal}: draining`);
    server.shutdown().then(
      ({ drained }) => {
        log.info({ drained }, 'stopped');
        process.exit(drained ? 0 : 1);
      },
      (err) => {
        log.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}
