import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { FaceprintError } from '../core/errors.js';
import type { ScrfdDetector } from '../core/detection/scrfd.js';
import type { ArcFaceRecognizer } from '../core/embedding/arcface.js';
import { HEAD_NAMES, type FaceHead, type HeadName } from '../core/heads/head.js';
import { detectorFrom, headFrom, openRouted, recognizerFrom, type RoutedModel, type SessionFactory } from '../core/models/assemble.js';
import { graphSignature } from '../core/models/graph-info.js';
import { routeModel, type ModelKind } from '../core/models/router.js';
import { createOrtNodeSession, type OrtNodeOptions } from '../runtime/ort-node.js';

/** A model file opened and routed; `path` is its file. */
export interface LoadedModel extends RoutedModel {
  path: string;
}

const opener = (options: OrtNodeOptions): SessionFactory => (bytes, source) => createOrtNodeSession(bytes, source, options);

async function readModelFile(path: string): Promise<Uint8Array> {
  try {
    return await readFile(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new FaceprintError('MODEL_NOT_FOUND', `${path}: ${code === 'ENOENT' ? 'no such model file' : `cannot read (${code})`}`, { cause: e });
  }
}

/** Reads, opens and routes one ONNX file; every failure is a FaceprintError naming the file. */
export async function loadModel(path: string, options: OrtNodeOptions = {}): Promise<LoadedModel> {
  return { ...(await openRouted(await readModelFile(path), path, opener(options))), path };
}

/** A SCRFD detector (see detectorFrom: uint8 input by default). */
export function makeDetector(model: LoadedModel, inputSize?: [number, number], options: OrtNodeOptions & { uint8Input?: boolean } = {}): Promise<ScrfdDetector> {
  return detectorFrom(model, opener(options), inputSize, options.uint8Input !== false);
}

export function makeRecognizer(model: LoadedModel, maxBatch?: number): ArcFaceRecognizer {
  return recognizerFrom(model, maxBatch);
}

/** A per-face head (see headFrom: uint8 input by default). */
export function makeHead(model: LoadedModel, options: OrtNodeOptions & { maxBatch?: number; uint8Input?: boolean } = {}): Promise<FaceHead> {
  return headFrom(model, opener(options), { maxBatch: options.maxBatch, uint8Input: options.uint8Input });
}

/** The file names InsightFace's packs give their heads: a head not asked for is skipped without reading it. */
export const PACK_HEAD_FILES: Readonly<Record<string, HeadName>> = {
  '2d106det.onnx': 'landmark2d106',
  '1k3d68.onnx': 'landmark3d68',
  'genderage.onnx': 'genderage',
};

/** What a routed model is for: detector, recognizer, one of the heads, or null (a kind faceprint does not run). */
export function roleOf(kind: ModelKind, outputs: readonly { shape: readonly (number | string | null)[] }[]): 'detector' | 'recognizer' | HeadName | null {
  if (kind === 'detector' || kind === 'recognizer') return kind;
  const width = outputs[0]?.shape?.[1];
  if (kind === 'landmark') return width === 3309 ? 'landmark3d68' : width === 212 ? 'landmark2d106' : null;
  if (kind === 'attribute') return width === 3 ? 'genderage' : null;
  return null;
}

export function checkHeadNames(heads: readonly string[]): HeadName[] {
  for (const h of heads) {
    if (!HEAD_NAMES.includes(h as HeadName)) throw new FaceprintError('INVALID_INPUT', `unknown head "${h}"; heads are ${HEAD_NAMES.join(', ')}`);
  }
  return heads as HeadName[];
}

/**
 * A head file given explicitly: routed from its graph first, opened only when its head is wanted (null otherwise).
 * Anything but a head is MODEL_UNRECOGNISED.
 */
export async function loadHeadFile(path: string, options: OrtNodeOptions, wanted: readonly HeadName[]): Promise<(LoadedModel & { head: HeadName }) | null> {
  const bytes = await readModelFile(path);
  const sig = graphSignature(bytes, path);
  const kind = routeModel(path, sig.inputs, sig.outputs);
  const role = roleOf(kind, sig.outputs);
  if (role === null || role === 'detector' || role === 'recognizer') {
    throw new FaceprintError('MODEL_UNRECOGNISED', `${path}: routed as a ${kind}, not a per-face head (${HEAD_NAMES.join(', ')})`);
  }
  if (!wanted.includes(role)) return null;
  return { ...(await openRouted(bytes, path, opener(options))), path, head: role };
}

export interface PackModels {
  detector: LoadedModel;
  recognizer: LoadedModel | null;
  /** The heads asked for that the pack has, in file-name order (InsightFace's model order). */
  heads: LoadedModel[];
}

/**
 * A pack directory as InsightFace's FaceAnalysis reads one: every *.onnx in name order, routed by shape; the
 * first model of each kind wins. Models are routed from their graph before any session is opened, so a head not
 * in `heads` (default: all) and a model of a kind faceprint does not run cost no session; a pack head file of
 * InsightFace's name that is not wanted is not even read.
 */
export async function loadPackDir(dir: string, options: OrtNodeOptions = {}, heads: readonly HeadName[] = HEAD_NAMES): Promise<PackModels> {
  let names: string[];
  try {
    if (!(await stat(dir)).isDirectory()) throw new Error('not a directory');
    names = (await readdir(dir)).filter((n) => n.toLowerCase().endsWith('.onnx')).sort();
  } catch (e) {
    throw new FaceprintError('MODEL_NOT_FOUND', `${dir}: not a readable model pack directory`, { cause: e });
  }
  const wanted = new Set<string>(heads);
  const chosen = new Map<string, { path: string; bytes: Uint8Array }>();
  for (const name of names) {
    const known = PACK_HEAD_FILES[name];
    if (known && (!wanted.has(known) || chosen.has(known))) continue;
    const path = join(dir, name);
    const bytes = await readModelFile(path);
    const sig = graphSignature(bytes, path);
    let role: ReturnType<typeof roleOf>;
    try {
      role = roleOf(routeModel(path, sig.inputs, sig.outputs), sig.outputs);
    } catch (e) {
      // A file the router cannot place is skipped, as InsightFace skips it.
      if (e instanceof FaceprintError && e.code === 'MODEL_UNRECOGNISED') continue;
      throw e;
    }
    if (!role || chosen.has(role) || (role !== 'detector' && role !== 'recognizer' && !wanted.has(role))) continue;
    chosen.set(role, { path, bytes });
  }
  const detectorFile = chosen.get('detector');
  if (!detectorFile) throw new FaceprintError('MODEL_MISSING', `${dir}: no detector model among ${names.length} ONNX file(s)`);
  const opened: LoadedModel[] = [];
  try {
    const open = async (f: { path: string; bytes: Uint8Array }) => {
      const m = { ...(await openRouted(f.bytes, f.path, opener(options))), path: f.path };
      opened.push(m);
      return m;
    };
    const detector = await open(detectorFile);
    const rec = chosen.get('recognizer');
    const recognizer = rec ? await open(rec) : null;
    const headModels: LoadedModel[] = [];
    for (const [role, f] of chosen) {
      if (role !== 'detector' && role !== 'recognizer') headModels.push(await open(f));
    }
    return { detector, recognizer, heads: headModels };
  } catch (e) {
    for (const m of opened) await m.session.close().catch(() => undefined);
    throw e;
  }
}
