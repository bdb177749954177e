const f32 = Math.fround;

/**
 * Greedy NMS as InsightFace's SCRFD.nms, in float32: areas with the +1 pixel convention, a box survives while
 * its IoU with every kept box is ≤ threshold. `order` lists candidate indices by descending score.
 * Boxes are [x1, y1, x2, y2] at boxes[4i..4i+3]. Returns kept indices in order.
 */
export function greedyNms(boxes: Float32Array, order: Int32Array | number[], threshold: number): number[] {
  const n = order.length;
  const areas = new Float64Array(n);
  for (let k = 0; k < n; k++) {
    const i = order[k] * 4;
    areas[k] = f32(f32(f32(boxes[i + 2] - boxes[i]) + 1) * f32(f32(boxes[i + 3] - boxes[i + 1]) + 1));
  }
  const thr = f32(threshold);
  const suppressed = new Uint8Array(n);
  const keep: number[] = [];
  for (let k = 0; k < n; k++) {
    if (suppressed[k]) continue;
    const i = order[k] * 4;
    keep.push(order[k]);
    const x1 = boxes[i], y1 = boxes[i + 1], x2 = boxes[i + 2], y2 = boxes[i + 3];
    const area = areas[k];
    for (let m = k + 1; m < n; m++) {
      if (suppressed[m]) continue;
      const j = order[m] * 4;
      const w = Math.max(0, f32(f32(Math.min(x2, boxes[j + 2]) - Math.max(x1, boxes[j])) + 1));
      const h = Math.max(0, f32(f32(Math.min(y2, boxes[j + 3]) - Math.max(y1, boxes[j + 1])) + 1));
      const inter = f32(w * h);
      const iou = f32(inter / f32(f32(area + areas[m]) - inter));
      if (!(iou <= thr)) suppressed[m] = 1;
    }
  }
  return keep;
}
