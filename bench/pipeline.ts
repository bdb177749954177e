/**
 * Pipeline overhead: faceprint's analyze (letterbox, detector, decode + NMS, align, embed, normalise, and every
 * head: crops, blobs, landmarks, pose, gender/age) against bare onnxruntime-node session.run of the same models on
 * the same tensors (each head's faces in one batch), in one process, interleaved. Goal: pipeline ÷ bare ≤ 1.10.
 * Reports each head's bare run time, and decode time separately (sharp), which both sides skip.
 *   npm run bench            (or: node --import tsx bench/pipeline.ts [--iters N] [--threads N]
 *                                 [--recognizer FILE] [--detector FILE] [--heads FILE,FILE|none] [--cases one,t1]
 *                                 [--detections 128,640/640] [--spin-wait])
 * Each case runs once per detection (default: InsightFace 1.0's Auto, 128 and 640, and 0.7.3's 640 alone); the bare
 * side runs the detector at every size the pipeline does, so the ratio is the pipeline's own overhead and the
 * difference between the rows is what the 128 pass costs.
 * Default heads: the fixture replicas of 1k3d68, 2d106det and genderage: the real heads' interfaces on small graphs,
 * so their run times are not buffalo_l's, while the work around them (crops, blobs, post-processing) is the same.
 */
import * as ort from 'onnxruntime-node';
import sharp from 'sharp';
import { join } from 'node:path';
import { FaceAnalyzer, letterbox, letterboxBlob, normalisationLut, normCrop, decodeImage, headCrop, type RgbImage } from '../src/node/index.js';
import { ortNodeSessionOptions } from '../src/runtime/ort-node.js';
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
const DETECTIONS = argStr('detections', '128,640/640').split('/').map((d) => d.split(',').map(Number));
const SPIN_WAIT = process.argv.includes('--spin-wait');
// the bare sessions get faceprint's own options (threads, spinning), so the ratio is the pipeline's overhead alone
const sessionOptions = ortNodeSessionOptions({ intraOpNumThreads: THREADS || undefined, spinWait: SPIN_WAIT });

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const p90 = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length * 0.9)];

async function main(): Promise<void> {
  const bareDet = await ort.InferenceSession.create(DETECTOR, sessionOptions);
  const bareRec = await ort.InferenceSession.create(RECOGNIZER, sessionOptions);
  const oneFaceJpeg = await sharp(join(SHARED, 'lfw/images/Lindsay_Davenport/Lindsay_Davenport_0005.jpg')).resize(640, 640).jpeg({ quality: 95 }).toBuffer();
  const cases: { key: string; name: string; bytes: Buffer | string }[] = [
    { key: 'one', name: 'one face, 640×640', bytes: oneFaceJpeg },
    { key: 't1', name: 'groups/insightface/t1.jpg (1280×886, 6 faces)', bytes: join(SHARED, 'faces/groups/insightface/t1.jpg') },
  ].filter((c) => CASES.includes(c.key));
  const rows: Record<string, unknown>[] = [];
  for (const detSizes of DETECTIONS) {
    const fa = await FaceAnalyzer.create({ detector: DETECTOR, recognizer: RECOGNIZER, intraOpNumThreads: THREADS || undefined, spinWait: SPIN_WAIT, headModels: HEADS, detSizes });
    const bareHeads = await Promise.all(fa.core.heads.map((h) => ort.InferenceSession.create(h.session.source, sessionOptions)));
    for (const c of cases) rows.push(await measure(c, fa, detSizes, bareDet, bareRec, bareHeads));
    await fa.close();
    for (const h of bareHeads) await h.release();
  }
  await bareDet.release();
  await bareRec.release();
  if (process.argv.includes('--json')) console.log(JSON.stringify(rows));
  else console.table(rows);
  console.log(`iterations: ${ITERS}, intra-op threads: ${THREADS || 'onnxruntime default'}, idle threads ${SPIN_WAIT ? 'spin' : 'sleep'}, node ${process.version}, recognizer ${RECOGNIZER}, heads: ${HEADS.map((h) => h.split('/').pop()).join(', ') || 'none'}`);
}

async function measure(
  c: { name: string; bytes: Buffer | string }, fa: FaceAnalyzer, detSizes: number[],
  bareDet: ort.InferenceSession, bareRec: ort.InferenceSession, bareHeads: ort.InferenceSession[],
): Promise<Record<string, unknown>> {
  const decodeTimes: number[] = [];
  let image!: RgbImage;
  for (let i = 0; i < 5; i++) {
    const t = performance.now();
    image = await decodeImage(c.bytes);
    decodeTimes.push(performance.now() - t);
  }
  // The exact tensors the pipeline feeds, prepared once for the bare runs: one detector input per size.
  const detFeeds = detSizes.map((size) => ({ [bareDet.inputNames[0]]: new ort.Tensor('float32', letterboxBlob(letterbox(image, size, size), normalisationLut(127.5, 128)), [1, 3, size, size]) }));
  const faces = await fa.analyze(image);
  const crops = faces.map((f) => normCrop(image, f.kps, 112).crop);
  const recBlob = fa.core.recognizer!.blob(crops);
  const recFeed = { [bareRec.inputNames[0]]: new ort.Tensor('float32', recBlob, [crops.length, 3, 112, 112]) };
  const headFeeds = fa.core.heads.map((h, k) => {
    const headCrops = faces.map((f) => headCrop(image, f.bbox, h.inputSize).image);
    return { [bareHeads[k].inputNames[0]]: new ort.Tensor('float32', h.blob(headCrops), [headCrops.length, 3, h.inputSize, h.inputSize]) };
  });
  const headTimes: number[][] = fa.core.heads.map(() => []);
  const detTimes: number[][] = detSizes.map(() => []);
  const bare = async (): Promise<void> => {
    for (let k = 0; k < detFeeds.length; k++) {
      const t = performance.now();
      await bareDet.run(detFeeds[k]);
      detTimes[k].push(performance.now() - t);
    }
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
  return {
    case: c.name,
    detection: detSizes.join(','),
    faces: faces.length,
    'decode ms': +median(decodeTimes).toFixed(2),
    'pipeline ms (median)': +median(tp).toFixed(2),
    'bare session.run ms (median)': +median(tb).toFixed(2),
    'ratio (median)': +(median(tp) / median(tb)).toFixed(3),
    'pipeline p90': +p90(tp).toFixed(2),
    'bare p90': +p90(tb).toFixed(2),
    ...Object.fromEntries(detSizes.map((size, k) => [`detector ${size} bare ms`, +median(detTimes[k]).toFixed(2)])),
    ...Object.fromEntries(fa.core.heads.map((h, k) => [`${h.name} bare ms`, headTimes[k].length ? +median(headTimes[k]).toFixed(2) : 0])),
  };
}

await main();
