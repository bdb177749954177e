import { join } from 'node:path';
import type { Command } from 'commander';
import { AUTO_DET_SIZES } from '../node/index.js';
import { readIdentityDir, readLfwPairs, readPairsCsv, type LabelledPair } from '../node/eval/datasets.js';
import { evaluateIdentity, evaluatePairs, writeRocPlot, type IdentificationReport, type VerificationReport } from '../node/eval/report.js';
import { addAnalyzerOptions, openAnalyzer, progressBar } from './options.js';
import { faceprintHome } from '../node/package-info.js';









/** A size list as the reference it follows. */
export function detectionInWords(sizes: readonly number[]): string {
  const label = sizes.join(',');
  if (label === AUTO_DET_SIZES.join(',')) return `${label} (InsightFace 1.0's default "Auto"; --det-size 640 for 0.7.3's)`;
  if (label === '640') return '640 (InsightFace 0.7.3\'s single pass; the default is 1.0\'s Auto, 128,640)';
  return label;
}

const pct = (x: number): string => `${(100 * x).toFixed(2)}%`;

function formatVerification(r: VerificationReport, title: string): string {
  const lines = [
    `${title}: ${r.evaluatedPairs}/${r.pairs} pairs, ${r.images} images, ${r.seconds.toFixed(1)} s`,
    `detection: ${detectionInWords(r.detSizes)}`,
    `accuracy ${pct(r.accuracy.mean)} ± ${pct(r.accuracy.std)} (${r.folds.length}-fold; threshold chosen on the other folds)`,
    `  fold thresholds (cosine): ${r.folds.map((f) => f.thresholdCosine.toFixed(2)).join(' ')}`,
    `AUC ${r.auc.toFixed(5)}   EER ${pct(r.eer)}   best global threshold cosine ${r.bestThreshold.cosine} (${pct(r.bestThreshold.accuracy)})`,
    ...r.tarAtFar.map((t) => `TAR@FAR=${t.far.toExponential(0)}: ${t.supported ? `${pct(t.tar!)} (cosine ≥ ${t.threshold?.toFixed(4)})` : 'not supported by the number of impostor pairs'}`),
    `images without a face: ${r.misses.length}${r.misses.length ? ' (aligned with the mean landmarks)' : ''}`,
    ...r.misses.map((m) => `  ${m}`),
  ];
  if (r.errors.length) lines.push(`unreadable images: ${r.errors.length}`, ...r.errors.map((e) => `  ${e.path}: ${e.code}`));
  return lines.join('\n');
}

function formatIdentification(r: IdentificationReport): string {
  return [
    `identification: ${r.images} images, ${r.subjects} subjects, ${r.matedProbes} mated probes, ${r.seconds.toFixed(1)} s`,
    `rank-1 ${pct(r.rank1)}   rank-5 ${pct(r.rank5)}`,
    ...r.openSet.map((o) => `open-set DIR@FAR=${o.far.toExponential(0)}: ${o.supported ? `${pct(o.dir!)} (cosine > ${o.threshold!.toFixed(4)})` : `not supported by ${r.nonMatedSearches} non-mated searches`}`),
    ...(r.poseGate ? [
      `pose gate (yaw ±${r.poseGate.maxYaw ?? 'any'}°, pitch ±${r.poseGate.maxPitch ?? 'any'}°): ${r.poseGate.refused} images kept out of the galleries; ` +
      `without the gate rank-1 ${pct(r.poseGate.ungated.rank1)}, rank-5 ${pct(r.poseGate.ungated.rank5)} (${r.poseGate.ungated.matedProbes} mated probes)`,
    ] : []),
    `images without a face (left out): ${r.misses.length}`,
    ...r.misses.map((m) => `  ${m}`),
  ].join('\n');
}




function addModelOptions(cmd: Command, int: (v: string) => number, float: (v: string) => number): Command {
  return addAnalyzerOptions(cmd, int, float)
    .option('--cache <dir>', 'embedding cache directory (default $FACEPRINT_HOME/cache)')
    .option('--no-cache', 'do not read or write the embedding cache')
    .option('--json', 'print the report as JSON');
}

