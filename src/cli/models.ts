import { writeFile, rename } from 'node:fs/promises';
import type { Command } from 'commander';
import { FaceprintError } from '../core/errors.js';
import { buildIResNetReplica, IRESNET_LAYERS, type IResNetArch } from '../core/models/iresnet-replica.js';
import { quantizeModelFile, type QuantizeMode } from '../node/quantize.js';
import cliProgress from 'cli-progress';
import { estimateMacs } from '../core/models/graph-macs.js';
import { recognizerNormalisation } from '../core/embedding/arcface.js';
import { onnxFirstNodeNames } from '../core/models/graph-info.js';
import { loadModel, roleOf } from '../node/models.js';
import { headNormalisation } from '../core/heads/head.js';
import { KNOWN_PACKS } from '../node/packs/registry.js';
import { listPacks, modelsHome, pullPack, removePack, verifyPack } from '../node/packs/store.js';

/** `faceprint models …`: model packs and files. */
export function addModelsCommands(program: Command, out: (s: string) => void, int: (v: string) => number, float: (v: string) => number): void {
  const models = program.commands.find((c) => c.name() === 'models') ?? program.command('models').description('model packs and files: pull, list, verify and remove packs; inspect, quantize and build replica models');
  models
    .command('pull')
    .description('download, verify and install a model pack (buffalo_l, buffalo_m, buffalo_s, buffalo_sc, antelopev2)')
    .argument('<pack>', 'pack name')
    .option('--mirror <url>', 'base URL holding <pack>.zip (default FACEPRINT_MODEL_MIRROR, else the official release)')
    .action(async (pack: string, opts) => {
      const bar = new cliProgress.SingleBar({ stream: process.stderr, format: `${pack} [{bar}] {percentage}% {value}/{total} bytes`, hideCursor: true }, cliProgress.Presets.shades_classic);
      let started = false;
      try {
        const dir = await pullPack(pack, {
          mirror: opts.mirror,
          onLicence: (text) => process.stderr.write(`\n${text}\n\n`),
          onProgress: (p) => {
            if (!started && p.total) { bar.start(p.total, 0); started = true; }
            if (started) bar.update(p.received);
          },
        });
        if (started) bar.stop();
        out(`${pack}: installed in ${dir}`);
      } finally {
        if (started) bar.stop();
      }
    });
  models
    .command('list')
    .description('installed packs (in $FACEPRINT_HOME/models) and the known ones')
    .option('--json', 'JSON output')
    .action(async (opts) => {
      const installed = await listPacks();
      if (opts.json) return out(JSON.stringify({ home: modelsHome(), installed, known: Object.keys(KNOWN_PACKS) }));
      out(`models home: ${modelsHome()}`);
      for (const p of installed) out(`  ${p.name}  ${p.files.map((f) => `${f.name} (${f.size} B)`).join(', ')}${p.recorded ? '' : '  [not recorded]'}`);
      out(`known packs: ${Object.entries(KNOWN_PACKS).map(([k, v]) => `${k} — ${v.description}`).join('\n             ')}`);
    });
  models
    .command('verify')
    .description('recompute every file\'s sha256 against what was recorded at install')
    .argument('<pack>')
    .action(async (pack: string) => {
      const results = await verifyPack(pack);
      for (const r of results) out(`${r.ok ? 'ok ' : 'BAD'} ${r.file}${r.reason ? `: ${r.reason}` : ''}`);
      if (results.some((r) => !r.ok)) process.exitCode = 1;
    });
  models
    .command('rm')
    .description('remove an installed pack')
    .argument('<pack>')
    .action(async (pack: string) => {
      out((await removePack(pack)) ? `${pack}: removed` : `${pack}: not installed`);
    });
  addModelFileCommands(models, out, int, float);
}

