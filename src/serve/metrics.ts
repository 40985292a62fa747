// The server's Prometheus metrics (prom-client, one registry per server so tests can run several).
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { ModelEntry } from './model-slot.js';

export class ServeMetrics {
  readonly registry = new Registry();
  readonly requests: Counter<'route' | 'method' | 'status'>;
  readonly errors: Counter<'route' | 'status' | 'code'>;
  readonly latency: Histogram<'route'>;
  readonly batchRows: Histogram;
  readonly batchRequests: Histogram;
  readonly batchSeconds: Histogram;
  readonly rowsScored: Counter;
  readonly modelInfo: Gauge<'version' | 'sha256' | 'path'>;
  readonly modelLoadTime: Gauge;
  readonly modelLoadSeconds: Gauge;
  readonly reloads: Counter<'result'>;

  constructor(opts: { defaultMetrics?: boolean } = {}) {
    const registers = [this.registry];
    if (opts.defaultMetrics !== false) collectDefaultMetrics({ register: this.registry });
    this.requests = new Counter({ name: 'alpt_http_requests_total', help: 'HTTP requests answered, by route, method and status', labelNames: ['route', 'method', 'status'], registers });
    this.errors = new Counter({ name: 'alpt_http_errors_total', help: 'HTTP requests answered with a 4xx or 5xx, by route, status and error code', labelNames: ['route', 'status', 'code'], registers });
    this.latency = new Histogram({
      name: 'alpt_http_request_duration_seconds',
      help: 'Time from a request arriving to its answer being sent, by route',
      labelNames: ['route'],
      buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5],
      registers,
    });
    this.batchRows = new Histogram({ name: 'alpt_batch_rows', help: 'Rows per forward pass', buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096], registers });
    this.batchRequests = new Histogram({ name: 'alpt_batch_requests', help: 'Requests merged into one forward pass', buckets: [1, 2, 4, 8, 16, 32, 64, 128], registers });
    this.batchSeconds = new Histogram({ name: 'alpt_batch_duration_seconds', help: 'Seconds per forward pass', buckets: [0.0002, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2], registers });
    this.rowsScored = new Counter({ name: 'alpt_rows_scored_total', help: 'Rows scored', registers });
    this.modelInfo = new Gauge({ name: 'alpt_model_info', help: 'The serving model (value 1): version, sha256 and file', labelNames: ['version', 'sha256', 'path'], registers });
    this.modelLoadTime = new Gauge({ name: 'alpt_model_loaded_timestamp_seconds', help: 'When the serving model was loaded (seconds since the epoch)', registers });
    this.modelLoadSeconds = new Gauge({ name: 'alpt_model_load_duration_seconds', help: 'Seconds the serving model took to read, verify and load', registers });
    this.reloads = new Counter({ name: 'alpt_model_reloads_total', help: 'Model reloads, by result (ok, refused)', labelNames: ['result'], registers });
    this.reloads.inc({ result: 'ok' }, 0);
    this.reloads.inc({ result: 'refused' }, 0);
  }

  batch(rows: number, requests: number, seconds: number): void {
    this.batchRows.observe(rows);
    this.batchRequests.observe(requests);
    this.batchSeconds.observe(seconds);
    this.rowsScored.inc(rows);
  }

  serving(e: ModelEntry, path: string): void {
    this.modelInfo.reset();
    this.modelInfo.set({ version: e.version, sha256: e.sha256, path }, 1);
    this.modelLoadTime.set(e.loadedAt / 1000);
    this.modelLoadSeconds.set(e.loadSeconds);
  }
}