export function addEvalCommands(program: Command, out: (s: string) => void, int: (v: string) => number, float: (v: string) => number): void {
  const evalCmd = program.command('eval').description('measure accuracy: LFW protocol, labelled pairs, identification');
  /** Most images without a face make every figure meaningless: say so on stderr and exit 1. */
  const checkFaces = (images: number, misses: number, errors: number, hint: string): void => {
    if (misses + errors <= images / 2) return;
    process.stderr.write(`faceprint: ${misses + errors} of ${images} images gave no face (${misses} without a detection, ${errors} unreadable): these figures mean nothing. ${hint}\n`);
    process.exitCode = 1;
  };
  const verification = async (pairs: LabelledPair[], opts: Record<string, any>, title: string, padRetry: boolean): Promise<void> => {
    const fa = await openAnalyzer(opts);
    const bar = progressBar('embedding');
    try {
      const cacheDir = opts.cache === false ? null : typeof opts.cache === 'string' ? opts.cache : join(faceprintHome(), 'cache');
      const { report, scores, same } = await evaluatePairs(fa, pairs, { cacheDir, fallbackToMeanLandmarks: opts.fallback !== false, padRetry, onProgress: bar.update, label: title });
      bar.stop();
      if (opts.plot) await writeRocPlot(opts.plot, [{ label: title, same, scores }], `ROC — ${title}`);
      out(opts.json ? JSON.stringify(report) : formatVerification(report, title));
      checkFaces(report.images, report.misses.length, report.errors.length, padRetry ? 'Are these face photos?' : 'Tight face crops need the padded retry (drop --no-pad-retry).');
    } finally {
      bar.stop();
      await fa.close();
    }
  };
  addModelOptions(
    evalCmd.command('lfw').description('the LFW 10-fold protocol on pairs.txt')
      .requiredOption('--images <dir>', 'LFW images (Name/Name_0001.jpg)')
      .requiredOption('--pairs <file>', 'pairs.txt')
      .option('--plot <file>', 'write the ROC curve as FILE.svg and FILE.png')
      .option('--no-fallback', 'drop pairs whose image has no face instead of aligning it with the mean landmarks'),
    int, float,
  ).action(async (opts) => verification(await readLfwPairs(opts.pairs, opts.images), opts, 'LFW', false)); // InsightFace's protocol: no retry
  addModelOptions(
    evalCmd.command('pairs').description('the same metrics for any labelled pair list (CSV: path_a,path_b,same)')
      .requiredOption('--pairs <csv>', 'CSV file')
      .option('--plot <file>', 'write the ROC curve as FILE.svg and FILE.png')
      .option('--no-fallback', 'drop pairs whose image has no face')
      .option('--pad-retry', 'retry face-less images on a padded canvas (the default; kept for scripts that pass it)')
      .option('--no-pad-retry', 'do not retry face-less images on a padded canvas (tight crops need it)'),
    int, float,
  ).action(async (opts) => verification(await readPairsCsv(opts.pairs), opts, 'pairs', opts.padRetry !== false));
  addModelOptions(
    evalCmd.command('identify').description('leave-one-out rank-1/rank-5 and open-set DIR@FAR on a folder per person')
      .requiredOption('--dir <dir>', 'a folder per person')
      .option('--max-yaw <deg>', 'keep faces turned further out of the galleries, as enrolment would refuse them (needs the 3-D head)', float)
      .option('--max-pitch <deg>', 'likewise for faces tilted further up or down', float)
      .option('--no-pad-retry', 'do not retry face-less images on a padded canvas (tight crops need it)'),
    int, float,
  ).action(async (opts) => {
    const items = await readIdentityDir(opts.dir);
    const fa = await openAnalyzer(opts);
    const bar = progressBar('embedding');
    try {
      const cacheDir = opts.cache === false ? null : typeof opts.cache === 'string' ? opts.cache : join(faceprintHome(), 'cache');
      const report = await evaluateIdentity(fa, items, { cacheDir, padRetry: opts.padRetry !== false, onProgress: bar.update, maxYaw: opts.maxYaw, maxPitch: opts.maxPitch });
      bar.stop();
      out(opts.json ? JSON.stringify(report) : formatIdentification(report));
      checkFaces(report.images, report.misses.length, report.errors.length, opts.padRetry !== false ? 'Are these face photos?' : 'Tight face crops need the padded retry (drop --no-pad-retry).');
    } finally {
      bar.stop();
      await fa.close();
    }
  });
}
