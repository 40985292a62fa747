// `alpt serve`: a fastify app scoring raw rows with a model file. createServer builds it (model
// loaded, not listening: tests use it in-process); startServer also listens. Signals belong to the
// CLI (serve-command.ts), which calls reload() and shutdown().
import { timingSafeEqual } from 'node:crypto';
import Fastify, { LogController, type FastifyError, type FastifyInstance, type FastifyReply } from 'fastify';
import type { LoadOptions } from '../predict/loaded-model.js';
import { RowError, type RawRow } from '../predict/raw-encoder.js';
import { Batcher } from './batcher.js';
import { ServeMetrics } from './metrics.js';
import { loadEntry, ModelSlot, type ModelEntry } from './model-slot.js';

export interface ServeOptions {
  /** The model file (model.alpt). */
  model: string;
  host?: string;
  /** 0: an ephemeral port. */
  port?: number;
  /** Rows per forward pass at most (dynamic batching); 1 turns merging off for 1-row requests. */
  maxBatch?: number;
  /** How long a request waits for others to share its forward pass; 0 (default): only requests that arrived in the same event-loop turn (those that queued up during the previous pass) are merged, with no added wait. */
  maxWaitMs?: number;
  /** Rows per request at most. */
  maxRows?: number;
  /** Request body bytes at most (413 above). */
  maxBody?: number;
  /** Characters of one value (or raw line) at most. */
  maxString?: number;
  /** A request must arrive completely within this (408 after), ms. */
  requestTimeoutMs?: number;
  /** Shutdown waits this long for requests in flight, ms. */
  drainTimeoutMs?: number;
  /** When set, POST /v1/admin/reload needs `Authorization: Bearer <token>`; otherwise it is loopback only. */
  adminToken?: string;
  /** Kernel backend of the model (default: auto) and its threads (default 1: the event loop is the other core). */
  backend?: LoadOptions['kind'];
  threads?: number;
  /** fastify's pino logger: false (off), true (info) or pino options. */
  logger?: boolean | Record<string, unknown>;
  /** One log line per request (info). Errors are always logged. */
  logRequests?: boolean;
  /** Process metrics (RSS, CPU, event loop) in /metrics; default true. */
  defaultMetrics?: boolean;
}

export const SERVE_DEFAULTS = {
  host: '127.0.0.1',
  port: 8080,
  maxBatch: 512,
  maxWaitMs: 0,
  maxRows: 1000,
  maxBody: 4 * 1024 * 1024,
  maxString: 1024,
  requestTimeoutMs: 10_000,
  drainTimeoutMs: 10_000,
  threads: 1,
} as const;

export interface ReloadResult {
  ok: boolean;
  model: { version: string; sha256: string };
  previous?: { version: string; sha256: string };
  error?: string;
}

export interface AlptServer {
  readonly app: FastifyInstance;
  readonly slot: ModelSlot;
  readonly batcher: Batcher;
  readonly metrics: ServeMetrics;
  readonly options: Required<Omit<ServeOptions, 'adminToken' | 'backend' | 'logger'>> & ServeOptions;
  /** Load the model file again, verify it, switch; a refused file leaves the old model serving. */
  reload(): Promise<ReloadResult>;
  /** Listen on host:port; the URL it listens on. */
  listen(): Promise<string>;
  /** Stop accepting, finish requests in flight (at most drainTimeoutMs), release the model. */
  shutdown(): Promise<{ drained: boolean }>;
}

const ident = (e: ModelEntry): { version: string; sha256: string } => ({ version: e.version, sha256: e.sha256 });

interface PredictBody {
  rows: RawRow[];
}

