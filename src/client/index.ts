// faceprint/client: a typed client for the HTTP API of `faceprint serve`. No dependencies: the platform's fetch,
// FormData and Blob, so it runs unchanged in Node (18+) and the browser.
import type {
  AnalyzeResult, ClusterReport, Clusters, Collection, CollectionPage, CollectionSettings, EmbeddingResult, EnrollResult, FacePage, FaceSelection, Health,
  IdentifyResult, Info, Monitor, MonitorEvents, MonitorSettings, Readiness, ReviewMode, Subject, SubjectPage, SubjectWithFaces, SystemReport, Threshold,
  Verification, VideoReport,
} from './types.js';

export type * from './types.js';
export { FaceprintApiError } from './error.js';
import { FaceprintApiError } from './error.js';

/** Bytes of an image (or a clip): a Blob or File, bytes, or those with a file name. */
export type ImageInput = Blob | Uint8Array | ArrayBuffer | { data: Blob | Uint8Array | ArrayBuffer; name?: string };

export interface ClientOptions {
  /** Where the server is, e.g. http://127.0.0.1:8080 */
  baseUrl: string;
  /** An API key (fp_…), or a function giving the one in use now (a key the user may change); none for a single-user server. */
  apiKey?: string | (() => string | undefined);
  /** Another fetch (tests, proxies); default the global one. */
  fetch?: typeof fetch;
}


/** Which collection a call works on (default: the default one). */
export interface InCollection {
  collection?: string;
}
export interface ThresholdChoice extends InCollection {
  threshold?: number;
  far?: number;
}
export interface PageRequest {
  cursor?: string;
  limit?: number;
}

/** Every operation of the API, as `METHOD /path` (test/client.test.ts checks it against the OpenAPI document). */
export const OPERATIONS = {
  health: 'GET /healthz', ready: 'GET /readyz', info: 'GET /v1/info', system: 'GET /v1/system', metrics: 'GET /metrics', model: 'GET /models/{name}',
  analyze: 'POST /v1/analyze', embeddings: 'POST /v1/embeddings', verify: 'POST /v1/verify', verifySubject: 'POST /v1/verify', identify: 'POST /v1/identify', video: 'POST /v1/video',
  threshold: 'GET /v1/threshold', cluster: 'POST /v1/cluster', clusters: 'GET /v1/clusters', promote: 'POST /v1/clusters/{id}/promote',
  listSubjects: 'GET /v1/subjects', createSubject: 'POST /v1/subjects', subject: 'GET /v1/subjects/{ref}', updateSubject: 'PATCH /v1/subjects/{ref}',
  deleteSubject: 'DELETE /v1/subjects/{ref}', enroll: 'POST /v1/subjects/{ref}/faces', faces: 'GET /v1/subjects/{ref}/faces',
  thumbnail: 'GET /v1/subjects/{ref}/faces/{faceId}/thumbnail.jpg', deleteFace: 'DELETE /v1/subjects/{ref}/faces/{faceId}',
  importEmbeddings: 'POST /v1/subjects/{ref}/embeddings',
  listCollections: 'GET /v1/collections', createCollection: 'POST /v1/collections', collection: 'GET /v1/collections/{name}',
  updateCollection: 'PATCH /v1/collections/{name}', deleteCollection: 'DELETE /v1/collections/{name}',
  listMonitors: 'GET /v1/monitors', createMonitor: 'POST /v1/monitors', monitor: 'GET /v1/monitors/{id}', updateMonitor: 'PATCH /v1/monitors/{id}',
  deleteMonitor: 'DELETE /v1/monitors/{id}', startMonitor: 'POST /v1/monitors/{id}/start', stopMonitor: 'POST /v1/monitors/{id}/stop',
  monitorEvents: 'GET /v1/monitors/{id}/events', monitorEventStream: 'GET /v1/monitors/{id}/events/stream',
  monitorSnapshot: 'GET /v1/monitors/{id}/snapshot.jpg', monitorPreview: 'GET /v1/monitors/{id}/preview.mjpeg',
} as const;

