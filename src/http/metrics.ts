import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** Prometheus metrics of one server (its own registry, so several servers in one process do not collide). */
export class ServiceMetrics {
  readonly registry = new Registry();
  readonly requests: Counter<'method' | 'route' | 'status'>;
  readonly latency: Histogram<'route'>;
  readonly batchSize: Histogram;
  readonly batchSeconds: Histogram;
  readonly refused: Counter<'reason'>;
  readonly errors: Counter<'code'>;
  /** Error answers of the last hour, by time (for /v1/system). */
  private readonly recent: { at: number; code: string }[] = [];

  constructor(queueDepth: () => { admission: number; running: number; embedder: number }) {
    collectDefaultMetrics({ register: this.registry, prefix: 'faceprint_' });
    this.requests = new Counter({ name: 'faceprint_http_requests_total', help: 'HTTP requests by route and status', labelNames: ['method', 'route', 'status'], registers: [this.registry] });
    this.latency = new Histogram({
      name: 'faceprint_http_request_duration_seconds', help: 'HTTP request latency', labelNames: ['route'], registers: [this.registry],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    });
    this.batchSize = new Histogram({ name: 'faceprint_embed_batch_size', help: 'faces per recognizer run', registers: [this.registry], buckets: [1, 2, 4, 8, 16, 32, 64] });
    this.batchSeconds = new Histogram({ name: 'faceprint_embed_batch_duration_seconds', help: 'recognizer run time', registers: [this.registry], buckets: [0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1] });
    this.errors = new Counter({ name: 'faceprint_http_errors_total', help: 'error answers by code', labelNames: ['code'], registers: [this.registry] });
    this.refused = new Counter({ name: 'faceprint_requests_refused_total', help: 'requests refused for capacity (503)', labelNames: ['reason'], registers: [this.registry] });
    new Gauge({
      name: 'faceprint_queue_depth', help: 'work waiting: requests for a model slot, faces for the recognizer', labelNames: ['queue'], registers: [this.registry],
      collect() {
        const q = queueDepth();
        this.set({ queue: 'requests_waiting' }, q.admission);
        this.set({ queue: 'requests_running' }, q.running);
        this.set({ queue: 'faces_waiting' }, q.embedder);
      },
    });
  }

  /** Counts an error answer. */
  noteError(code: string, now = Date.now()): void {
    this.errors.inc({ code });
    this.recent.push({ at: now, code });
    this.prune(now);
  }

  /** Error answers of the last hour by code. */
  recentErrors(now = Date.now()): Record<string, number> {
    this.prune(now);
    const out: Record<string, number> = {};
    for (const e of this.recent) out[e.code] = (out[e.code] ?? 0) + 1;
    return out;
  }

  private prune(now: number): void {
    let drop = 0;
    while (drop < this.recent.length && (this.recent[drop].at < now - 3_600_000 || this.recent.length - drop > 10_000)) drop++;
    if (drop) this.recent.splice(0, drop);
  }
}
