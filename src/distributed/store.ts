// The parameter store of a distributed run: embedding rows (every per-row byte of the tables'
// state: packed codes, step size Δ, optimizer moments) and the control keys (barriers, dense
// averaging, heartbeats) on a Redis Cluster, through ioredis.
//
// Row keys: `a:<run>:{<bucket>}:<row>` with bucket = row mod `buckets` (a hash tag), one key per
// row. Rows of one bucket share a hash slot, so one MGET / one write script moves all of a batch's rows of that
// bucket; the commands of a batch are sent together (one write per node connection, ioredis
// pipelines them) and buckets spread over the masters' slots. One key per row makes concurrent
// writes of different rows independent.
//
// A row's value is a 4-byte version (uint32 LE, +1 per write) followed by the row's bytes. Writes go
// through one Lua script per bucket (atomic on its master) that compares each row's stored version
// with the one the writer read:
//   - 'force' (--store-conflicts last-writer): write anyway, return how many rows had changed since
//     they were read (an update of another worker that this write overwrites: a lost update);
//   - 'cas' (--store-conflicts retry): write only the rows still at the version read; return the
//     current bytes of the others, so the worker re-applies its gradient to them and retries.
//
// Every command runs under a deadline (`timeoutMs`): failures (a master down until its replica is
// promoted, CLUSTERDOWN, MOVED storms, closed connections) are retried with backoff and counted;
// past the deadline a StoreTimeoutError stops the run.

import { Cluster } from 'ioredis';

export class StoreTimeoutError extends Error {
  override name = 'StoreTimeoutError';
}

export interface StoreStats {
  /** Commands sent (row MGET / write scripts and control). */
  commands: number;
  /** Commands retried after an error (failover, timeout, …). */
  retries: number;
  /** Row writes given up on (never acknowledged before the deadline). */
  lostRowWrites: number;
  rowsPulled: number;
  rowsPushed: number;
  /** Row writes that found the row changed since it was read (lost under last-writer, re-applied under retry). */
  rowConflicts: number;
  /** Conditional write rounds repeated because of conflicts (retry rule). */
  casRounds: number;
  /** Rows written unconditionally after MAX_CAS_ROUNDS refused conditional writes in one step (retry rule). */
  casGaveUp: number;
  /** Payload bytes sent / received (keys + values of row and control commands). */
  bytesOut: number;
  bytesIn: number;
  /** Milliseconds spent awaiting the store (row transfers, barriers, averaging). */
  waitMs: number;
  /** Node connection errors and topology changes seen by the client (a failover shows here: ioredis retries those commands itself). */
  nodeEvents: number;
}