type Query = Record<string, string | number | boolean | undefined | null>;

const seg = encodeURIComponent;

export class FaceprintClient {
  private readonly base: string;
  private readonly key: () => string | undefined;
  private readonly fetcher: typeof fetch;

  constructor(options: ClientOptions) {
    this.base = options.baseUrl.replace(/\/+$/, '');
    const { apiKey } = options;
    this.key = typeof apiKey === 'function' ? apiKey : () => apiKey;
    this.fetcher = options.fetch ?? globalThis.fetch.bind(globalThis);
  }

  // ---- the service

  health(): Promise<Health> { return this.json('GET', '/healthz'); }
  ready(): Promise<Readiness> { return this.json('GET', '/readyz', undefined, undefined, [200, 503]); }
  info(): Promise<Info> { return this.json('GET', '/v1/info'); }
  system(): Promise<SystemReport> { return this.json('GET', '/v1/system'); }
  async metrics(): Promise<string> { return (await this.raw('GET', '/metrics')).text(); }
  /** A model file the server offers its page (`serve --offer-models`). */
  async model(name: string): Promise<Blob> { return (await this.raw('GET', `/models/${seg(name)}`)).blob(); }

  // ---- recognition

  analyze(image: ImageInput, options: InCollection & { embeddings?: boolean; maxFaces?: number; detThresh?: number; detSizes?: number[]; padRetry?: boolean } = {}): Promise<AnalyzeResult> {
    const { detSizes, ...q } = options;
    return this.json('POST', '/v1/analyze', { ...q, detSizes: detSizes?.join(',') }, images({ image }));
  }
  /** The selected face's embedding with the collection's contract id (nothing is stored). */
  embeddings(image: ImageInput, options: InCollection & { select?: FaceSelection } = {}): Promise<EmbeddingResult> {
    return this.json('POST', '/v1/embeddings', { ...options }, images({ image }));
  }
  /** 1:1 between two photos' primary faces. */
  verify(a: ImageInput, b: ImageInput, options: ThresholdChoice & { select?: FaceSelection } = {}): Promise<Verification> {
    return this.json('POST', '/v1/verify', { ...options }, images({ a, b }));
  }
  /** 1:1 between a photo and an enrolled subject. */
  verifySubject(image: ImageInput, subject: string, options: ThresholdChoice & { select?: FaceSelection } = {}): Promise<Verification> {
    return this.json('POST', '/v1/verify', { ...options, subject }, images({ image }));
  }
  identify(image: ImageInput, options: ThresholdChoice & { k?: number; where?: Record<string, unknown> } = {}): Promise<IdentifyResult> {
    const { where, ...q } = options;
    return this.json('POST', '/v1/identify', { ...q, where: where ? JSON.stringify(where) : undefined }, images({ image }));
  }
  video(clip: ImageInput, options: ThresholdChoice & { detEvery?: number; fps?: number; identify?: boolean; cuts?: boolean } = {}): Promise<VideoReport> {
    return this.json('POST', '/v1/video', { ...options }, images({ video: clip }));
  }
  threshold(options: InCollection = {}): Promise<Threshold> { return this.json('GET', '/v1/threshold', { ...options }); }

  // ---- clusters

  cluster(photos: ImageInput[], options: InCollection & { maxDistance?: number; minFaces?: number } = {}): Promise<ClusterReport> {
    return this.json('POST', '/v1/cluster', { ...options }, images({ images: photos }));
  }
  clusters(options: InCollection & PageRequest = {}): Promise<Clusters> { return this.json('GET', '/v1/clusters', { ...options }); }
  promote(clusterId: string, name: string, options: InCollection & { metadata?: Record<string, unknown> } = {}): Promise<Subject> {
    return this.json('POST', `/v1/clusters/${seg(clusterId)}/promote`, { collection: options.collection }, { name, metadata: options.metadata });
  }

  // ---- subjects and their faces

