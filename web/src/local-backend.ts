import { BrowserGallery, FaceAnalyzer, faceToJson, galleryIdentifier, VideoAnalyzer, type VideoAnalyzerOptions, type WebFaceAnalyzerOptions } from '../../src/web/index.js';

export { loadModelBytes } from '../../src/web/index.js';
import type { Backend, Cluster, EnrolReport, Identified, PageFace, Subject, SubjectWithFaces, ThresholdInForce, Verification } from './backend.js';

/**
 * On-device: the models run in this page (onnxruntime-web), the gallery lives in IndexedDB; no request leaves.
 * Errors are FaceprintErrors (with a code, as the API's). This module imports nothing of the page at run time:
 * onnxruntime-web's worker threads load its chunk.
 */
export class LocalBackend implements Backend {
  readonly label = 'on-device';
  private constructor(readonly analyzer: FaceAnalyzer, readonly gallery: BrowserGallery) {}

  static async open(options: WebFaceAnalyzerOptions, galleryName = 'faceprint-gallery'): Promise<LocalBackend> {
    const analyzer = await FaceAnalyzer.create(options);
    return new LocalBackend(analyzer, await BrowserGallery.open(analyzer, galleryName));
  }

  async analyze(image: Blob) {
    const pixels = await this.analyzer.decode(image);
    const faces = await this.analyzer.core.analyze(pixels);
    return { width: pixels.width, height: pixels.height, faces: faces.map((f): PageFace => faceToJson(f)) };
  }
  verify(a: Blob, b: Blob, threshold?: number): Promise<Verification> {
    return this.gallery.verify(a, b, { threshold });
  }
  enrol(name: string, images: File[], options: { largest?: boolean } = {}): Promise<EnrolReport> {
    return this.gallery.enroll(name, images, options);
  }
  identify(image: Blob, threshold?: number): Promise<Identified[]> {
    return this.gallery.identify(image, { threshold });
  }
  async subjects(): Promise<Subject[]> {
    return (await this.gallery.gallery.listSubjects({ limit: 1000 })).subjects;
  }
  async deleteSubject(id: string): Promise<void> {
    await this.gallery.gallery.deleteSubject(id);
  }
  async subject(id: string): Promise<SubjectWithFaces> {
    const g = this.gallery.gallery;
    const s = await g.subject(id);
    return { ...s, faces: (await g.facesOf(s.id)).map((f) => ({ id: f.id, source: f.source, bbox: [...f.bbox] })) };
  }
  renameSubject(id: string, name: string): Promise<Subject> {
    return this.gallery.gallery.renameSubject(id, name);
  }
  deleteFace(subjectId: string, faceId: string): Promise<Subject> {
    return this.gallery.gallery.deleteFaceOf(subjectId, faceId);
  }
  cluster(images: File[], maxDistance?: number): Promise<{ clusters: Cluster[]; unclustered: number }> {
    return this.gallery.cluster(images, { maxDistance });
  }
  clusters(): Promise<{ clusters: Cluster[]; unclustered: number }> {
    return this.gallery.gallery.clusters();
  }
  async threshold(): Promise<ThresholdInForce | null> {
    try {
      const t = await this.gallery.gallery.resolveThreshold();
      return { threshold: t.threshold, thresholdSource: t.source, basis: t.basis, maxDistance: 1 - t.threshold };
    } catch (e) {
      if ((e as { code?: string }).code === 'NO_THRESHOLD') return null;
      throw e;
    }
  }
  /** The core video analyzer on the webcam; `cuts` as VideoAnalyzerOptions (false: a single camera, no cut detection). */
  async liveSession(threshold?: number, cuts?: VideoAnalyzerOptions['cuts']): Promise<VideoAnalyzer> {
    return new VideoAnalyzer(this.analyzer.core, { identifier: await galleryIdentifier(this.gallery.gallery, { threshold }), cuts });
  }
  promote(clusterId: string, name: string): Promise<Subject> {
    return this.gallery.gallery.promoteCluster(clusterId, name);
  }
}
