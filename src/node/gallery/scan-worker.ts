// Worker thread of ScanWorkers: scans a slice of rows of the shared index memory on request.
import { parentPort, workerData } from 'node:worker_threads';
import { instantiateScan } from '../../core/matching/exact-index.js';

interface ScanJob {
  id: number;
  query: number;
  codes: number;
  scales: number;
  out: number;
  from: number;
  to: number;
  stride: number;
}

const scan = await instantiateScan((workerData as { memory: WebAssembly.Memory }).memory, true);
parentPort!.on('message', (job: ScanJob) => {
  scan(job.query, job.codes, job.scales, job.out, job.from, job.to, job.stride);
  parentPort!.postMessage(job.id);
});
parentPort!.postMessage('ready');
