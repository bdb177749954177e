/** faceprint core: pure TypeScript, no Node or DOM imports — the same code runs in Node and the browser. */
export { FaceprintError, isFaceprintError, type FaceprintErrorCode } from './errors.js';
export { padImage, rgbImage, type RgbImage } from './image.js';
export { resizeLinear } from './imgproc/resize.js';
export { warpAffine, type Affine2x3 } from './imgproc/warp.js';
export { letterbox, letterboxBlob, letterboxCanvas, letterboxToBlob, normalisationLut } from './detection/letterbox.js';
export { greedyNms } from './detection/nms.js';
export { ScrfdDetector, type Detection, type DetectOptions, type ScrfdRawOutputs } from './detection/scrfd.js';
export { similarityTransform } from './alignment/similarity.js';
export { ARCFACE_TEMPLATE_112, estimateNorm, normCrop } from './alignment/norm-crop.js';
export { ArcFaceRecognizer, normaliseEmbedding, recognizerNormalisation, type Embedding } from './embedding/arcface.js';
export { cosine } from './matching/cosine.js';
export { routeModel, type ModelKind } from './models/router.js';
export { onnxFirstNodeNames } from './models/onnx-graph.js';
export { estimateMacs } from './models/graph-macs.js';
export { buildIResNetReplica, IRESNET_LAYERS, type IResNetArch } from './models/iresnet-replica.js';
export { withUint8Input, U8_INPUT } from './models/preprocess-graph.js';
export { FaceAnalyzerCore, type Face, type AnalyzeOptions } from './analyzer.js';
export type { ModelSession, TensorF32, InputTensor, ValueInfo, Dim } from './runtime.js';