/** `faceprint models info|quantize|replica`: single ONNX files. */
function addModelFileCommands(models: Command, out: (s: string) => void, int: (v: string) => number, float: (v: string) => number): void {
  models
    .command('info')
    .description('what faceprint makes of an ONNX file: routing, inputs/outputs, normalisation, MACs')
    .argument('<file>')
    .option('--json', 'JSON output')
    .action(async (file: string, opts) => {
      const m = await loadModel(file);
      try {
        const shape = m.session.inputs[0]?.shape ?? [];
        const h = typeof shape[2] === 'number' ? shape[2] : 640;
        const w = typeof shape[3] === 'number' ? shape[3] : h;
        const macs = estimateMacs(m.bytes, [h, w]);
        const info = {
          file, kind: m.kind, bytes: m.bytes.length,
          inputs: m.session.inputs, outputs: m.session.outputs,
          head: m.kind === 'landmark' || m.kind === 'attribute' ? roleOf(m.kind, m.session.outputs) : null,
          normalisation: m.kind === 'recognizer' ? recognizerNormalisation(onnxFirstNodeNames(m.bytes, file))
            : m.kind === 'detector' ? { mean: 127.5, std: 128 }
            : m.kind === 'landmark' || m.kind === 'attribute' ? headNormalisation(onnxFirstNodeNames(m.bytes, file)) : null,
          macs: { perImage: macs.macs, inputHW: [h, w], unmodelledOps: macs.unmodelled },
        };
        if (opts.json) return out(JSON.stringify(info));
        out(`${file}: ${info.kind}${info.head ? ` (head ${info.head})` : ''}, ${info.bytes} bytes`);
        for (const i of info.inputs) out(`  input  ${i.name} ${i.type ?? ''} [${i.shape.map((d) => d ?? '?').join(', ')}]`);
        for (const o of info.outputs) out(`  output ${o.name} ${o.type ?? ''} [${o.shape.map((d) => d ?? '?').join(', ')}]`);
        if (info.normalisation) out(`  normalisation (x − ${info.normalisation.mean}) / ${info.normalisation.std}`);
        out(`  ${(macs.macs / 1e9).toFixed(3)} GMAC per ${h}×${w} image${macs.unmodelled.length ? ` (estimate; ops not modelled: ${macs.unmodelled.join(', ')})` : ''}`);
      } finally {
        await m.session.close();
      }
    });
  models
    .command('quantize')
    .description('FP16 weights, INT8 static (QDQ, calibrated) or weight-only INT8, written over the ONNX protobuf')
    .argument('<in>', 'input ONNX (float32)')
    .argument('<out>', 'output ONNX')
    .requiredOption('--mode <mode>', 'fp16 | int8 | int8-weights')
    .option('--calibrate <dir>', 'images for int8 activation ranges (faces for a recognizer, photos for a detector)')
    .option('--detector <file>', 'detector that aligns the calibration faces of a recognizer')
    .option('--method <m>', 'activation ranges: minmax | percentile', 'percentile')
    .option('--percentile <p>', 'upper quantile kept by --method percentile', Number, 0.9999)
    .option('--max-images <n>', 'calibration images used', int, 200)
    .option('--weight-bits <n>', 'static int8 weights in 7 bits (the same results on every x86 CPU) or 8 (a little closer on CPUs with VNNI, saturating on AVX2 without it)', '7')
    .option('--keep-float <n>', 'recognizer activations left float32: auto (measured: the few costliest, carrying half the total cost) or a count (0: none, skips the measurement)', 'auto')
    .action(async (input: string, output: string, opts) => {
      if (!['fp16', 'int8', 'int8-weights'].includes(opts.mode)) throw new FaceprintError('INVALID_INPUT', `--mode must be fp16, int8 or int8-weights, got ${opts.mode}`);
      if (!['minmax', 'percentile'].includes(opts.method)) throw new FaceprintError('INVALID_INPUT', `--method must be minmax or percentile, got ${opts.method}`);
      const keepFloat = opts.keepFloat === 'auto' ? 'auto' : Number(opts.keepFloat);
      if (keepFloat !== 'auto' && !(Number.isInteger(keepFloat) && keepFloat >= 0)) throw new FaceprintError('INVALID_INPUT', `--keep-float must be auto or a count, got ${opts.keepFloat}`);
      const weightBits = Number(opts.weightBits);
      if (weightBits !== 7 && weightBits !== 8) throw new FaceprintError('INVALID_INPUT', `--weight-bits must be 7 or 8, got ${opts.weightBits}`);
      const r = await quantizeModelFile(input, output, { mode: opts.mode as QuantizeMode, calibrate: opts.calibrate, detector: opts.detector, method: opts.method, percentile: opts.percentile, maxImages: opts.maxImages, keepFloat, weightBits });
      out(`${output}: ${opts.mode}, ${(r.bytesIn / 2 ** 20).toFixed(1)} MiB → ${(r.bytesOut / 2 ** 20).toFixed(1)} MiB${r.calibrationImages ? `, calibrated on ${r.calibrationImages} image(s)` : ''}`);
      for (const k of r.keptFloat ?? []) out(`  kept float: ${k.name} (quantized alone it cost ${k.loss.toFixed(5)} embedding cosine)`);
    });
  models
    .command('replica')
    .description('write an ONNX model with the exact graph of an InsightFace IResNet and seeded random weights')
    .requiredOption('--arch <arch>', `architecture: ${Object.keys(IRESNET_LAYERS).join(' | ')}`)
    .requiredOption('--out <file>', 'output .onnx file')
    .option('--seed <n>', 'weight seed', int, 1)
    .action(async (opts) => {
      if (!(opts.arch in IRESNET_LAYERS)) throw new FaceprintError('INVALID_INPUT', `unknown --arch ${opts.arch}; known: ${Object.keys(IRESNET_LAYERS).join(', ')}`);
      const { bytes, stats } = buildIResNetReplica(opts.arch as IResNetArch, opts.seed);
      const tmp = `${opts.out}.tmp`;
      await writeFile(tmp, bytes);
      await rename(tmp, opts.out);
      // The sidecar lets `faceprint bench` report GFLOPS without re-deriving the graph's MACs.
      await writeFile(`${opts.out}.json`, JSON.stringify({ arch: opts.arch, seed: opts.seed, ...stats, bytes: bytes.length }, null, 2) + '\n');
      out(`${opts.out}: ${opts.arch}, seed ${opts.seed}, ${(stats.params / 1e6).toFixed(2)} M parameters, ${(stats.macsPerFace / 1e9).toFixed(2)} GMAC/face, ${(bytes.length / 2 ** 20).toFixed(1)} MiB`);
    });
}
