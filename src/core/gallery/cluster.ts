import type { ExactIndex } from '../matching/exact-index.js';
import type { Box } from './types.js';

export interface ClusterOptions {
  /** Largest cosine distance (1 − cosine) between neighbouring faces of one person (default: 1 − the gallery's threshold). */
  maxDistance?: number;
  /** Faces a neighbourhood needs (the face itself included) to found or grow a cluster (default 3). */
  minFaces?: number;
}

export interface ClusterReport {
  maxDistance: number;
  minFaces: number;
  clusters: { id: string; size: number; faces: { id: string; source?: string; bbox: Box }[] }[];
  /** Faces too far from others to belong to anyone yet (they are looked at again on the next run). */
  unclustered: number;
  newlyAssigned: number;
}

/**
 * Incremental density clustering in the spirit of Immich's: each face without a cluster looks up its neighbours
 * within maxDistance; with at least minFaces of them it is a core face, joins the cluster of its closest clustered
 * neighbour (or founds one) and pulls its unclustered neighbours in. Faces clustered in an earlier run keep their
 * cluster, so photos can arrive a few at a time. Returns the new assignments.
 */
export async function clusterFaces(
  faces: ExactIndex,
  clusterOf: Map<string, string | null>,
  options: Required<Pick<ClusterOptions, 'maxDistance'>> & ClusterOptions,
): Promise<{ faceId: string; clusterId: string }[]> {
  const minFaces = options.minFaces ?? 3;
  const minScore = 1 - options.maxDistance;
  const current = new Map(clusterOf);
  const assigned: { faceId: string; clusterId: string }[] = [];
  const assign = (faceId: string, clusterId: string) => {
    current.set(faceId, clusterId);
    assigned.push({ faceId, clusterId });
  };
  const pending = [...current.entries()].filter(([, c]) => !c).map(([id]) => id);
  const k = Math.max(64, minFaces * 4);
  for (const id of pending) {
    if (current.get(id)) continue; // pulled into a cluster earlier in this run
    const v = faces.vector(id);
    if (!v) continue;
    const neighbours = (await faces.search(v, k)).filter((h) => h.score >= minScore);
    if (neighbours.length < minFaces) continue;
    const clustered = neighbours.find((h) => h.id !== id && current.get(h.id));
    const clusterId = clustered ? current.get(clustered.id)! : globalThis.crypto.randomUUID();
    assign(id, clusterId);
    for (const h of neighbours) if (!current.get(h.id)) assign(h.id, clusterId);
  }
  return assigned;
}
