import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { FaceprintError } from '../core/errors.js';
import type { ScrfdDetector } from '../core/detection/scrfd.js';
import type { ArcFaceRecognizer } from '../core/embedding/arcface.js';
import { detectorFrom, openRouted, recognizerFrom, type RoutedModel, type SessionFactory } from '../core/models/assemble.js';
import { createOrtNodeSession, type OrtNodeOptions } from '../runtime/ort-node.js';

/** A model file opened and routed; `path` is its file. */
export interface LoadedModel extends RoutedModel {
  path: string;
}

const opener = (options: OrtNodeOptions): SessionFactory => (bytes, source) => createOrtNodeSession(bytes, source, options);

/** Reads, opens and routes one ONNX file; every failure is a FaceprintError naming the file. */
export async function loadModel(path: string, options: OrtNodeOptions = {}): Promise<LoadedModel> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new FaceprintError('MODEL_NOT_FOUND', `${path}: ${code === 'ENOENT' ? 'no such model file' : `cannot read (${code})`}`, { cause: e });
  }
  return { ...(await openRouted(bytes, path, opener(options))), path };
}

/** A SCRFD detector (see detectorFrom: uint8 input by default). */
export function makeDetector(model: LoadedModel, inputSize?: [number, number], options: OrtNodeOptions & { uint8Input?: boolean } = {}): Promise<ScrfdDetector> {
  return detectorFrom(model, opener(options), inputSize, options.uint8Input !== false);
}

export function makeRecognizer(model: LoadedModel, maxBatch?: number): ArcFaceRecognizer {
  return recognizerFrom(model, maxBatch);
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
