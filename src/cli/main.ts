import { Command, InvalidArgumentError } from 'commander';
import { FaceprintError } from '../core/errors.js';
import { runAnalyze } from './analyze.js';
import { addEvalCommands, addHeadOptions } from './eval.js';
import { addGalleryCommands } from './gallery.js';
import { addBenchCommand } from './bench.js';
import { addModelsCommands } from './models.js';
import { addServeCommands } from './serve.js';

const number = (kind: 'int' | 'float') => (v: string): number => {
  const n = kind === 'int' ? Number.parseInt(v, 10) : Number.parseFloat(v);
  if (!Number.isFinite(n) || (kind === 'int' && String(n) !== v.trim())) throw new InvalidArgumentError(`not a${kind === 'int' ? 'n integer' : ' number'}: ${v}`);
  return n;
};

function buildProgram(out: (line: string) => void = (l) => process.stdout.write(l + '\n')): Command {
  const program = new Command('faceprint')
    .description('Face detection, alignment and recognition, equal to InsightFace, on ONNX Runtime')
    .showHelpAfterError();
  const analyze = program
    .command('analyze')
    .description('detect, align and embed every face in each image')
    .argument('<images...>', 'image files (JPEG, PNG, WebP, GIF, TIFF, AVIF; format read from the content)')
    .option('--pack <dir>', 'model pack directory (*.onnx routed by shape, as InsightFace)')
    .option('--detector <file>', 'SCRFD detector ONNX')
    .option('--recognizer <file>', 'ArcFace-style recognizer ONNX')
    .option('--det-size <n>', 'detector input size (square) for dynamic-size detectors', number('int'), 640)
    .option('--det-thresh <x>', 'detection score threshold', number('float'), 0.5)
    .option('--max-faces <n>', 'at most this many faces per image (0 = all)', number('int'), 0)
    .option('--threads <n>', 'onnxruntime intra-op threads', number('int'))
    .option('--json', 'one JSON object per image per line');
  addHeadOptions(analyze)
    .action(async (images: string[], opts) => {
      process.exitCode = await runAnalyze(images, opts, out);
    });
  addEvalCommands(program, out, number('int'), number('float'));
  addGalleryCommands(program, out, number('int'), number('float'));
  addModelsCommands(program, out, number('int'), number('float'));
  addBenchCommand(program, out, number('int'), number('float'));
  addServeCommands(program, out, number('int'), number('float'));
  return program;
}

export async function main(argv: string[]): Promise<void> {
  try {
    await buildProgram().parseAsync(argv);
  } catch (e) {
    if (e instanceof FaceprintError) {
      process.stderr.write(`faceprint: ${e.code}: ${e.message}\n`);
      process.exitCode = 2;
      return;
    }
    throw e;
  }
}