export function parseStoreAddress(spec: string): { host: string; port: number }[] {
  const out: { host: string; port: number }[] = [];
  for (let part of spec.split(',')) {
    part = part.trim().replace(/^redis:\/\//, '').replace(/\/.*$/, '');
    if (!part) continue;
    const m = /^(.*):(\d+)$/.exec(part);
    if (!m) throw new Error(`--store: expected redis://HOST:PORT[,HOST:PORT…], got "${spec}"`);
    out.push({ host: m[1] || '127.0.0.1', port: Number(m[2]) });
  }
  if (out.length === 0) throw new Error(`--store: no address in "${spec}"`);
  return out;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<never>((_, rej) => {
    timer = setTimeout(() => rej(new StoreTimeoutError(`${what}: no answer within ${Math.round(ms)} ms`)), Math.max(1, ms));
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

/** Bytes of the version header in front of every stored row. */
export const VERSION_BYTES = 4;

const PUSH_LUA = `
local mode = ARGV[1]
local n = #KEYS
if mode == 'force' then
  local lost = 0
  for i = 1, n do
    local exp = ARGV[1 + i]
    if exp ~= '' and redis.call('GETRANGE', KEYS[i], 0, 3) ~= exp then lost = lost + 1 end
    redis.call('SET', KEYS[i], ARGV[1 + n + i])
  end
  return lost
end
local out = {}
for i = 1, n do
  if redis.call('GETRANGE', KEYS[i], 0, 3) == ARGV[1 + i] then
    redis.call('SET', KEYS[i], ARGV[1 + n + i])
  else
    out[#out + 1] = i - 1
    out[#out + 1] = redis.call('GET', KEYS[i]) or ''
  end
end
return out
`;

const NO_VERSION = Buffer.alloc(0);

export type ConflictRule = 'last-writer' | 'retry';

/** A row whose conditional write was refused: its current version and bytes (header stripped). */
export interface RowConflict {
  i: number;
  version: number;
  value: Buffer;
}

type PushCommand = (numKeys: number, ...args: (string | Buffer)[]) => Promise<unknown>;

export interface StoreOptions {
  address: string;
  /** Run namespace of the keys. */
  run: string;
  /** Deadline of every store operation, ms. */
  timeoutMs: number;
  /** Hash-tag buckets of the row keys (default 64). */
  buckets?: number;
  log?: (msg: string) => void;
}

export class Store {
  readonly stats: StoreStats = { commands: 0, retries: 0, lostRowWrites: 0, rowConflicts: 0, casRounds: 0, casGaveUp: 0, rowsPulled: 0, rowsPushed: 0, bytesOut: 0, bytesIn: 0, waitMs: 0, nodeEvents: 0 };
  readonly buckets: number;
  readonly timeoutMs: number;
  private closed = false;
  private lastError = '';

  private constructor(readonly cluster: Cluster, readonly o: StoreOptions) {
    this.buckets = o.buckets ?? 64;
    this.timeoutMs = o.timeoutMs;
    cluster.defineCommand('alptPushRows', { lua: PUSH_LUA });
  }

  private get pushCommand(): PushCommand {
    const c = this.cluster as unknown as { alptPushRowsBuffer: PushCommand };
    return c.alptPushRowsBuffer.bind(c);
  }

  /** Connect (retrying until timeoutMs: a seed node may be down) or fail with a clear message. */
  static async connect(o: StoreOptions): Promise<Store> {
    const nodes = parseStoreAddress(o.address);
    const deadline = performance.now() + o.timeoutMs;
    let why = '';
    for (let attempt = 0; ; attempt++) {
      const cluster = new Cluster(nodes, {
        lazyConnect: true,
        enableOfflineQueue: true,
        retryDelayOnFailover: 100,
        retryDelayOnClusterDown: 100,
        retryDelayOnTryAgain: 100,
        maxRedirections: 64,
        slotsRefreshTimeout: 1000,
        clusterRetryStrategy: (times: number) => Math.min(100 * times, 1000),
        redisOptions: { connectTimeout: Math.min(2000, o.timeoutMs), maxRetriesPerRequest: 3 },
      });
      const s = new Store(cluster, o);
      cluster.on('error', (e: Error) => {
        s.lastError = e.message;
      });
      cluster.on('node error', () => s.stats.nodeEvents++);
      cluster.on('-node', () => s.stats.nodeEvents++);
      try {
        await withTimeout(cluster.connect(), Math.max(1, deadline - performance.now()), 'connect');
        return s;
      } catch (e) {
        cluster.disconnect();
        why = s.lastError || (e as Error).message;
        if (performance.now() + 200 >= deadline) break;
        await sleep(Math.min(100 * 2 ** attempt, 1000));
      }
    }
    throw new StoreTimeoutError(`cannot reach the Redis Cluster at ${o.address} within ${(o.timeoutMs / 1000).toFixed(1)} s (${why})`);
  }

  /** host:port of every node the client knows (seed list for other processes). */
  addresses(): string {
    const a = this.cluster.nodes('all').map((n) => `${n.options.host}:${n.options.port}`);
    return a.length ? 'redis://' + a.join(',') : this.o.address;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    try {
      await withTimeout(this.cluster.quit(), 2000, 'quit');
    } catch {
      this.cluster.disconnect();
    }
  }

  /** Run f with retries until the store deadline; counts retries. */
  async op<T>(what: string, f: () => Promise<T>): Promise<T> {
    const t0 = performance.now();
    const deadline = t0 + this.timeoutMs;
    for (let attempt = 0; ; attempt++) {
      this.stats.commands++;
      try {
        const r = await withTimeout(f(), deadline - performance.now(), what);
        return r;
      } catch (e) {
        const msg = (e as Error).message;
        if (performance.now() + 50 >= deadline || this.closed) {
          throw new StoreTimeoutError(`Redis Cluster unavailable for ${(this.timeoutMs / 1000).toFixed(1)} s (--store-timeout): ${what}: ${msg}`);
        }
        this.stats.retries++;
        if (attempt === 0) this.o.log?.(`store: ${what}: ${msg}; retrying`);
        await sleep(Math.min(50 * 2 ** attempt, 500));
      }
    }
  }

  private timed<T>(p: Promise<T>): Promise<T> {
    const t0 = performance.now();
    return p.finally(() => {
      this.stats.waitMs += performance.now() - t0;
    });
  }

  rowKey(row: number): string {
    return `a:${this.o.run}:{${row % this.buckets}}:${row}`;
  }

  ctlKey(name: string): string {
    return `a:${this.o.run}:{ctl}:${name}`;
  }

  /** Group indices 0..count-1 of rows[] by bucket. */
  private group(rows: Int32Array, count: number): number[][] {
    const g: number[][] = [];
    for (let i = 0; i < count; i++) {
      const b = rows[i] % this.buckets;
      (g[b] ??= []).push(i);
    }
    return g.filter((x) => x !== undefined);
  }

  /** Fetch rows[0..count); onRow(i, value, version) for each (value: the row's bytes, header stripped). Missing rows are errors. */
  pullRows(rows: Int32Array, count: number, onRow: (i: number, value: Buffer, version: number) => void): Promise<void> {
    const jobs = this.group(rows, count).map((idx) => {
      const keys = idx.map((i) => this.rowKey(rows[i]));
      return this.op('MGET rows', () => this.cluster.mgetBuffer(...keys)).then((vals) => {
        for (let j = 0; j < idx.length; j++) {
          const v = vals[j];
          if (v === null) throw new Error(`row ${rows[idx[j]]} is not in the store (run "${this.o.run}" not seeded, or its keys were lost)`);
          this.stats.bytesIn += v.byteLength;
          this.stats.bytesOut += keys[j].length;
          onRow(idx[j], v.subarray(VERSION_BYTES), v.readUInt32LE(0));
        }
        this.stats.rowsPulled += idx.length;
      });
    });
    return this.timed(Promise.all(jobs).then(() => undefined));
  }

  /**
   * Write rows[0..count) with value(i) as their bytes. `read[i]` is the version row i had when it was
   * read (undefined: unconditional write of version 0, for seeding). Rule 'last-writer': every row is
   * written; rows changed since they were read count in stats.rowConflicts. Rule 'retry': only rows
   * still at their read version are written (as read + 1); the others come back as conflicts.
   */
  pushRows(rows: Int32Array, count: number, value: (i: number) => Buffer, read?: Uint32Array, rule: ConflictRule = 'last-writer'): Promise<RowConflict[]> {
    const mode = rule === 'retry' && read ? 'cas' : 'force';
    const conflicts: RowConflict[] = [];
    const jobs = this.group(rows, count).map((idx) => {
      const keys: string[] = [], exp: Buffer[] = [], vals: Buffer[] = [];
      for (const i of idx) {
        const k = this.rowKey(rows[i]);
        const v = value(i);
        let head = NO_VERSION;
        const nh = Buffer.alloc(VERSION_BYTES);
        if (read) {
          head = Buffer.allocUnsafe(VERSION_BYTES);
          head.writeUInt32LE(read[i]);
          nh.writeUInt32LE((read[i] + 1) >>> 0);
        }
        keys.push(k);
        exp.push(head);
        vals.push(Buffer.concat([nh, v]));
        this.stats.bytesOut += k.length + head.length + VERSION_BYTES + v.byteLength;
      }
      const args: (string | Buffer)[] = [...keys, mode, ...exp, ...vals];
      return this.op('push rows', () => this.pushCommand(keys.length, ...args)).then(
        (r) => {
          if (mode === 'force') {
            this.stats.rowConflicts += Number(r);
            this.stats.rowsPushed += idx.length;
            return;
          }
          const out = r as (number | Buffer)[];
          for (let j = 0; j < out.length; j += 2) {
            const i = idx[Number(out[j])];
            const cur = out[j + 1] as Buffer;
            if (cur.byteLength < VERSION_BYTES) throw new Error(`row ${rows[i]} vanished from the store during a conditional write`);
            this.stats.bytesIn += cur.byteLength;
            conflicts.push({ i, version: cur.readUInt32LE(0), value: cur.subarray(VERSION_BYTES) });
          }
          this.stats.rowConflicts += out.length / 2;
          this.stats.rowsPushed += idx.length - out.length / 2;
        },
        (e) => {
          this.stats.lostRowWrites += idx.length;
          throw e;
        },
      );
    });
    return this.timed(Promise.all(jobs).then(() => conflicts));
  }

  async setCtl(name: string, value: string | Buffer, ttlMs = 6 * 3600_000): Promise<void> {
    this.stats.bytesOut += value.length;
    await this.timed(this.op(`SET ${name}`, () => this.cluster.set(this.ctlKey(name), value, 'PX', ttlMs)));
  }

  async getCtl(name: string): Promise<string | null> {
    return this.timed(this.op(`GET ${name}`, () => this.cluster.get(this.ctlKey(name))));
  }

  async getCtlBuffers(names: string[]): Promise<(Buffer | null)[]> {
    const vals = await this.timed(this.op('MGET control', () => this.cluster.mgetBuffer(...names.map((n) => this.ctlKey(n)))));
    for (const v of vals) if (v) this.stats.bytesIn += v.byteLength;
    return vals;
  }

  async delCtl(names: string[]): Promise<void> {
    if (names.length) await this.op('DEL control', () => this.cluster.del(...names.map((n) => this.ctlKey(n))));
  }

  async incrCtl(name: string): Promise<number> {
    // INCR is not idempotent: a retried INCR after a lost reply could count twice, so barriers use
    // SADD of the rank (idempotent) instead; INCR serves only generation counters.
    return this.op(`INCR ${name}`, () => this.cluster.incr(this.ctlKey(name)));
  }

  /** Add `member` to a set; returns the set's size. Idempotent under retries. */
  async joinSet(name: string, member: string, ttlMs = 6 * 3600_000): Promise<number> {
    const k = this.ctlKey(name);
    return this.timed(
      this.op(`SADD ${name}`, async () => {
        const r = await this.cluster.multi().sadd(k, member).pexpire(k, ttlMs).scard(k).exec();
        if (!r) throw new Error('transaction aborted');
        for (const [err] of r) if (err) throw err;
        return Number(r[2][1]);
      }),
    );
  }

  async setSize(name: string): Promise<number> {
    return this.op(`SCARD ${name}`, () => this.cluster.scard(this.ctlKey(name)));
  }

  /** Delete every key of this run (rows and control), by SCAN on each master. Bounded by the key count. */
  async clearRun(): Promise<number> {
    let n = 0;
    for (const node of this.cluster.nodes('master')) {
      let cursor = '0';
      do {
        const [next, keys] = await this.op('SCAN', () => node.scan(cursor, 'MATCH', `a:${this.o.run}:*`, 'COUNT', 1000));
        cursor = next;
        for (const k of keys) {
          await this.op('DEL', () => this.cluster.del(k));
          n++;
        }
      } while (cursor !== '0');
    }
    return n;
  }

  /** Network counters of every node (Redis INFO stats), for wire-byte measurements. */
  async netBytes(): Promise<{ input: number; output: number; replInput: number; replOutput: number }> {
    const tot = { input: 0, output: 0, replInput: 0, replOutput: 0 };
    for (const node of this.cluster.nodes('all')) {
      const info = await this.op('INFO stats', () => node.info('stats'));
      const num = (k: string) => Number(new RegExp(`^${k}:(\\d+)`, 'm').exec(info)?.[1] ?? 0);
      tot.input += num('total_net_input_bytes');
      tot.output += num('total_net_output_bytes');
      tot.replInput += num('total_net_repl_input_bytes');
      tot.replOutput += num('total_net_repl_output_bytes');
    }
    return tot;
  }
}
