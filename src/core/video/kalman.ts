/**
 * A constant-velocity Kalman filter on a face box: centre x, centre y, width and height, each with its velocity
 * (four independent position/velocity filters; a face's size and position move independently enough). Predicts
 * where a face will be on a frame where it is not detected (skipped detection, occlusion, a miss) and smooths
 * the detector's jitter.
 */
export class BoxKalman {
  // per coordinate: state [p, v], covariance [[a, b], [b, c]]
  private readonly p = new Float64Array(4);
  private readonly v = new Float64Array(4);
  private readonly a = new Float64Array(4);
  private readonly b = new Float64Array(4);
  private readonly c = new Float64Array(4);

  /** Process noise per frame (position, velocity) and measurement noise, relative to the box's size. */
  constructor(box: readonly number[], private readonly noise = { position: 0.05, velocity: 0.01, measurement: 0.05 }) {
    const m = BoxKalman.measure(box);
    const scale = Math.max(1, m[3]);
    for (let i = 0; i < 4; i++) {
      this.p[i] = m[i];
      this.v[i] = 0;
      this.a[i] = (noise.measurement * scale) ** 2;
      this.b[i] = 0;
      this.c[i] = (0.5 * scale) ** 2; // the first velocity is unknown
    }
  }

  private static measure(box: readonly number[]): number[] {
    return [(box[0] + box[2]) / 2, (box[1] + box[3]) / 2, box[2] - box[0], box[3] - box[1]];
  }

  /**
   * Moves the state `frames` frames ahead. `freezeSize`: the box keeps its size (a face out of sight is not
   * extrapolated to grow or shrink, as ByteTrack holds a lost track's height).
   */
  predict(frames = 1, freezeSize = false): void {
    if (freezeSize) {
      this.v[2] = 0;
      this.v[3] = 0;
    }
    const scale = Math.max(1, this.p[3]);
    const q0 = (this.noise.position * scale) ** 2;
    const q1 = (this.noise.velocity * scale) ** 2;
    for (let step = 0; step < frames; step++) {
      for (let i = 0; i < 4; i++) {
        this.p[i] += this.v[i];
        // P = F P F' + Q with F = [[1, 1], [0, 1]]
        const a = this.a[i] + 2 * this.b[i] + this.c[i] + q0;
        const b = this.b[i] + this.c[i];
        const c = this.c[i] + q1;
        this.a[i] = a;
        this.b[i] = b;
        this.c[i] = c;
      }
      // a box never shrinks below a pixel
      if (this.p[2] < 1) this.p[2] = 1;
      if (this.p[3] < 1) this.p[3] = 1;
    }
  }

  /** Folds in a detected box. */
  update(box: readonly number[]): void {
    const m = BoxKalman.measure(box);
    const r = (this.noise.measurement * Math.max(1, m[3])) ** 2;
    for (let i = 0; i < 4; i++) {
      const s = this.a[i] + r;
      const k0 = this.a[i] / s;
      const k1 = this.b[i] / s;
      const y = m[i] - this.p[i];
      this.p[i] += k0 * y;
      this.v[i] += k1 * y;
      const a = (1 - k0) * this.a[i];
      const b = (1 - k0) * this.b[i];
      const c = this.c[i] - k1 * this.b[i];
      this.a[i] = a;
      this.b[i] = b;
      this.c[i] = c;
    }
  }

  /** The current box estimate, [x1, y1, x2, y2]. */
  box(): [number, number, number, number] {
    const [cx, cy, w, h] = this.p;
    return [cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2];
  }
}
