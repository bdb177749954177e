/** What the page needs from faceprint: the HTTP API of `faceprint serve` (and, on-device, the engine itself). */
import type { FaceJson } from '../../src/core/face-json.js';
import type { EnrollResult, Identification, Verification } from '../../src/core/gallery/gallery.js';
import type { ThresholdSource } from '../../src/core/gallery/template.js';
import type { Subject as StoredSubject } from '../../src/core/gallery/types.js';

// The core's own result types: the API sends them as JSON, the on-device engine returns them.
export type { Match, Verification } from '../../src/core/gallery/gallery.js';
export type { ThresholdSource } from '../../src/core/gallery/template.js';

/** A face as the API and the on-device engine give it (one serializer: core/face-json.ts). */
export type PageFace = FaceJson;
/** What the page shows of a subject. */
export type Subject = Pick<StoredSubject, 'id' | 'name' | 'faceCount' | 'metadata'>;
/** The threshold in force when the page gives none (calibration, else the known model's). */
export interface ThresholdInForce {
  threshold: number;
  thresholdSource: ThresholdSource;
  basis: string;
  maxDistance: number;
}
/** One face of an identify: the core's identification with the face as JSON. */
export interface Identified extends Identification {
  face: PageFace;
}
export interface Cluster {
  id: string;
  size: number;
  faces: { id: string; source?: string; bbox: number[] }[];
}
/** A stored face as the page sees it: where it came from, never its embedding. */
export interface StoredFaceInfo {
  id: string;
  source?: string;
  bbox: number[];
  /** The server kept a thumbnail of it (collections that keep them). */
  thumbnail?: boolean;
}
/** A subject with its faces. */
export interface SubjectWithFaces extends Subject {
  faces: StoredFaceInfo[];
}
/** An enrolment's outcome, as the core's with the subject as the page shows it. */
export interface EnrolReport extends Omit<EnrollResult, 'subject'> {
  subject: Subject;
}

export interface Backend {
  readonly label: string;
  analyze(image: Blob): Promise<{ width: number; height: number; faces: PageFace[] }>;
  verify(a: Blob, b: Blob, threshold?: number): Promise<Verification>;
  /** Enrols photos into the person of this name (created if none); `largest`: take the largest face of a photo with several. */
  enrol(name: string, images: File[], options?: { largest?: boolean }): Promise<EnrolReport>;
  identify(image: Blob, threshold?: number): Promise<Identified[]>;
  subjects(): Promise<Subject[]>;
  deleteSubject(id: string): Promise<void>;
  subject(id: string): Promise<SubjectWithFaces>;
  renameSubject(id: string, name: string): Promise<Subject>;
  /** Removes one face of a subject; its template is recomputed. */
  deleteFace(subjectId: string, faceId: string): Promise<Subject>;
  /** Adds the photos' faces and groups every unknown face; maxDistance: 1 − cosine between neighbours. */
  cluster(images: File[], maxDistance?: number): Promise<{ clusters: Cluster[]; unclustered: number }>;
  /** The groups as they stand, without a new clustering run. */
  clusters(): Promise<{ clusters: Cluster[]; unclustered: number }>;
  promote(clusterId: string, name: string): Promise<Subject>;
  /** The threshold in force, or null when there is none (an unknown model without calibration). */
  threshold(): Promise<ThresholdInForce | null>;
}

export { ApiCallError } from './api-error.js';
import { ApiCallError } from './api-error.js';

/** The server's API; images go up as multipart, the key as a bearer token. */
/** The routes that work on a collection (every gallery and recognition route): they get ?collection=. */
const COLLECTION_ROUTES = /^\/v1\/(analyze|verify|identify|embeddings|cluster|clusters|threshold|subjects|video)\b/;

export class HttpBackend implements Backend {
  readonly label = 'server';
  /** The collection the page works on ('default' unless the user picked another). */
  collection = 'default';
  constructor(private readonly base: string, private readonly key: () => string) {}

  /** The path with the collection in use, for the routes that take one. */
  private inCollection(path: string): string {
    if (this.collection === 'default' || !COLLECTION_ROUTES.test(path)) return path;
    return `${path}${path.includes('?') ? '&' : '?'}collection=${encodeURIComponent(this.collection)}`;
  }

