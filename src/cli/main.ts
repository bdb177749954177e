import { Command, CommanderError, InvalidArgumentError } from 'commander';
import { FaceprintError } from '../core/errors.js';
import { runAnalyze } from './analyze.js';
import { addEvalCommands } from './eval.js';
import { addAnalyzerOptions } from './options.js';
import { addGalleryCommands } from './gallery.js';
import { addCollectionCommands } from './collections.js';
import { addBenchCommand } from './bench.js';
import { addModelsCommands } from './models.js';
import { addServeCommands } from './serve.js';
import { addWatchCommand } from './watch.js';
import { packageVersion } from '../node/package-info.js';

const number = (kind: 'int' | 'float') => (v: string): number => {
  const n = kind === 'int' ? Number.parseInt(v, 10) : Number.parseFloat(v);
  if (!Number.isFinite(n) || (kind === 'int' && String(n) !== v.trim())) throw new InvalidArgumentError(`not a${kind === 'int' ? 'n integer' : ' number'}: ${v}`);
  return n;
};

// Characters a terminal would act on or that hide/reorder text (escape sequences, C1 controls, bidi overrides,
// zero-width): names, file names and error messages come from users and files, so they are shown escaped.
// Tabs and line breaks pass (output lines use them). `\uXXXX` is also JSON's own escape, so a JSON line stays valid JSON with the same meaning.
const UNSAFE_FOR_TERMINAL = /[\u0000-\u0008\u000B-\u001F\u007F-\u009F\u200B-\u200F\u2028-\u202E\u2060-\u2069\uFEFF]/g;
export function terminalSafe(text: string): string {
  return text.replace(UNSAFE_FOR_TERMINAL, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

function buildProgram(out: (line: string) => void = (l) => process.stdout.write(terminalSafe(l) + '\n')): Command {
  const program = new Command('faceprint')
    .description('Face detection, alignment and recognition, equal to InsightFace, on ONNX Runtime')
    .version(packageVersion(), '-V, --version', 'the installed faceprint version')
    .showHelpAfterError()
    // usage mistakes exit 2 like every other error of the caller's making (commander's own default is 1);
    // subcommands created below inherit this
    .exitOverride();
  const analyze = program
    .command('analyze')
    .description('detect, align and embed every face in each image')
    .argument('<images...>', 'image files (JPEG, PNG, WebP, GIF, TIFF, AVIF; format read from the content)')
    .option('--max-faces <n>', 'at most this many faces per image (0 = all)', number('int'), 0)
    .option('--json', 'one JSON object per image per line')
    .option('--no-pad-retry', 'do not retry face-less images on a padded canvas (a tight face crop needs it)');
  addAnalyzerOptions(analyze, number('int'), number('float'))
    .action(async (images: string[], opts) => {
      process.exitCode = await runAnalyze(images, opts, out);
    });
  addEvalCommands(program, out, number('int'), number('float'));
  addGalleryCommands(program, out, number('int'), number('float'));
  addCollectionCommands(program, out, number('float'));
  addModelsCommands(program, out, number('int'), number('float'));
  addBenchCommand(program, out, number('int'), number('float'));
  addServeCommands(program, out, number('int'), number('float'));
  addWatchCommand(program, out, number('int'), number('float'));
  return program;
}

export async function main(argv: string[]): Promise<void> {
  // `faceprint subjects list | head`: a closed pipe ends the output, not the process with a stack trace
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw e;
  });
  try {
    await buildProgram().parseAsync(argv);
  } catch (e) {
    if (e instanceof CommanderError) {
      // help and version exit 0; commander has already printed the usage error and the help
      process.exitCode = e.exitCode === 0 ? 0 : 2;
      return;
    }
    if (e instanceof FaceprintError) {
      process.stderr.write(`faceprint: ${e.code}: ${terminalSafe(e.message)}\n`);
      process.exitCode = 2;
      return;
    }
    throw e;
  }
}
