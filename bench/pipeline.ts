/**
 * Pipeline overhead: faceprint's analyze (letterbox, detector, decode + NMS, align, embed, normalise) against
 * bare onnxruntime-node session.run of the same two models on the same tensors, in one process, interleaved.
 * Goal (issue 2): pipeline ÷ bare ≤ 1.10. Also reports decode time separately (sharp), which both sides skip.
 *   npm run bench            (or: node --import tsx bench/pipeline.ts [--iters N] [--threads N]
 *                                 [--recognizer FILE] [--detector FILE] [--cases one,t1])
 */
import * as ort from 'onnxruntime-node';
import sharp from 'sharp';
import { join } from 'node:path';
import { FaceAnalyzer, letterbox, letterboxBlob, normalisationLut, normCrop, decodeImage, type RgbImage } from '../src/node/index.js';
import { DET_500M, MOBILEFACENET, SHARED } from '../test/fixtures.js';

const arg = (name: string, def: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : def;
};
const ITERS = arg('iters', 40);
const argStr = (name: string, def: string): string => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : def;
};
const DETECTOR = argStr('detector', DET_500M);
const RECOGNIZER = argStr('recognizer', MOBILEFACENET);
const CASES = argStr('cases', 'one,t1').split(',');
const THREADS = arg('threads', 0);
const sessionOptions: ort.InferenceSession.SessionOptions = { graphOptimizationLevel: 'all', executionProviders: ['cpu'], ...(THREADS ? { intraOpNumThreads: THREADS } : {}) };

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const p90 = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length * 0.9)];

async function main(): Promise<void> {
  const fa = await FaceAnalyzer.create({ detector: DETECTOR, recognizer: RECOGNIZER, intraOpNumThreads: THREADS || undefined });
  const bareDet = await ort.InferenceSession.create(DETECTOR, sessionOptions);
  const bareRec = await ort.InferenceSession.create(RECOGNIZER, sessionOptions);

  const oneFaceJpeg = await sharp(join(SHARED, 'lfw/images/Lindsay_Davenport/Lindsay_Davenport_0005.jpg')).resize(640, 640).jpeg({ quality: 95 }).toBuffer();
  const cases: { key: string; name: string; bytes: Buffer | string }[] = [
    { key: 'one', name: 'one face, 640×640', bytes: oneFaceJpeg },
    { key: 't1', name: 'groups/insightface/t1.jpg (1280×886, 6 faces)', bytes: join(SHARED, 'faces/groups/insightface/t1.jpg') },
  ].filter((c) => CASES.includes(c.key));
  const rows: Record<string, unknown>[] = [];
  for (const c of cases) {
    const decodeTimes: number[] = [];
    let image!: RgbImage;
    for (let i = 0; i < 5; i++) {
      const t = performance.now();
      image = await decodeImage(c.bytes);
      decodeTimes.push(performance.now() - t);
    }
    // The exact tensors the pipeline feeds, prepared once for the bare runs.
    const detBlob = letterboxBlob(letterbox(image, 640, 640), normalisationLut(127.5, 128));
    const faces = await fa.analyze(image);
    const crops = faces.map((f) => normCrop(image, f.kps.flat(), 112).crop);
    const recBlob = fa.core.recognizer!.blob(crops);
    const detFeed = { [bareDet.inputNames[0]]: new ort.Tensor('float32', detBlob, [1, 3, 640, 640]) };
    const recFeed = { [bareRec.inputNames[0]]: new ort.Tensor('float32', recBlob, [crops.length, 3, 112, 112]) };
    const bare = async (): Promise<void> => {
      await bareDet.run(detFeed);
      if (crops.length) await bareRec.run(recFeed);
    };
    for (let i = 0; i < 5; i++) {
      await fa.analyze(image);
      await bare();
    }
    const tp: number[] = [];
    const tb: number[] = [];
    for (let i = 0; i < ITERS; i++) {
      // Alternate which goes first so drift on a shared machine hits both alike.
      const order = i % 2 === 0 ? ['p', 'b'] : ['b', 'p'];
      for (const o of order) {
        const t = performance.now();
        if (o === 'p') await fa.analyze(image);
        else await bare();
        (o === 'p' ? tp : tb).push(performance.now() - t);
      }
    }
    rows.push({
      case: c.name,
      faces: faces.length,
      'decode ms': +median(decodeTimes).toFixed(2),
      'pipeline ms (median)': +median(tp).toFixed(2),
      'bare session.run ms (median)': +median(tb).toFixed(2),
      'ratio (median)': +(median(tp) / median(tb)).toFixed(3),
      'pipeline p90': +p90(tp).toFixed(2),
      'bare p90': +p90(tb).toFixed(2),
    });
  }
  await fa.close();
  await bareDet.release();
  await bareRec.release();
  if (process.argv.includes('--json')) console.log(JSON.stringify(rows));
  else console.table(rows);
  console.log(`iterations: ${ITERS}, intra-op threads: ${THREADS || 'onnxruntime default'}, node ${process.version}, recognizer ${RECOGNIZER}`);
}

await main();