  /** A stored face's thumbnail (collections that keep them), as a Blob; null when there is none. */
  async thumbnail(subjectId: string, faceId: string): Promise<Blob | null> {
    const k = this.key();
    const res = await fetch(this.base + this.inCollection(`/v1/subjects/${encodeURIComponent(subjectId)}/faces/${encodeURIComponent(faceId)}/thumbnail.jpg`), { headers: k ? { authorization: `Bearer ${k}` } : {} });
    return res.ok ? res.blob() : null;
  }

  /** One API call: JSON or multipart in, JSON out, an ApiCallError with the server's code on failure. */
  async call<T>(method: string, path: string, body?: FormData | object): Promise<T> {
    path = this.inCollection(path);
    const headers: Record<string, string> = {};
    const k = this.key();
    if (k) headers.authorization = `Bearer ${k}`;
    let payload: BodyInit | undefined;
    if (body instanceof FormData) payload = body;
    else if (body) {
      headers['content-type'] = 'application/json';
      payload = JSON.stringify(body);
    }
    const res = await fetch(this.base + path, { method, headers, body: payload });
    const json = await res.json().catch(() => ({}));
    if (!res.ok) {
      const err = (json as { error?: { code: string; message: string } }).error;
      throw new ApiCallError(err?.code ?? `HTTP_${res.status}`, err?.message ?? res.statusText, res.status);
    }
    return json as T;
  }

  analyze(image: Blob) {
    return this.call<{ width: number; height: number; faces: PageFace[] }>('POST', '/v1/analyze', form({ image }));
  }
  verify(a: Blob, b: Blob, threshold?: number) {
    return this.call<Verification>('POST', `/v1/verify${query({ threshold })}`, form({ a, b }));
  }
  async enrol(name: string, images: File[], options: { largest?: boolean } = {}) {
    // created on first use, and only when a photo is accepted: a refused enrolment leaves no empty subject
    const fd = new FormData();
    for (const f of images) fd.append('images', f, f.name);
    return this.call<EnrolReport>('POST', `/v1/subjects/${encodeURIComponent(name)}/faces?create=true${options.largest ? '&largest=true' : ''}`, fd);
  }
  async identify(image: Blob, threshold?: number) {
    return (await this.call<{ faces: Identified[] }>('POST', `/v1/identify${query({ threshold })}`, form({ image }))).faces;
  }
  async threshold() {
    try {
      return await this.call<ThresholdInForce>('GET', '/v1/threshold');
    } catch (e) {
      if (e instanceof ApiCallError && e.code === 'NO_THRESHOLD') return null;
      throw e;
    }
  }
  async subjects() {
    return (await this.call<{ subjects: Subject[] }>('GET', '/v1/subjects?limit=1000')).subjects;
  }
  async deleteSubject(id: string) {
    await this.call('DELETE', `/v1/subjects/${encodeURIComponent(id)}`);
  }
  subject(id: string) {
    return this.call<SubjectWithFaces>('GET', `/v1/subjects/${encodeURIComponent(id)}`);
  }
  renameSubject(id: string, name: string) {
    return this.call<Subject>('PATCH', `/v1/subjects/${encodeURIComponent(id)}`, { name });
  }
  async deleteFace(subjectId: string, faceId: string) {
    return (await this.call<{ subject: Subject }>('DELETE', `/v1/subjects/${encodeURIComponent(subjectId)}/faces/${encodeURIComponent(faceId)}`)).subject;
  }
  cluster(images: File[], maxDistance?: number) {
    const fd = new FormData();
    for (const f of images) fd.append('images', f, f.name);
    return this.call<{ clusters: Cluster[]; unclustered: number }>('POST', `/v1/cluster${query({ maxDistance })}`, fd);
  }
  clusters() {
    return this.call<{ clusters: Cluster[]; unclustered: number }>('GET', '/v1/clusters');
  }
  promote(clusterId: string, name: string) {
    return this.call<Subject>('POST', `/v1/clusters/${encodeURIComponent(clusterId)}/promote`, { name });
  }
}

function form(parts: Record<string, Blob>): FormData {
  const fd = new FormData();
  for (const [k, v] of Object.entries(parts)) fd.append(k, v, v instanceof File ? v.name : `${k}.jpg`);
  return fd;
}

function query(params: Record<string, number | undefined>): string {
  const q = Object.entries(params).filter(([, v]) => v !== undefined && Number.isFinite(v)).map(([k, v]) => `${k}=${v}`);
  return q.length ? `?${q.join('&')}` : '';
}
