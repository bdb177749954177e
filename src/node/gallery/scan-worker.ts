// Worker thread of ScanWorkers: scans a slice of rows of the shared index memory on request.
import { parentPort, workerData } from 'node:worker_threads';
import { instantiateKernels, scanRows, type ScanLayout } from '../../core/matching/exact-index.js';

interface ScanJob {
  id: number;
  layout: Omit<ScanLayout, 'memory'>;
  from: number;
  to: number;
}

const kernels = await instantiateKernels((workerData as { memory: WebAssembly.Memory }).memory, true);
parentPort!.on('message', (job: ScanJob) => {
  scanRows(kernels, job.layout as ScanLayout, job.from, job.to);
  parentPort!.postMessage(job.id);
});
parentPort!.postMessage('ready');
