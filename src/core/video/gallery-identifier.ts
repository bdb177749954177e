import type { Gallery } from '../gallery/gallery.js';
import type { ThresholdChoice } from '../gallery/template.js';
import type { VideoIdentifier } from './video-analyzer.js';

/**
 * A gallery as a video's identifier: the threshold resolved once (the request's, the calibration's or the known
 * model's, as everywhere), each track template's best subject.
 */
export async function galleryIdentifier(gallery: Gallery, choice: ThresholdChoice = {}, where?: Record<string, unknown>): Promise<VideoIdentifier & { source: string; basis: string }> {
  const { threshold, source, basis } = await gallery.resolveThreshold(choice);
  return {
    threshold, source, basis,
    async identify(embedding) {
      const best = (await gallery.identify(embedding, { threshold, k: 1, where })).candidates[0];
      return best ? { subject: { id: best.subjectId, name: best.name }, score: best.score } : null;
    },
  };
}
