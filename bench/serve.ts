/**
 * HTTP service bench: N concurrent clients on 127.0.0.1 POST fixture photos to `faceprint serve` (a separate
 * process) at /v1/analyze?embeddings=true, for each batching setting in turn, in one run:
 * throughput, p50/p99 latency, mean faces per recognizer run, and the server's RSS sampled over the run
 * (start, end, max, slope per minute: "memory flat").
 *
 *   node --import tsx bench/serve.ts [--duration 60] [--clients 8] [--configs 1:0,32:5] [--r50] [--photos 64]
 *
 * --configs: maxBatch:maxWaitMs pairs (1:0 = no batching). --r50 serves an IResNet-50 replica with random weights
 * (w600k_r50's graph and cost; speed does not depend on weights) instead of the fixture MobileFaceNet.
 * Photos: LFW images (one face each, 250×250): the case where only cross-request batching can group faces.
 */
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { buildIResNetReplica } from '../src/core/models/iresnet-replica.js';
import { spawnServe } from '../test/helpers/serve-process.js';

const ROOT = resolve(import.meta.dirname, '..');
const SHARED = resolve(ROOT, '../shared/fixtures');
const { values } = parseArgs({
  options: {
    duration: { type: 'string', default: '60' },
    warmup: { type: 'string', default: '5' },
    clients: { type: 'string', default: '8' },
    configs: { type: 'string', default: '1:0,32:5' },
    r50: { type: 'boolean', default: false },
    photos: { type: 'string', default: '64' },
    sample: { type: 'string', default: '5' },
  },
});
const duration = Number(values.duration) * 1000;
const warmup = Number(values.warmup) * 1000;
const clients = Number(values.clients);
const tmp = mkdtempSync(join(tmpdir(), 'faceprint-bench-serve-'));

let recognizer = join(SHARED, 'models/mobilefacenet.onnx');
if (values.r50) {
  recognizer = join(tmp, 'r50-replica.onnx');
  writeFileSync(recognizer, buildIResNetReplica('iresnet50', 1).bytes);
}
const lfw = join(SHARED, 'lfw/images');
const photos = readdirSync(lfw).sort().slice(0, Number(values.photos)).map((person) => {
  const file = readdirSync(join(lfw, person)).sort()[0];
  return readFileSync(join(lfw, person, file));
});

interface Result {
  config: string;
  requests: number;
  errors: Record<string, number>;
  throughput: number;
  p50: number;
  p99: number;
  facesPerRun: number;
  rssMiB: { start: number; end: number; max: number; slopePerMin: number };
}

function rssMiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

async function startServer(maxBatch: number, maxWaitMs: number): Promise<{ url: string; pid: number; stop: () => Promise<void> }> {
  const server = await spawnServe(['--single-user', '--store', join(tmp, `g-${maxBatch}-${maxWaitMs}.db`),
    '--detector', join(SHARED, 'models/det_500m.onnx'), '--recognizer', recognizer,
    '--max-batch', String(maxBatch), '--max-wait-ms', String(maxWaitMs), '--concurrency', String(2 * clients), '--max-queue', '1024',
    '--rate-limit', '0', '--log-level', 'warn']);
  return { url: server.url, pid: server.proc.pid!, stop: server.stop };
}

async function metric(url: string, name: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const m = new RegExp(`^${name} ([\\d.e+-]+)$`, 'm').exec(text);
  return m ? Number(m[1]) : 0;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

function slope(points: [number, number][]): number {
  const n = points.length;
  if (n < 2) return 0;
  const mx = points.reduce((s, p) => s + p[0], 0) / n;
  const my = points.reduce((s, p) => s + p[1], 0) / n;
  const num = points.reduce((s, p) => s + (p[0] - mx) * (p[1] - my), 0);
  const den = points.reduce((s, p) => s + (p[0] - mx) ** 2, 0);
  return den ? num / den : 0;
}

async function runConfig(maxBatch: number, maxWaitMs: number): Promise<Result> {
  const server = await startServer(maxBatch, maxWaitMs);
  const latencies: number[] = [];
  const errors: Record<string, number> = {};
  let next = 0;
  let measuring = false;
  let stop = false;
  const client = async (): Promise<void> => {
    while (!stop) {
      const body = photos[next++ % photos.length];
      const t0 = performance.now();
      try {
        const res = await fetch(`${server.url}/v1/analyze?embeddings=true`, { method: 'POST', headers: { 'content-type': 'image/jpeg' }, body });
        await res.arrayBuffer();
        if (res.status !== 200) errors[res.status] = (errors[res.status] ?? 0) + 1;
        else if (measuring) latencies.push(performance.now() - t0);
      } catch (e) {
        errors[String((e as Error).message)] = (errors[String((e as Error).message)] ?? 0) + 1;
      }
    }
  };
  const running = Array.from({ length: clients }, client);
  await new Promise((r) => setTimeout(r, warmup));
  const runs0 = await metric(server.url, 'faceprint_embed_batch_size_count');
  const faces0 = await metric(server.url, 'faceprint_embed_batch_size_sum');
  measuring = true;
  const t0 = performance.now();
  const rss: [number, number][] = [[0, rssMiB(server.pid)]];
  const sampler = setInterval(() => rss.push([(performance.now() - t0) / 60_000, rssMiB(server.pid)]), Number(values.sample) * 1000);
  await new Promise((r) => setTimeout(r, duration));
  measuring = false;
  const elapsed = (performance.now() - t0) / 1000;
  clearInterval(sampler);
  rss.push([(performance.now() - t0) / 60_000, rssMiB(server.pid)]);
  const runs = (await metric(server.url, 'faceprint_embed_batch_size_count')) - runs0;
  const faces = (await metric(server.url, 'faceprint_embed_batch_size_sum')) - faces0;
  stop = true;
  await Promise.all(running);
  await server.stop();
  latencies.sort((a, b) => a - b);
  const rssValues = rss.map((p) => p[1]);
  return {
    config: maxBatch === 1 ? 'batch 1' : `dynamic (max ${maxBatch}, wait ${maxWaitMs} ms)`,
    requests: latencies.length, errors,
    throughput: latencies.length / elapsed,
    p50: percentile(latencies, 50), p99: percentile(latencies, 99),
    facesPerRun: runs ? faces / runs : 0,
    rssMiB: { start: rssValues[0], end: rssValues[rssValues.length - 1], max: Math.max(...rssValues), slopePerMin: slope(rss) },
  };
}

const results: Result[] = [];
for (const c of values.configs.split(',')) {
  const [b, w] = c.split(':').map(Number);
  const r = await runConfig(b, w);
  results.push(r);
  console.log(`${r.config.padEnd(30)} ${r.throughput.toFixed(1).padStart(7)} req/s  p50 ${r.p50.toFixed(1)} ms  p99 ${r.p99.toFixed(1)} ms  ` +
    `faces/run ${r.facesPerRun.toFixed(2)}  RSS ${r.rssMiB.start.toFixed(0)}→${r.rssMiB.end.toFixed(0)} MiB (max ${r.rssMiB.max.toFixed(0)}, ${r.rssMiB.slopePerMin.toFixed(2)} MiB/min)  errors ${JSON.stringify(r.errors)}`);
}
if (results.length > 1) console.log(`throughput ratio ${results[results.length - 1].config} / ${results[0].config}: ${(results[results.length - 1].throughput / results[0].throughput).toFixed(2)}×`);
console.log(JSON.stringify({ clients, durationS: duration / 1000, recognizer: values.r50 ? 'iresnet50 replica' : 'mobilefacenet', results }));
