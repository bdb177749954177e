import { describeHeads, faceToJson } from '../core/face-json.js';
import { FaceprintError } from '../core/errors.js';
import { openAnalyzer, type ModelCliOptions } from './options.js';

export interface AnalyzeCliOptions extends ModelCliOptions {
  maxFaces?: number;
  json?: boolean;
  /** false: no padded retry of a face-less image (`--no-pad-retry`). */
  padRetry?: boolean;
}

/** Runs `faceprint analyze`; returns the process exit code (1 when any image failed). */
export async function runAnalyze(images: string[], opts: AnalyzeCliOptions, out: (line: string) => void): Promise<number> {
  const fa = await openAnalyzer(opts, { maxFaces: opts.maxFaces });
  let failed = 0;
  try {
    for (const image of images) {
      try {
        const pixels = await fa.decode(image);
        // a tight face crop (the face fills the image) is found on a padded canvas, as enroll/verify/identify do
        const faces = await fa.analyze(pixels, { padRetry: opts.padRetry !== false });
        if (opts.json) {
          out(JSON.stringify({ image, width: pixels.width, height: pixels.height, faces: faces.map((f) => faceToJson(f, { embedding: true })) }));
        } else {
          out(`${image}  ${pixels.width}×${pixels.height}  ${faces.length} face${faces.length === 1 ? '' : 's'}`);
          faces.forEach((f, i) => {
            const [x1, y1, x2, y2] = f.bbox.map((v) => v.toFixed(1));
            const norm = f.embeddingNorm !== undefined ? `  ‖e‖ ${f.embeddingNorm.toFixed(2)}` : '';
            const heads = describeHeads(f);
            out(`  #${i + 1}  score ${f.score.toFixed(3)}  box [${x1}, ${y1}, ${x2}, ${y2}]  ${(f.bbox[2] - f.bbox[0]).toFixed(0)}×${(f.bbox[3] - f.bbox[1]).toFixed(0)} px${norm}${heads ? `  ${heads}` : ''}`);
          });
        }
      } catch (e) {
        failed++;
        const err = e instanceof FaceprintError ? e : new FaceprintError('IMAGE_CORRUPT', String((e as Error)?.message ?? e));
        if (opts.json) out(JSON.stringify({ image, error: err.toJSON() }));
        else out(`${image}  error ${err.code}: ${err.message}`);
      }
    }
  } finally {
    await fa.close();
  }
  return failed > 0 ? 1 : 0;
}
