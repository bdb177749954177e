// Worker thread of ScanWorkers: takes chunks of a scan of the shared index memory until none is left.
import { parentPort, workerData } from 'node:worker_threads';
import { instantiateKernels, scanRows, type ScanLayout } from '../../core/matching/scan-kernels.js';
import { scanChunks, type ScanJob } from './scan-chunks.js';

const { memory, control } = workerData as { memory: WebAssembly.Memory; control: Int32Array };
const kernels = await instantiateKernels(memory, true);
parentPort!.on('message', (job: ScanJob) => {
  scanChunks(control, job, (from, to) => scanRows(kernels, job.layout as ScanLayout, from, to));
  parentPort!.postMessage(job.id);
});
parentPort!.postMessage('ready');
