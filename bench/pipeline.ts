/**
 * Pipeline overhead: faceprint's analyze (letterbox, detector, decode + NMS, align, embed, normalise, and every
 * head: crops, blobs, landmarks, pose, gender/age) against bare onnxruntime-node session.run of the same models on
 * the same tensors (each head's faces in one batch), in one process, interleaved. Goal: pipeline ÷ bare ≤ 1.10.
 * Reports each head's bare run time, and decode time separately (sharp), which both sides skip.
 *   npm run bench            (or: node --import tsx bench/pipeline.ts [--iters N] [--threads N]
 *                                 [--recognizer FILE] [--detector FILE] [--heads FILE,FILE|none] [--cases one,t1])
 * Default heads: the fixture replicas of 1k3d68, 2d106det and genderage: the real heads' interfaces on small graphs,
 * so their run times are not buffalo_l's, while the work around them (crops, blobs, post-processing) is the same.
 */
import * as ort from 'onnxruntime-node';
import sharp from 'sharp';
import { join } from 'node:path';
import { FaceAnalyzer, letterbox, letterboxBlob, normalisationLut, normCrop, decodeImage, headCrop, type RgbImage } from '../src/node/index.js';
import { DET_500M, MOBILEFACENET, MODELS, SHARED } from '../test/fixtures.js';

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
const DEFAULT_HEADS = ['1k3d68_replica.onnx', '2d106det_replica.onnx', 'genderage_replica.onnx'].map((f) => join(MODELS, 'heads', f)).join(',');
const HEADS = argStr('heads', DEFAULT_HEADS) === 'none' ? [] : argStr('heads', DEFAULT_HEADS).split(',');
const THREADS = arg('threads', 0);
const sessionOptions: ort.InferenceSession.SessionOptions = { graphOptimizationLevel: 'all', executionProviders: ['cpu'], ...(THREADS ? { intraOpNumThreads: THREADS } : {}) };

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const p90 = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length * 0.9)];

async function main(): Promise<void> {
  const fa = await FaceAnalyzer.create({ detector: DETECTOR, recognizer: RECOGNIZER, intraOpNumThreads: THREADS || undefined, headModels: HEADS });
  const bareDet = await ort.InferenceSession.create(DETECTOR, sessionOptions);
  const bareRec = await ort.InferenceSession.create(RECOGNIZER, sessionOptions);
  const bareHeads = await Promise.all(fa.core.heads.map((h) => ort.InferenceSession.create(h.session.source, sessionOptions)));

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
    const headFeeds = fa.core.heads.map((h, k) => {
      const headCrops = faces.map((f) => headCrop(image, f.bbox, h.inputSize).image);
      return { [bareHeads[k].inputNames[0]]: new ort.Tensor('float32', h.blob(headCrops), [headCrops.length, 3, h.inputSize, h.inputSize]) };
    });
    const headTimes: number[][] = fa.core.heads.map(() => []);
    const bare = async (): Promise<void> => {
      await bareDet.run(detFeed);
      if (!crops.length) return;
      await bareRec.run(recFeed);
      for (let k = 0; k < bareHeads.length; k++) {
        const t = performance.now();
        await bareHeads[k].run(headFeeds[k]);
        headTimes[k].push(performance.now() - t);
      }
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
      ...Object.fromEntries(fa.core.heads.map((h, k) => [`${h.name} bare ms`, headTimes[k].length ? +median(headTimes[k]).toFixed(2) : 0])),
    });
  }
  await fa.close();
  await bareDet.release();
  await bareRec.release();
  for (const h of bareHeads) await h.release();
  if (process.argv.includes('--json')) console.log(JSON.stringify(rows));
  else console.table(rows);
  console.log(`iterations: ${ITERS}, intra-op threads: ${THREADS || 'onnxruntime default'}, node ${process.version}, recognizer ${RECOGNIZER}, heads: ${HEADS.map((h) => h.split('/').pop()).join(', ') || 'none'}`);
}

await main();
