/** What the page needs from faceprint: the HTTP API of `faceprint serve` (and, on-device, the engine itself). */
import type { FaceJson } from '../../src/core/face-json.js';
import type { EnrollResult, Identification, Verification } from '../../src/core/gallery/gallery.js';
import type { ThresholdSource } from '../../src/core/gallery/template.js';
import type { Subject as StoredSubject } from '../../src/core/gallery/types.js';
import { FaceprintApiError } from '../../src/client/error.js';
import { FaceprintClient } from '../../src/client/index.js';

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

/** The server's API through faceprint/client (the package's typed client: the page is its first user), in the
 * collection the user picked. */
export class HttpBackend implements Backend {
  readonly label = 'server';
  /** The collection the page works on ('default' unless the user picked another). */
  collection = 'default';
  readonly client: FaceprintClient;
  constructor(base: string, key: () => string) {
    this.client = new FaceprintClient({ baseUrl: base, apiKey: key });
  }

  /** The option that puts a call in the collection in use. */
  get inCollection(): { collection?: string } {
    return this.collection === 'default' ? {} : { collection: this.collection };
  }

  /** A stored face's thumbnail (collections that keep them), as a Blob; null when there is none. */
  thumbnail(subjectId: string, faceId: string): Promise<Blob | null> {
    return this.client.thumbnail(subjectId, faceId, this.inCollection).catch(() => null);
  }

  analyze(image: Blob) {
    return this.client.analyze(image, this.inCollection) as Promise<{ width: number; height: number; faces: PageFace[] }>;
  }
  verify(a: Blob, b: Blob, threshold?: number) {
    return this.client.verify(a, b, { ...this.inCollection, threshold }) as Promise<Verification>;
  }
  enrol(name: string, images: File[], options: { largest?: boolean } = {}) {
    // created on first use, and only when a photo is accepted: a refused enrolment leaves no empty subject
    return this.client.enroll(name, images, { ...this.inCollection, create: true, largest: options.largest || undefined }) as Promise<EnrolReport>;
  }
  async identify(image: Blob, threshold?: number) {
    return (await this.client.identify(image, { ...this.inCollection, threshold })).faces as Identified[];
  }
  async threshold() {
    try {
      return await this.client.threshold(this.inCollection);
    } catch (e) {
      if (e instanceof FaceprintApiError && e.code === 'NO_THRESHOLD') return null;
      throw e;
    }
  }
  /** Every subject, however many pages the server gives them in. */
  async subjects() {
    const all: Subject[] = [];
    for await (const s of this.client.allSubjects({ ...this.inCollection, limit: 1000 })) all.push(s);
    return all;
  }
  async deleteSubject(id: string) {
    await this.client.deleteSubject(id, this.inCollection);
  }
  subject(id: string) {
    return this.client.subject(id, this.inCollection) as Promise<SubjectWithFaces>;
  }
  renameSubject(id: string, name: string) {
    return this.client.updateSubject(id, { name }, this.inCollection);
  }
  async deleteFace(subjectId: string, faceId: string) {
    return (await this.client.deleteFace(subjectId, faceId, this.inCollection)).subject;
  }
  cluster(images: File[], maxDistance?: number) {
    return this.client.cluster(images, { ...this.inCollection, maxDistance }) as Promise<{ clusters: Cluster[]; unclustered: number }>;
  }
  /** Every group, however many pages the server gives them in. */
  async clusters() {
    const clusters: Cluster[] = [];
    let unclustered = 0;
    let cursor: string | undefined;
    do {
      const page = await this.client.clusters({ ...this.inCollection, limit: 1000, cursor });
      clusters.push(...page.clusters);
      unclustered = page.unclustered;
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
    return { clusters, unclustered };
  }
  promote(clusterId: string, name: string) {
    return this.client.promote(clusterId, name, this.inCollection);
  }
}
