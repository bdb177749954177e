import type { Face } from './analyzer.js';
import type { Pose } from './heads/head.js';

/**
 * A face as JSON: the one shape the CLI (`analyze --json`), the HTTP API, the page and the browser entry give.
 * Head fields appear when the analyzer ran that head.
 */
export interface FaceJson {
  bbox: number[];
  kps: number[][];
  score: number;
  /** ‖raw embedding‖ (a quality signal), null without a recognizer. */
  embeddingNorm: number | null;
  /** The L2-normalised embedding, when asked for (null without a recognizer). */
  embedding?: number[] | null;
  landmark2d106?: number[][];
  landmark3d68?: number[][];
  pose?: Pose;
  gender?: 0 | 1;
  sex?: 'F' | 'M';
  age?: number;
}

export function faceToJson(f: Face, options: { embedding?: boolean } = {}): FaceJson {
  const out: FaceJson = { bbox: [...f.bbox], kps: f.kps.map((p) => [...p]), score: f.score } as FaceJson;
  if (options.embedding) out.embedding = f.embedding ? Array.from(f.embedding) : null;
  out.embeddingNorm = f.embeddingNorm ?? null;
  if (f.landmark2d106) out.landmark2d106 = f.landmark2d106;
  if (f.landmark3d68) out.landmark3d68 = f.landmark3d68;
  if (f.pose) out.pose = { ...f.pose };
  if (f.gender !== undefined) out.gender = f.gender;
  if (f.sex !== undefined) out.sex = f.sex;
  if (f.age !== undefined) out.age = f.age;
  return out;
}

/** One line for a table: age, sex and pose when the heads gave them. */
export function describeHeads(f: Pick<Face, 'age' | 'sex' | 'pose'>): string {
  const parts: string[] = [];
  if (f.sex !== undefined || f.age !== undefined) parts.push(`${f.sex ?? '?'} ${f.age ?? '?'}`);
  if (f.pose) parts.push(`yaw ${f.pose.yaw.toFixed(0)}° pitch ${f.pose.pitch.toFixed(0)}° roll ${f.pose.roll.toFixed(0)}°`);
  return parts.join('  ');
}
