import { Command, InvalidArgumentError } from 'commander';
import cliProgress from 'cli-progress';
import { FaceprintError } from '../core/errors.js';
import { HEAD_NAMES, type HeadName } from '../core/heads/head.js';
import { AUTO_DET_SIZES, checkDetSizes, FaceAnalyzer, type FaceAnalyzerOptions } from '../node/index.js';
import { checkHeadNames } from '../node/models.js';

// The options every command that loads models shares, declared once; and the progress bar they share.

export interface ModelCliOptions {
  pack?: string;
  detector?: string;
  recognizer?: string;
  detSize?: number;
  detSizes?: number[];
  detThresh?: number;
  detInput?: 'model' | 'image';
  threads?: number;
  heads?: HeadName[];
  head?: string[];
}

/** --heads: a comma list of head names, or none. */
function headList(v: string): HeadName[] {
  return v.trim() === 'none' ? [] : checkHeadNames(v.split(',').map((h) => h.trim()).filter(Boolean));
}

const collect = (v: string, prev: string[] = []): string[] => [...prev, v];

/** --heads and --head, for every command that loads models. */
export function addHeadOptions(cmd: Command): Command {
  return cmd
    .option('--heads <list>', `per-face heads to run, comma-separated (${HEAD_NAMES.join(', ')}) or none; default: every head the pack has`, headList)
    .option('--head <file>', 'a head ONNX file (2d106det, 1k3d68 or genderage interface); repeatable', collect);
}

/** The analyzer the model options describe; `more`: options of the command's own (e.g. analyze's maxFaces). */
export async function openAnalyzer(opts: ModelCliOptions, more: Partial<FaceAnalyzerOptions> = {}): Promise<FaceAnalyzer> {
  if (!opts.pack && !opts.detector) throw new FaceprintError('MODEL_MISSING', 'give --pack NAME|DIR, or --detector FILE and --recognizer FILE');
  return FaceAnalyzer.create({
    pack: opts.pack, detector: opts.detector, recognizer: opts.recognizer,
    detSize: opts.detSize, detSizes: opts.detSizes, detThresh: opts.detThresh, detInput: opts.detInput, intraOpNumThreads: opts.threads, heads: opts.heads, headModels: opts.head, ...more,
  });
}

export function progressBar(label: string, unit = 'images'): { update: (done: number, total: number) => void; stop: () => void } {
  const bar = new cliProgress.SingleBar(
    { stream: process.stderr, format: `${label} [{bar}] {value}/{total} ${unit} | {eta_formatted} left`, hideCursor: true },
    cliProgress.Presets.shades_classic,
  );
  let started = false;
  return {
    update(done, total) {
      if (!started) { bar.start(total, 0); started = true; }
      bar.update(done);
    },
    stop() { if (started) bar.stop(); },
  };
}

/** --pack/--detector/--recognizer and the detector settings, shared by every command that loads models. */
export function addAnalyzerOptions(cmd: Command, int: (v: string) => number, float: (v: string) => number): Command {
  return addHeadOptions(cmd)
    .option('--pack <dir|name>', 'model pack: a directory (*.onnx routed by shape, as InsightFace) or a known name (buffalo_l, …) pulled once')
    .option('--detector <file>', 'SCRFD detector ONNX')
    .option('--recognizer <file>', 'recognizer ONNX')
    .option('--det-sizes <list>', `detector sizes, comma-separated, merged by one NMS (InsightFace 1.0; default ${AUTO_DET_SIZES.join(',')}, its "Auto")`, sizeList)
    .option('--det-size <n>', 'one detector size (square): InsightFace 0.7.3\'s single pass; 640 is exactly its default', int)
    .option('--det-thresh <x>', 'detection score threshold', float, 0.5)
    .option('--det-input <mode>', 'model: the detector\'s fixed square (InsightFace-exact); image: sized to each image, never up (faster on small photos)', detInputMode, 'model')
    .option('--threads <n>', 'onnxruntime intra-op threads', int);
}

/** --det-sizes: "128,640". */
export function sizeList(v: string): number[] {
  const sizes = v.split(',').map((x) => Number(x.trim()));
  try {
    return checkDetSizes(sizes);
  } catch (e) {
    throw new InvalidArgumentError((e as Error).message);
  }
}

export function detInputMode(v: string): 'model' | 'image' {
  if (v !== 'model' && v !== 'image') throw new InvalidArgumentError('model or image');
  return v;
}
