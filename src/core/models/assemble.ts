import { ScrfdDetector } from '../detection/scrfd.js';
import { ArcFaceRecognizer, recognizerNormalisation } from '../embedding/arcface.js';
import { FaceprintError } from '../errors.js';
import { GenderAgeHead } from '../heads/genderage.js';
import { headNormalisation, type FaceHead } from '../heads/head.js';
import { LandmarkHead } from '../heads/landmark.js';
import type { ModelSession } from '../runtime.js';
import { onnxFirstNodeNames } from './graph-info.js';
import { withUint8Input } from './preprocess-graph.js';
import { routeModel, type ModelKind } from './router.js';

/** Opens ONNX bytes on some runtime (onnxruntime-node, onnxruntime-web). */
export type SessionFactory = (bytes: Uint8Array, source: string) => Promise<ModelSession>;

/** A model opened and routed by its shapes. */
export interface RoutedModel {
  /** File path or URL, for messages. */
  source: string;
  kind: ModelKind;
  session: ModelSession;
  bytes: Uint8Array;
}

/** Opens and routes model bytes; a model the router cannot place is closed again and the error names it. */
export async function openRouted(bytes: Uint8Array, source: string, open: SessionFactory): Promise<RoutedModel> {
  if (bytes.length === 0) throw new FaceprintError('MODEL_INVALID', `${source}: empty file`);
  const session = await open(bytes, source);
  try {
    return { source, kind: routeModel(source, session.inputs, session.outputs), session, bytes };
  } catch (e) {
    await session.close();
    throw e;
  }
}

/**
 * A SCRFD detector from a routed model. With `uint8Input` (the default) the session is reopened on a copy of
 * the graph that takes uint8 pixels and normalises them itself, bit-identically (withUint8Input).
 */
export async function detectorFrom(model: RoutedModel, open: SessionFactory, inputSize?: [number, number], uint8Input = true): Promise<ScrfdDetector> {
  if (model.kind !== 'detector') throw new FaceprintError('MODEL_UNRECOGNISED', `${model.source}: routed as a ${model.kind}, not a detector`);
  // Validate the layout on the original session before rewriting anything.
  const plain = new ScrfdDetector(model.session, inputSize);
  if (!uint8Input) return plain;
  const session = await open(withUint8Input(model.bytes, model.source, 127.5, 128), model.source);
  await model.session.close();
  model.session = session;
  return new ScrfdDetector(session, inputSize);
}

/** An ArcFace recognizer from a routed model, normalised as InsightFace decides from the graph's first nodes. */
export function recognizerFrom(model: RoutedModel, maxBatch?: number): ArcFaceRecognizer {
  if (model.kind !== 'recognizer') throw new FaceprintError('MODEL_UNRECOGNISED', `${model.source}: routed as a ${model.kind}, not a recognizer`);
  const norm = recognizerNormalisation(onnxFirstNodeNames(model.bytes, model.source));
  return new ArcFaceRecognizer(model.session, norm, { maxBatch });
}

/**
 * A per-face head from a routed model: 192² → landmarks (2d106det, 1k3d68), 96² → attributes (genderage). With
 * `uint8Input` (the default) the session is reopened on a copy of the graph that takes the crops' uint8 pixels
 * and normalises them itself, bit-identically (withUint8Input): no float blob is built in JavaScript.
 */
export async function headFrom(model: RoutedModel, open: SessionFactory, options: { maxBatch?: number; uint8Input?: boolean } = {}): Promise<FaceHead> {
  const norm = headNormalisation(onnxFirstNodeNames(model.bytes, model.source));
  const make = (session: ModelSession, uint8Input: boolean): FaceHead => {
    if (model.kind === 'landmark') return new LandmarkHead(session, norm, { maxBatch: options.maxBatch, uint8Input });
    if (model.kind === 'attribute') return new GenderAgeHead(session, norm, { maxBatch: options.maxBatch, uint8Input });
    throw new FaceprintError('MODEL_UNRECOGNISED', `${model.source}: routed as a ${model.kind}, not a per-face head`);
  };
  // Validate the interface on the original session before rewriting anything.
  const plain = make(model.session, false);
  if (options.uint8Input === false) return plain;
  const session = await open(withUint8Input(model.bytes, model.source, norm.mean, norm.std), model.source);
  await model.session.close();
  model.session = session;
  return make(session, true);
}
