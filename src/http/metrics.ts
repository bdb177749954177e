import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** Prometheus metrics of one server (its own registry, so several servers in one process do not collide). */
export class ServiceMetrics {
  readonly registry = new Registry();
  readonly requests: Counter<'method' | 'route' | 'status'>;
  readonly latency: Histogram<'route'>;
  readonly batchSize: Histogram;
  readonly batchSeconds: Histogram;
  readonly refused: Counter<'reason'>;

  constructor(queueDepth: () => { admission: number; running: number; embedder: number }) {
    collectDefaultMetrics({ register: this.registry, prefix: 'faceprint_' });
    this.requests = new Counter({ name: 'faceprint_http_requests_total', help: 'HTTP requests by route and status', labelNames: ['method', 'route', 'status'], registers: [this.registry] });
    this.latency = new Histogram({
      name: 'faceprint_http_request_duration_seconds', help: 'HTTP request latency', labelNames: ['route'], registers: [this.registry],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    });
    this.batchSize = new Histogram({ name: 'faceprint_embed_batch_size', help: 'faces per recognizer run', registers: [this.registry], buckets: [1, 2, 4, 8, 16, 32, 64] });
    this.batchSeconds = new Histogram({ name: 'faceprint_embed_batch_duration_seconds', help: 'recognizer run time', registers: [this.registry], buckets: [0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1] });
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
}
