// The HTTP API's shapes, as `faceprint serve` answers them. test/client.test.ts checks each against the OpenAPI
// document the server publishes: the same fields with the same types, in both directions.

export type Box = [number, number, number, number];
export type Point = [number, number];
export type ThresholdSource = 'given' | 'collection' | 'calibration' | 'known-model';
export type ReviewMode = 'off' | 'standard' | 'strict';
export type FaceSelection = 'insightface' | 'largest' | 'center_largest';

export interface Face {
  bbox: Box;
  kps: Point[];
  score: number;
  embeddingNorm?: number | null;
  embedding?: number[] | null;
  landmark2d106?: Point[];
  landmark3d68?: [number, number, number][];
  pose?: { pitch: number; yaw: number; roll: number };
  gender?: 0 | 1;
  sex?: 'F' | 'M';
  age?: number;
}

export interface AnalyzeResult { width: number; height: number; detSizes: number[]; faces: Face[] }

export interface Subject { id: string; name: string; metadata: Record<string, unknown>; faceCount: number; createdAt: string; updatedAt: string }

export interface StoredFace { id: string; imageSha256: string; source: string; bbox: Box; score: number; quality: number; clusterId: string | null; createdAt: string; thumbnail: boolean }

export interface SubjectWithFaces extends Subject { faces: StoredFace[] }

export interface SubjectPage { total: number; limit: number; nextCursor: string | null; subjects: Subject[] }

export interface FacePage { faces: StoredFace[]; nextCursor: string | null }

export interface Verification {
  score: number; threshold: number; thresholdSource: ThresholdSource; basis: string; same: boolean; margin: number; subject: Subject; detSizes: number[];
}

export interface Match { subjectId: string; name: string; score: number }

export interface Identified { face: Face; subject: Match | null; candidates: Match[]; threshold: number; thresholdSource: ThresholdSource; basis: string }

export interface IdentifyResult { detSizes: number[]; faces: Identified[] }

export interface ReviewPart { name: 'sharpness' | 'brightness' | 'contrast' | 'size' | 'score' | 'pose'; value: number; min: number; max: number; ok: boolean }

export interface Refusal {
  source: string;
  reason: string;
  message: string;
  review: { quality: number; ok: boolean; parts: ReviewPart[] };
  matches: { claimed: { name: string; score: number | null }; closest: { name: string; score: number } };
}

export interface EnrollResult { subject: Subject; accepted: { source: string; faceId: string; quality: number }[]; refused: Refusal[] }

export interface Threshold { threshold: number; thresholdSource: ThresholdSource; basis: string; detSizes: number[]; maxDistance: number }

export interface Cluster { id: string; size: number; faces: { id: string; source: string; bbox: Box }[] }

export interface Clusters { clusters: Cluster[]; unclustered: number; nextCursor: string | null }

export interface ClusterReport { clusters: Cluster[]; unclustered: number; maxDistance: number; minFaces: number; newlyAssigned: number }

export interface EmbeddingContract { id: string; recognizerSha256: string; recognizerName: string; inputSize: number; normalisation: string; alignment: string; dim: number }

export interface EmbeddingResult { contract: EmbeddingContract; select: string; width: number; height: number; faces: number; face: Face }

export interface CollectionSettings { threshold?: number; detSizes?: number[]; detThresh?: number; review?: ReviewMode; thumbnails?: boolean }

export interface Collection { name: string; settings: CollectionSettings; subjects: number; faces: number; createdAt: string; contract: EmbeddingContract | null; detSizes: number[] }

export interface CollectionPage { collections: Collection[]; nextCursor: string | null }

export interface Info { auth: 'keys' | 'single-user'; recognizer: string; embeddingSize: number; detSizes: number[]; models: { role: string; url: string; sha256: string; bytes: number }[] }

export interface SystemReport {
  versions: { faceprint: string; node: string; onnxruntime: string; ffmpeg: string | null };
  models: { role: string; file: string; sha256: string; bytes: number }[];
  executionProviders: string[];
  embeddingSize: number;
  detSizes: number[];
  store: { kind: string; subjects: number; bytes: number | null };
  index: { templates: number; unassignedFaces: number };
  monitors: number | null;
  uptimeS: number;
  errorsLastHour: Record<string, number>;
}

export interface Health { ok: boolean }

export interface Readiness { ready: boolean; store: boolean; closing: boolean }

export interface MonitorSettings {
  name: string; source: string; enabled: boolean; fps: number; detEvery: number; maxFaces: number; threshold: number | null; cooldownS: number; keepFaces: boolean; webhook: string | null;
  collection: string;
}

export interface Monitor extends MonitorSettings {
  id: string;
  state: 'starting' | 'running' | 'degraded' | 'reconnecting' | 'stopped';
  lastError: string | null;
  stats: { frames: number; analysed: number; dropped: number; reconnects: number; faces: number; lagP50Ms: number; lagP99Ms: number };
  delivery: { delivered: number; failed: number; queued: number; lastError: string | null; failing: boolean } | null;
}

export interface MonitorEvent {
  id: number; type: string; monitorId: string; time: string; trackId: number | null; subject: { id: string; name: string } | null; score: number | null;
  bbox: number[] | null; previous: { id: string; name: string } | null; message: string; face: string;
}

export interface MonitorEvents { events: MonitorEvent[]; dropped: boolean; last: number }

/** The report of a clip (its shape is in docs/video.md; the document leaves it open). */
export type VideoReport = Record<string, unknown>;
