import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { FaceprintError } from '../core/errors.js';
import { ScrfdDetector } from '../core/detection/scrfd.js';
import { ArcFaceRecognizer, recognizerNormalisation } from '../core/embedding/arcface.js';
import { onnxFirstNodeNames } from '../core/models/onnx-graph.js';
import { routeModel, type ModelKind } from '../core/models/router.js';
import { withUint8Input } from '../core/models/preprocess-graph.js';
import type { ModelSession } from '../core/runtime.js';
import { createOrtNodeSession, type OrtNodeOptions } from '../runtime/ort-node.js';

export interface LoadedModel {
  path: string;
  kind: ModelKind;
  session: ModelSession;
  bytes: Uint8Array;
}

/** Reads, opens and routes one ONNX file; every failure is a FaceprintError naming the file. */
export async function loadModel(path: string, options: OrtNodeOptions = {}): Promise<LoadedModel> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new FaceprintError('MODEL_NOT_FOUND', `${path}: ${code === 'ENOENT' ? 'no such model file' : `cannot read (${code})`}`, { cause: e });
  }
  if (bytes.length === 0) throw new FaceprintError('MODEL_INVALID', `${path}: empty file`);
  const session = await createOrtNodeSession(bytes, path, options);
  try {
    return { path, kind: routeModel(path, session.inputs, session.outputs), session, bytes };
  } catch (e) {
    await session.close();
    throw e;
  }
}

/**
 * A SCRFD detector from a routed model. With `uint8Input` (the default) the session is reopened on a copy of
 * the graph that takes uint8 pixels and normalises them itself, bit-identically (withUint8Input).
 */
export async function makeDetector(model: LoadedModel, inputSize?: [number, number], options: OrtNodeOptions & { uint8Input?: boolean } = {}): Promise<ScrfdDetector> {
  if (model.kind !== 'detector') throw new FaceprintError('MODEL_UNRECOGNISED', `${model.path}: routed as a ${model.kind}, not a detector`);
  // Validate the layout on the original session before rewriting anything.
  const plain = new ScrfdDetector(model.session, inputSize);
  if (options.uint8Input === false) return plain;
  const rewritten = withUint8Input(model.bytes, model.path, 127.5, 128);
  const session = await createOrtNodeSession(rewritten, model.path, options);
  await model.session.close();
  model.session = session;
  return new ScrfdDetector(session, inputSize);
}

export function makeRecognizer(model: LoadedModel, maxBatch?: number): ArcFaceRecognizer {
  if (model.kind !== 'recognizer') throw new FaceprintError('MODEL_UNRECOGNISED', `${model.path}: routed as a ${model.kind}, not a recognizer`);
  const norm = recognizerNormalisation(onnxFirstNodeNames(model.bytes, model.path));
  return new ArcFaceRecognizer(model.session, norm, { maxBatch });
}

/**
 * A pack directory as InsightFace's FaceAnalysis reads one: every *.onnx in name order, routed by shape; the
 * first model of each kind wins. Models of kinds faceprint does not use are closed again.
 */
export async function loadPackDir(dir: string, options: OrtNodeOptions = {}): Promise<{ detector: LoadedModel; recognizer: LoadedModel | null }> {
  let names: string[];
  try {
    if (!(await stat(dir)).isDirectory()) throw new Error('not a directory');
    names = (await readdir(dir)).filter((n) => n.toLowerCase().endsWith('.onnx')).sort();
  } catch (e) {
    throw new FaceprintError('MODEL_NOT_FOUND', `${dir}: not a readable model pack directory`, { cause: e });
  }
  let detector: LoadedModel | null = null;
  let recognizer: LoadedModel | null = null;
  for (const name of names) {
    const model = await loadModel(join(dir, name), options).catch(async (e) => {
      // A file the router cannot place is skipped, as InsightFace skips it; a broken file is an error.
      if (e instanceof FaceprintError && e.code === 'MODEL_UNRECOGNISED') return null;
      await detector?.session.close();
      await recognizer?.session.close();
      throw e;
    });
    if (!model) continue;
    if (model.kind === 'detector' && !detector) detector = model;
    else if (model.kind === 'recognizer' && !recognizer) recognizer = model;
    else await model.session.close();
  }
  if (!detector) {
    await recognizer?.session.close();
    throw new FaceprintError('MODEL_MISSING', `${dir}: no detector model among ${names.length} ONNX file(s)`);
  }
  return { detector, recognizer };
}