  listSubjects(options: InCollection & PageRequest = {}): Promise<SubjectPage> { return this.json('GET', '/v1/subjects', { ...options }); }
  /** Every subject, a page at a time (the cursor keeps pages whole while subjects come and go). */
  async *allSubjects(options: InCollection & { limit?: number } = {}): AsyncGenerator<Subject> {
    let cursor: string | undefined;
    do {
      const page = await this.listSubjects({ ...options, cursor });
      yield* page.subjects;
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
  }
  createSubject(name: string, options: InCollection & { metadata?: Record<string, unknown> } = {}): Promise<Subject> {
    return this.json('POST', '/v1/subjects', { collection: options.collection }, { name, metadata: options.metadata });
  }
  subject(ref: string, options: InCollection = {}): Promise<SubjectWithFaces> { return this.json('GET', `/v1/subjects/${seg(ref)}`, { ...options }); }
  updateSubject(ref: string, patch: { name?: string; metadata?: Record<string, unknown> }, options: InCollection = {}): Promise<Subject> {
    return this.json('PATCH', `/v1/subjects/${seg(ref)}`, { ...options }, patch);
  }
  deleteSubject(ref: string, options: InCollection = {}): Promise<{ deletedFaces: number }> { return this.json('DELETE', `/v1/subjects/${seg(ref)}`, { ...options }); }
  /** Enrols photos into a subject; each refused photo says why (its review's parts, or the scores that disagreed). */
  enroll(ref: string, photos: ImageInput[], options: InCollection & { create?: boolean; largest?: boolean; review?: ReviewMode; minScore?: number; minSize?: number; maxYaw?: number; maxPitch?: number } = {}): Promise<EnrollResult> {
    return this.json('POST', `/v1/subjects/${seg(ref)}/faces`, { ...options }, images({ images: photos }));
  }
  faces(ref: string, options: InCollection & PageRequest = {}): Promise<FacePage> { return this.json('GET', `/v1/subjects/${seg(ref)}/faces`, { ...options }); }
  async thumbnail(ref: string, faceId: string, options: InCollection = {}): Promise<Blob> {
    return (await this.raw('GET', `/v1/subjects/${seg(ref)}/faces/${seg(faceId)}/thumbnail.jpg`, { ...options })).blob();
  }
  deleteFace(ref: string, faceId: string, options: InCollection = {}): Promise<{ subject: Subject }> {
    return this.json('DELETE', `/v1/subjects/${seg(ref)}/faces/${seg(faceId)}`, { ...options });
  }
  /** Embeddings made elsewhere, under `contract` (EmbeddingResult.contract.id): refused unless it is the collection's. */
  importEmbeddings(ref: string, contract: string, embeddings: number[][], options: InCollection & { create?: boolean; metadata?: Record<string, unknown>; source?: string } = {}): Promise<EnrollResult> {
    const { collection, create, ...body } = options;
    return this.json('POST', `/v1/subjects/${seg(ref)}/embeddings`, { collection, create }, { contract, embeddings, ...body });
  }

  // ---- collections

  listCollections(options: PageRequest = {}): Promise<CollectionPage> { return this.json('GET', '/v1/collections', { ...options }); }
  createCollection(name: string, settings: CollectionSettings = {}): Promise<Collection> { return this.json('POST', '/v1/collections', undefined, { name, settings }); }
  collection(name: string): Promise<Collection> { return this.json('GET', `/v1/collections/${seg(name)}`); }
  updateCollection(name: string, settings: CollectionSettings): Promise<Collection> { return this.json('PATCH', `/v1/collections/${seg(name)}`, undefined, settings); }
  deleteCollection(name: string): Promise<{ deletedFaces: number }> { return this.json('DELETE', `/v1/collections/${seg(name)}`); }

  // ---- camera monitors

  listMonitors(): Promise<{ monitors: Monitor[] }> { return this.json('GET', '/v1/monitors'); }
  createMonitor(settings: Partial<MonitorSettings> & Pick<MonitorSettings, 'name' | 'source'>): Promise<Monitor> { return this.json('POST', '/v1/monitors', undefined, settings); }
  monitor(id: string): Promise<Monitor> { return this.json('GET', `/v1/monitors/${seg(id)}`); }
  updateMonitor(id: string, settings: Partial<MonitorSettings>): Promise<Monitor> { return this.json('PATCH', `/v1/monitors/${seg(id)}`, undefined, settings); }
  deleteMonitor(id: string): Promise<{ deleted: boolean }> { return this.json('DELETE', `/v1/monitors/${seg(id)}`); }
  startMonitor(id: string): Promise<Monitor> { return this.json('POST', `/v1/monitors/${seg(id)}/start`); }
  stopMonitor(id: string): Promise<Monitor> { return this.json('POST', `/v1/monitors/${seg(id)}/stop`); }
  monitorEvents(id: string, options: { after?: number; limit?: number } = {}): Promise<MonitorEvents> { return this.json('GET', `/v1/monitors/${seg(id)}/events`, { ...options }); }
  /** The live events (Server-Sent Events) as a Response whose body the caller reads; `lastEventId` resumes. */
  monitorEventStream(id: string, lastEventId?: number): Promise<Response> {
    return this.raw('GET', `/v1/monitors/${seg(id)}/events/stream`, undefined, undefined, lastEventId !== undefined ? { 'last-event-id': String(lastEventId) } : {});
  }
  /** The latest analysed frame (JPEG), or null before the first one. */
  async monitorSnapshot(id: string): Promise<Blob | null> {
    const res = await this.raw('GET', `/v1/monitors/${seg(id)}/snapshot.jpg`);
    return res.status === 204 ? null : res.blob();
  }
  /** The MJPEG preview as a Response to read (or its URL for an <img>: baseUrl + the path, with a key in a header the img cannot send). */
  monitorPreview(id: string): Promise<Response> { return this.raw('GET', `/v1/monitors/${seg(id)}/preview.mjpeg`); }

  // ---- transport

  private url(path: string, query?: Query): string {
    const q = Object.entries(query ?? {}).filter(([, v]) => v !== undefined && v !== null).map(([k, v]) => `${seg(k)}=${seg(String(v))}`);
    return `${this.base}${path}${q.length ? `?${q.join('&')}` : ''}`;
  }

  private async raw(method: string, path: string, query?: Query, body?: FormData | object, headers: Record<string, string> = {}, ok: number[] = [200, 201, 204]): Promise<Response> {
    const h: Record<string, string> = { ...headers };
    const key = this.key();
    if (key) h.authorization = `Bearer ${key}`;
    let payload: BodyInit | undefined;
    if (body instanceof FormData) payload = body;
    else if (body !== undefined) {
      h['content-type'] = 'application/json';
      payload = JSON.stringify(body);
    }
    const res = await this.fetcher(this.url(path, query), { method, headers: h, body: payload });
    if (!ok.includes(res.status)) {
      const err = (await res.json().catch(() => ({}))) as { error?: { code?: string; message?: string } };
      throw new FaceprintApiError(err.error?.code ?? `HTTP_${res.status}`, err.error?.message ?? res.statusText, res.status, res.headers.get('x-request-id'));
    }
    return res;
  }

  private async json<T>(method: string, path: string, query?: Query, body?: FormData | object, ok?: number[]): Promise<T> {
    return (await (await this.raw(method, path, query, body, {}, ok)).json()) as T;
  }
}

/** A multipart form of images by field (an array: that many parts of the field). */
function images(fields: Record<string, ImageInput | ImageInput[]>): FormData {
  const fd = new FormData();
  for (const [field, value] of Object.entries(fields)) {
    const list = Array.isArray(value) ? value : [value];
    list.forEach((input, i) => {
      const { data, name } = input instanceof Blob || input instanceof Uint8Array || input instanceof ArrayBuffer ? { data: input, name: undefined } : input;
      const blob = data instanceof Blob ? data : new Blob([data instanceof Uint8Array ? (data as Uint8Array<ArrayBuffer>) : data]);
      fd.append(field, blob, name ?? (data instanceof File ? data.name : `${field}${list.length > 1 ? i + 1 : ''}.jpg`));
    });
  }
  return fd;
}
