/**
 * Where onnxruntime-web's WASM time goes, per kind of operator, against onnxruntime-node on the same model, input
 * and thread count (Node runs the WASM build too, so no browser is needed). Convolutions are split into 1×1
 * (GEMMs), depthwise and k×k, each with its multiply-accumulates per second: what bounds the page's speed (#7).
 *
 *   node --import tsx bench/wasm-ops.ts [--model det_500m|mobilefacenet|path.onnx] [--shape 6,3,112,112] [--runs 10]
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import * as ortNode from 'onnxruntime-node';
import * as ortWeb from 'onnxruntime-web';
import { time } from '../src/node/bench.js';
import { DET_500M, MOBILEFACENET } from '../test/fixtures.js';

const { values } = parseArgs({
  options: {
    model: { type: 'string', default: 'mobilefacenet' },
    shape: { type: 'string', default: '' },
    runs: { type: 'string', default: '10' },
    threads: { type: 'string', default: '1' },
    'emit-profile': { type: 'boolean', default: false },
  },
});
const known: Record<string, { path: string; shape: number[] }> = {
  mobilefacenet: { path: MOBILEFACENET, shape: [6, 3, 112, 112] },
  det_500m: { path: DET_500M, shape: [1, 3, 640, 640] },
};
const model = known[values.model!] ?? { path: values.model!, shape: [] };
const shape = values.shape ? values.shape.split(',').map(Number) : model.shape;
if (!shape.length) throw new Error('--shape is needed for a model given by path');
const runs = Number(values.runs);
const threads = Number(values.threads);

const bytes = readFileSync(model.path);
const input = Float32Array.from({ length: shape.reduce((a, b) => a * b) }, (_, i) => Math.sin(i) * 0.5);

// The operator profile comes from a child process: onnxruntime-web writes it straight to file descriptor 1 when
// profiling ends, past anything this process could intercept.
ortWeb.env.wasm.numThreads = threads;
if (values['emit-profile']) {
  const profiled = await ortWeb.InferenceSession.create(bytes, { graphOptimizationLevel: 'all', executionProviders: ['wasm'], enableProfiling: true });
  for (let i = 0; i < runs; i++) await profiled.run({ [profiled.inputNames[0]]: new ortWeb.Tensor('float32', input, shape) });
  profiled.endProfiling();
  process.exit(0);
}
const text = execFileSync(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), ...process.argv.slice(2), '--emit-profile'], {
  encoding: 'utf8',
  maxBuffer: 1 << 30,
});

const native = await ortNode.InferenceSession.create(bytes, { graphOptimizationLevel: 'all', intraOpNumThreads: threads });
const name = native.inputNames[0];
const nativeMs = (await time(runs, 2, () => native.run({ [name]: new ortNode.Tensor('float32', input, shape) }))).median;
await native.release();
const wasm = await ortWeb.InferenceSession.create(bytes, { graphOptimizationLevel: 'all', executionProviders: ['wasm'] });
const wasmMs = (await time(runs, 2, () => wasm.run({ [name]: new ortWeb.Tensor('float32', input, shape) }))).median;
await wasm.release();

interface ProfileEvent {
  cat?: string;
  name: string;
  dur: number;
  args?: { op_name?: string; input_type_shape?: Record<string, number[]>[]; output_type_shape?: Record<string, number[]>[] };
}
const events = (JSON.parse(text.slice(text.indexOf('['), text.lastIndexOf(']') + 1)) as ProfileEvent[]).filter(
  (e) => e.cat === 'Node' && e.name.endsWith('_kernel_time'),
);
const kinds = new Map<string, { ms: number; macs: number }>();
for (const e of events) {
  let kind = e.args?.op_name ?? 'unknown';
  let macs = 0;
  const weight = e.args?.input_type_shape?.[1]?.float;
  const out = e.args?.output_type_shape?.[0]?.float;
  if ((kind === 'Conv' || kind === 'FusedConv') && weight?.length === 4 && out?.length === 4) {
    kind = `Conv ${weight[1] === 1 && out[1] > 1 ? 'depthwise' : weight[2] * weight[3] === 1 ? '1×1' : 'k×k'}`;
    macs = out[0] * out[1] * out[2] * out[3] * weight[1] * weight[2] * weight[3];
  }
  const k = kinds.get(kind) ?? { ms: 0, macs: 0 };
  k.ms += e.dur / 1000 / runs;
  k.macs += macs / runs;
  kinds.set(kind, k);
}
const total = [...kinds.values()].reduce((s, k) => s + k.ms, 0);
console.log(`${values.model} [${shape}], ${threads} thread(s): onnxruntime-node ${nativeMs.toFixed(1)} ms, onnxruntime-web WASM ${wasmMs.toFixed(1)} ms (${(wasmMs / nativeMs).toFixed(2)}×)`);
console.log('WASM operator time per run (profiled session):');
for (const [kind, k] of [...kinds].sort((a, b) => b[1].ms - a[1].ms)) {
  const rate = k.macs ? `, ${(k.macs / 1e9).toFixed(3)} GMAC, ${(k.macs / k.ms / 1e6).toFixed(1)} GMAC/s` : '';
  console.log(`  ${kind.padEnd(16)} ${k.ms.toFixed(1).padStart(7)} ms  ${((100 * k.ms) / total).toFixed(1).padStart(5)} %${rate}`);
}
console.log(JSON.stringify({ model: values.model, shape, threads, nativeMs, wasmMs, ops: Object.fromEntries(kinds) }));