/** The error answer: what went wrong, and the row and field at fault when one is. */
function errorBody(status: number, code: string, message: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  const names: Record<number, string> = { 400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found', 408: 'Request Timeout', 413: 'Payload Too Large', 415: 'Unsupported Media Type', 422: 'Unprocessable Entity', 500: 'Internal Server Error', 503: 'Service Unavailable' };
  return { statusCode: status, error: names[status] ?? 'Error', code, message, ...extra };
}

/** ajv's instance path /rows/3/C1 → "row 3: field C1: …", as RowError words it. */
function schemaMessage(path: string, message: string): { message: string; row?: number; field?: string } {
  const m = /^\/rows\/(\d+)(?:\/(.+))?$/.exec(path);
  if (m) {
    const row = Number(m[1]);
    const field = m[2]?.replace(/~1/g, '/').replace(/~0/g, '~');
    if (field === undefined) return { message: `row ${row}: ${message}`, row };
    return { message: `row ${row}: field ${/^\d+$/.test(field) ? `#${field} (in column order)` : field}: ${message}`, row, field };
  }
  return { message: `body${path.replace(/\//g, '.')} ${message}` };
}

export async function createServer(options: ServeOptions): Promise<AlptServer> {
  const o = { ...SERVE_DEFAULTS, logRequests: false, defaultMetrics: true, ...stripUndefined(options) };
  for (const k of ['maxBatch', 'maxRows', 'maxBody', 'maxString', 'requestTimeoutMs'] as const) {
    if (!(Number.isInteger(o[k]) && o[k] >= 1)) throw new Error(`serve: ${k} must be a positive integer, got ${o[k]}`);
  }
  if (!(o.maxWaitMs >= 0)) throw new Error(`serve: maxWaitMs must be ≥ 0, got ${o.maxWaitMs}`);
  const loadOpts: LoadOptions = { kind: o.backend, threads: o.threads };
  const metrics = new ServeMetrics({ defaultMetrics: o.defaultMetrics });
  const slot = new ModelSlot();
  const first = await loadEntry(o.model, loadOpts);
  slot.swap(first);
  metrics.serving(first, o.model);
  const batcher = new Batcher({ maxBatch: o.maxBatch, maxWaitMs: o.maxWaitMs, onBatch: (r, q, s) => metrics.batch(r, q, s) });

  const app = Fastify({
    logger: o.logger ?? false,
    bodyLimit: o.maxBody,
    requestTimeout: o.requestTimeoutMs,
    // Node checks request timeouts every connectionsCheckingInterval (30 s by default).
    http: { connectionsCheckingInterval: Math.min(1000, Math.max(50, Math.floor(o.requestTimeoutMs / 4))), headersTimeout: o.requestTimeoutMs },
    keepAliveTimeout: 5000,
    forceCloseConnections: 'idle',
    logController: new LogController({ disableRequestLogging: !o.logRequests }),
    onProtoPoisoning: 'error',
    onConstructorPoisoning: 'error',
    // Validate exactly: no coercion, no silently dropped properties.
    ajv: { customOptions: { allowUnionTypes: true, coerceTypes: false, removeAdditional: false, useDefaults: false, allErrors: false } },
  });
  // JSON only: text/plain and anything else is 415.
  app.removeContentTypeParser('text/plain');

  let closing = false;
  const cell = { type: ['string', 'number', 'null'], maxLength: o.maxString };
  const predictSchema = {
    body: {
      type: 'object',
      required: ['rows'],
      additionalProperties: false,
      properties: {
        rows: {
          type: 'array',
          minItems: 1,
          maxItems: o.maxRows,
          items: {
            // A record, values in column order, or a raw line of the training format.
            type: ['object', 'array', 'string'],
            maxProperties: 256,
            additionalProperties: cell,
            maxItems: 256,
            items: cell,
            maxLength: o.maxString * 4,
          },
        },
      },
    },
    response: {
      200: {
        type: 'object',
        properties: {
          scores: { type: 'array', items: { type: 'number' } },
          model: { type: 'object', properties: { version: { type: 'string' }, sha256: { type: 'string' } } },
        },
      },
    },
  };

  app.setSchemaErrorFormatter((errors, dataVar) => {
    const e = errors[0];
    const m = schemaMessage(e?.instancePath ?? '', e?.message ?? 'is invalid');
    const err = new Error(dataVar === 'body' ? m.message : `${dataVar}: ${m.message}`) as Error & { row?: number; field?: string };
    if (m.row !== undefined) err.row = m.row;
    if (m.field !== undefined) err.field = m.field;
    return err;
  });

  // The error code of each error answer, for the errors metric.
  const errorCodes = new WeakMap<FastifyReply, string>();
  app.setErrorHandler((err: FastifyError & { row?: number; field?: string }, req, reply) => {
    if (err instanceof RowError) {
      req.log.warn({ status: 400, row: err.row, field: err.field }, err.message);
      errorCodes.set(reply, 'BAD_ROW');
      reply.code(400).send(errorBody(400, 'BAD_ROW', err.message, { row: err.row, field: err.field }));
      return;
    }
    const status = err.validation ? 400 : err.statusCode && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 500;
    if (status >= 500) {
      req.log.error({ err }, 'internal error');
      errorCodes.set(reply, 'INTERNAL');
      reply.code(500).send(errorBody(500, err.code ?? 'INTERNAL', 'internal error'));
      return;
    }
    const code = err.validation ? 'BAD_REQUEST' : err.code ?? 'BAD_REQUEST';
    const extra: Record<string, unknown> = {};
    if (err.row !== undefined) extra.row = err.row;
    if (err.field !== undefined) extra.field = err.field;
    req.log.warn({ status, code }, err.message);
    errorCodes.set(reply, code);
    reply.code(status).send(errorBody(status, code, err.message, extra));
  });

  app.addHook('onResponse', async (req, reply) => {
    const route = req.routeOptions.url ?? 'unmatched';
    const status = String(reply.statusCode);
    metrics.requests.inc({ route, method: req.method, status });
    if (reply.statusCode >= 400) {
      const code = errorCodes.get(reply) ?? (reply.statusCode === 404 ? 'NOT_FOUND' : 'error');
      metrics.errors.inc({ route, status, code });
    }
    metrics.latency.observe({ route }, reply.elapsedTime / 1000);
  });
  // Requests refused by Node's HTTP parser before routing (408 slow clients, malformed HTTP).
  app.server.on('clientError', (err: NodeJS.ErrnoException) => {
    if (err.code === 'ECONNRESET') return;
    const status = err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? '408' : err.code === 'HPE_HEADER_OVERFLOW' ? '431' : '400';
    metrics.requests.inc({ route: 'client_error', method: 'unknown', status });
    metrics.errors.inc({ route: 'client_error', status, code: err.code ?? 'error' });
    app.log.warn({ status: Number(status), code: err.code }, `client error: ${err.message}`);
  });

  app.post<{ Body: PredictBody }>('/v1/predict', { schema: predictSchema }, async (req) => {
    const entry = slot.acquire();
    try {
      const rows = req.body.rows;
      const { ids } = entry.model.encode(rows);
      const scores = await batcher.submit(entry, ids, rows.length);
      return { scores: Array.from(scores), model: ident(entry) };
    } finally {
      entry.release();
    }
  });

  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_req, reply) => {
    const e = slot.current;
    if (!e || closing) return reply.code(503).send(errorBody(503, 'NOT_READY', closing ? 'shutting down' : 'no model is loaded'));
    return { status: 'ready', model: ident(e) };
  });
  app.get('/metrics', async (_req, reply) => {
    reply.header('content-type', metrics.registry.contentType);
    return metrics.registry.metrics();
  });

  let reloading: Promise<ReloadResult> = Promise.resolve({ ok: true, model: ident(first) });
  const doReload = async (): Promise<ReloadResult> => {
    const current = slot.current!;
    try {
      const next = await loadEntry(o.model, loadOpts, current.model);
      slot.swap(next);
      metrics.serving(next, o.model);
      metrics.reloads.inc({ result: 'ok' });
      app.log.info({ version: next.version, sha256: next.sha256, previous: current.version, loadSeconds: next.loadSeconds }, 'model reloaded');
      return { ok: true, model: ident(next), previous: ident(current) };
    } catch (e) {
      metrics.reloads.inc({ result: 'refused' });
      const error = (e as Error).message;
      app.log.error({ err: e, version: current.version }, `model reload refused, still serving ${current.version}: ${error}`);
      return { ok: false, model: ident(current), error };
    }
  };
  const reload = (): Promise<ReloadResult> => (reloading = reloading.then(doReload, doReload));

  // The reload route takes no body: any content type (or none) is accepted and ignored.
  await app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: 4096 }, (_req, _body, done) => done(null, undefined));
    scope.post('/v1/admin/reload', async (req, reply) => {
      if (o.adminToken !== undefined) {
        const got = Buffer.from(String(req.headers.authorization ?? ''));
        const want = Buffer.from(`Bearer ${o.adminToken}`);
        if (got.length !== want.length || !timingSafeEqual(got, want)) {
          return reply.code(401).send(errorBody(401, 'UNAUTHORIZED', 'reload needs Authorization: Bearer <admin token>'));
        }
      } else if (!isLoopback(req.socket.remoteAddress)) {
        return reply.code(403).send(errorBody(403, 'FORBIDDEN', 'reload is allowed from loopback only (or start the server with --admin-token)'));
      }
      const r = await reload();
      if (!r.ok) return reply.code(422).send(errorBody(422, 'MODEL_REFUSED', `the new model file was refused; still serving ${r.model.version}: ${r.error}`, { model: r.model }));
      return r;
    });
  });

  const server: AlptServer = {
    app,
    slot,
    batcher,
    metrics,
    options: o,
    reload,
    async listen() {
      return app.listen({ host: o.host, port: o.port });
    },
    async shutdown() {
      closing = true;
      let timer: NodeJS.Timeout | undefined;
      const drained = await Promise.race([
        app.close().then(() => true),
        new Promise<boolean>((res) => (timer = setTimeout(() => res(false), o.drainTimeoutMs))),
      ]);
      clearTimeout(timer);
      if (!drained) {
        app.log.error({ drainTimeoutMs: o.drainTimeoutMs }, 'drain timeout: closing the connections still open');
        app.server.closeAllConnections();
      }
      batcher.flushNow();
      await reloading.catch(() => undefined);
      slot.clear();
      return { drained };
    },
  };
  return server;
}

/** createServer, then listen. */
export async function startServer(options: ServeOptions): Promise<AlptServer & { url: string }> {
  const s = await createServer(options);
  try {
    const url = await s.listen();
    return Object.assign(s, { url });
  } catch (e) {
    s.slot.clear();
    throw e;
  }
}

export function isLoopback(addr: string | undefined): boolean {
  if (!addr) return false;
  return addr === '::1' || addr.startsWith('127.') || addr.startsWith('::ffff:127.');
}

function stripUndefined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}
