/**
 * Bounded load on `faceprint serve` (a separate process, 127.0.0.1): autocannon at each connection count in turn,
 * POSTing LFW photos to /v1/identify. Per setting: answers, 2xx, 503 (and whether each carried Retry-After),
 * other statuses, latency p50/p99/max against the configured deadline, the server's RSS (max, end) against its
 * memory budget. The first setting is run again at the end: RSS flat across runs means no growth.
 *
 * Then `--large N` connections upload 18 MB bodies (a small JPEG padded with comment segments: its pixels cost
 * little, its body a lot): RSS must stay under idle + budget, bodies being held against the budget before they are read.
 *
 *   node --import tsx bench/serve-load.ts [--duration 30] [--connections 8,64,300] [--large 250] [--deadline-ms 10000]
 *     [--memory-budget-mb 512] [--concurrency 8] [--max-queue 64] [--json out.json]
 */
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { spawnServe } from '../test/helpers/serve-process.js';

const ROOT = resolve(import.meta.dirname, '..');
const SHARED = resolve(ROOT, '../shared/fixtures');
const { values } = parseArgs({
  options: {
    duration: { type: 'string', default: '30' },
    connections: { type: 'string', default: '8,64,300' },
    large: { type: 'string', default: '250' },
    'deadline-ms': { type: 'string', default: '10000' },
    'memory-budget-mb': { type: 'string', default: '512' },
    concurrency: { type: 'string', default: '8' },
    'max-queue': { type: 'string', default: '64' },
    json: { type: 'string' },
  },
});
const duration = Math.min(60, Number(values.duration));
const deadlineMs = Number(values['deadline-ms']);
const budgetMiB = Number(values['memory-budget-mb']);
const settings = values.connections.split(',').map(Number);
const tmp = mkdtempSync(join(tmpdir(), 'faceprint-bench-load-'));

const large = Number(values.large);
const lfw = join(SHARED, 'lfw/images');
const photos = readdirSync(lfw).sort().slice(0, 32).map((person) => readFileSync(join(lfw, person, readdirSync(join(lfw, person)).sort()[0])));

const server = await spawnServe(['--single-user', '--store', join(tmp, 'g.db'),
  '--detector', join(SHARED, 'models/det_500m.onnx'), '--recognizer', join(SHARED, 'models/mobilefacenet.onnx'),
  '--deadline-ms', String(deadlineMs), '--memory-budget-mb', String(budgetMiB), '--concurrency', values.concurrency, '--max-queue', values['max-queue'],
  '--rate-limit', '0', '--log-level', 'warn']);
const { url, rssMiB } = server;

// enrol a few people so identify searches a gallery
for (let i = 0; i < 8; i++) {
  const form = new FormData();
  form.append('images', new Blob([photos[i]]), `p${i}.jpg`);
  await fetch(`${url}/v1/subjects/p${i}/faces?create=true`, { method: 'POST', body: form });
}
const idleRss = rssMiB();

/** A JPEG padded with comment segments to about `bytes`. */
function padded(jpeg: Buffer, bytes: number): Buffer {
  const segment = Buffer.concat([Buffer.from([0xff, 0xfe, 0xff, 0xff]), Buffer.alloc(65_533, 0x20)]);
  const count = Math.floor((bytes - jpeg.length) / segment.length);
  return Buffer.concat([jpeg.subarray(0, 2), ...Array.from({ length: count }, () => segment), jpeg.subarray(2)]);
}
const bigBody = padded(photos[0], 18_000_000);

interface Row {
  body: string;
  connections: number;
  seconds: number;
  answers: number;
  ok: number;
  unavailable: number;
  unavailableWithRetryAfter: number;
  other: Record<string, number>;
  errors: number;
  timeouts: number;
  throughput: number;
  p50: number;
  p99: number;
  max: number;
  rssMaxMiB: number;
  rssEndMiB: number;
}

async function run(connections: number, bodies?: Buffer): Promise<Row> {
  let unavailableWithRetryAfter = 0;
  const statuses: Record<string, number> = {};
  let next = 0;
  let rssMax = rssMiB();
  const sampler = setInterval(() => { rssMax = Math.max(rssMax, rssMiB()); }, 100);
  const result = await autocannon({
    url: `${url}/v1/identify`,
    connections,
    duration,
    // a client gives up later than the deadline: what it sees is the server's bound, not its own
    timeout: Math.ceil(deadlineMs / 1000) * 3,
    requests: [{
      method: 'POST',
      setupRequest: (req) => ({ ...req, headers: { 'content-type': 'image/jpeg' }, body: (bodies ?? photos[next++ % photos.length]) as unknown as string }),
      onResponse: (status, _body, _ctx, headers) => {
        statuses[status] = (statuses[status] ?? 0) + 1;
        const h = headers as unknown as Record<string, string> | string[];
        const retry = Array.isArray(h) ? h.some((v, i) => i % 2 === 0 && v.toLowerCase() === 'retry-after') : 'retry-after' in h;
        if (status === 503 && retry) unavailableWithRetryAfter++;
      },
    }],
  });
  clearInterval(sampler);
  const { 200: ok = 0, 503: unavailable = 0, ...other } = statuses;
  return {
    body: bodies ? `${(bodies.length / 1e6).toFixed(0)} MB` : 'LFW photo', connections, seconds: duration, answers: Object.values(statuses).reduce((a, b) => a + b, 0), ok, unavailable, unavailableWithRetryAfter, other,
    errors: result.errors, timeouts: result.timeouts, throughput: result.requests.average,
    p50: result.latency.p50, p99: result.latency.p99, max: result.latency.max,
    rssMaxMiB: Math.round(rssMax), rssEndMiB: Math.round(rssMiB()),
  };
}

const rows: Row[] = [];
for (const [c, bodies] of [...settings.map((n) => [n, undefined] as const), [settings[0], undefined] as const, ...(large > 0 ? [[large, bigBody] as const] : [])]) {
  const row = await run(c, bodies);
  rows.push(row);
  process.stderr.write(`${c} connections: ${JSON.stringify(row)}\n`);
  await new Promise((r) => setTimeout(r, 2000)); // the queue drains between settings
}
await server.stop();

const lines = [
  `deadline ${deadlineMs} ms · memory budget ${budgetMiB} MiB · RSS idle ${Math.round(idleRss)} MiB · ${duration} s per setting · concurrency ${values.concurrency}, queue ${values['max-queue']}`,
  '',
  '| body | connections | answers | 200 | 503 (with Retry-After) | other | errors/timeouts | req/s | p50 ms | p99 ms | max ms | RSS max / end MiB |',
  '|---|---|---|---|---|---|---|---|---|---|---|---|',
  ...rows.map((r) => `| ${r.body} | ${r.connections} | ${r.answers} | ${r.ok} | ${r.unavailable} (${r.unavailableWithRetryAfter}) | ${JSON.stringify(r.other)} | ${r.errors}/${r.timeouts} | ${r.throughput.toFixed(1)} | ${r.p50} | ${r.p99} | ${r.max} | ${r.rssMaxMiB} / ${r.rssEndMiB} |`),
];
console.log(lines.join('\n'));
if (values.json) writeFileSync(values.json, JSON.stringify({ deadlineMs, budgetMiB, idleRssMiB: idleRss, rows }, null, 2));
