import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { estimateMacs } from '../core/models/graph-macs.js';
import { runBench, type BenchReport } from '../node/bench.js';

/** `faceprint bench`: per-stage timings and the recognizer's batch × thread sweep. */
export function addBenchCommand(program: Command, out: (s: string) => void, int: (v: string) => number, float: (v: string) => number): void {
  program
    .command('bench')
    .description('per-stage pipeline timings and the recognizer over batch sizes and threads, against this CPU\'s sgemm peak')
    .requiredOption('--detector <file>', 'SCRFD detector ONNX')
    .requiredOption('--recognizer <file>', 'recognizer ONNX (e.g. from `faceprint models replica`)')
    .requiredOption('--image <file>', 'image for the per-stage timings')
    .option('--iters <n>', 'timed iterations per stage', int, 20)
    .option('--gmacs <x>', 'recognizer GMAC per face (default: read from FILE.json written by `models replica`)', float)
    .option('--batches <list>', 'recognizer batch sizes', '1,8,32')
    .option('--threads <list>', 'intra-op thread counts', '1,2')
    .option('--json', 'print the report as JSON')
    .action(async (opts) => {
      let macs: number | null = opts.gmacs ? opts.gmacs * 1e9 : null;
      if (!macs) macs = await readFile(`${opts.recognizer}.json`, 'utf8').then((t) => JSON.parse(t).macsPerFace as number, () => null);
      if (!macs) macs = estimateMacs(await readFile(opts.recognizer), [112, 112]).macs || null;
      const report = await runBench({
        detector: resolve(opts.detector), recognizer: resolve(opts.recognizer), image: opts.image, iters: opts.iters, macsPerFace: macs,
        batches: String(opts.batches).split(',').map(Number), threads: String(opts.threads).split(',').map(Number),
      });
      out(opts.json ? JSON.stringify(report) : formatBench(report));
    });
}


function formatBench(r: BenchReport): string {
  const ms = (x: number): string => x.toFixed(2).padStart(9);
  const lines = [`${r.image}: ${r.faces} face(s)`, 'stage             min       median    p90   (ms)'];
  for (const [k, t] of Object.entries(r.stages)) lines.push(`${k.padEnd(14)}${ms(t.min)}${ms(t.median)}${ms(t.p90)}`);
  if (r.pipelineOverhead) lines.push(`pipeline ÷ (detector run + recognizer run): ${r.pipelineOverhead.toFixed(3)}`);
  lines.push('', `sgemm peak: ${Object.entries(r.peakGflops).map(([t, g]) => `${g.toFixed(1)} GFLOPS on ${t} thread(s)`).join(', ')}`);
  lines.push(`recognizer ${r.recognizer.file}${r.recognizer.macsPerFace ? `, ${(r.recognizer.macsPerFace / 1e9).toFixed(2)} GMAC/face` : ''}`);
  lines.push('threads  batch   ms/face    GFLOPS   of peak');
  for (const s of r.recognizer.sweep) {
    lines.push(`${String(s.threads).padStart(7)}${String(s.batch).padStart(7)}${ms(s.msPerFace)}${s.gflops ? s.gflops.toFixed(1).padStart(10) : '         -'}${s.ofPeak ? `${(100 * s.ofPeak).toFixed(1)}%`.padStart(10) : '         -'}`);
  }
  return lines.join('\n');
}
