/**
 * 1-bit sketches for a fast first stage of gallery search (the RaBitQ estimator, Gao & Long, SIGMOD 2024): each
 * unit vector is rotated by a fixed random orthogonal transform and kept as the signs of its coordinates, 64 bytes
 * for 512-d (an eighth of the int8 codes). For a query q the estimate ⟨x̄, Pq⟩ / ⟨x̄, Px⟩ of the cosine is unbiased,
 * and its error stays under ε0 · √(1 − f²) / f / √(D − 1) (f = ⟨x̄, Px⟩ ≈ 0.8) with a probability that grows fast
 * with ε0. Each row keeps its own f (over a million Gaussian rows f spans 0.67–0.92, so one bound for all would be
 * ~45 % wider than a typical row's). The search rescores exactly every row whose estimate is within its bound of
 * the k-th exact score, so a miss needs an estimate error beyond ε0 standard deviations.
 */

export interface RowSketch {
  /** Sign bits of the rotated vector, bit i of byte i >> 3 = coordinate i > 0. */
  bits: Uint8Array;
  /** Number of bits set. */
  pop: number;
  /** 1 / ⟨x̄, Px⟩ (0 for a zero vector). */
  invF: number;
  /** ((1 − f²) / f²) / (D − 1): the variance of this row's estimates (before the query's rounding). */
  variance: number;
}

export interface QuerySketch {
  /** The query's 4-bit code (0..15) per rotated coordinate. */
  levels: Uint8Array;
  /** One 16-entry table per nibble m of a row: entry v = Σ levels[4m + t] over the bits t set in v. */
  luts: Uint8Array;
  /** estimate = (rawScale · raw + popScale · pop + offset) · invF, raw = Σ over the row's set bits of the 4-bit query codes. */
  rawScale: number;
  popScale: number;
  offset: number;
  /** Standard deviation of the error the query's 4-bit rounding adds to ⟨x̄, Pq⟩. */
  roundingSigma: number;
}

/** In-place fast Walsh–Hadamard transform (unnormalised). */
function fwht(v: Float64Array): void {
  for (let h = 1; h < v.length; h <<= 1) {
    for (let i = 0; i < v.length; i += h << 1) {
      for (let j = i; j < i + h; j++) {
        const x = v[j];
        const y = v[j + h];
        v[j] = x + y;
        v[j + h] = x - y;
      }
    }
  }
}

export class SketchCodec {
  /** Rotated dimension: the next power of two ≥ the vectors' (at least 128, so a row is whole 16-byte lanes). */
  readonly bitsPerRow: number;
  readonly bytes: number;
  private readonly signs: Float64Array[];

  constructor(readonly dim: number, seed = 0x5eed) {
    let d = 128;
    while (d < dim) d <<= 1;
    this.bitsPerRow = d;
    this.bytes = d / 8;
    // Two rounds of random signs + Hadamard: an orthogonal rotation that spreads any coordinate over all others.
    let s = seed >>> 0;
    const next = (): number => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) >>> 31 ? 1 : -1);
    this.signs = [0, 1].map(() => Float64Array.from({ length: d }, next));
  }

  /** Pv for a vector of `dim` values (zero padded); orthogonal, so unit vectors stay unit. */
  rotate(v: ArrayLike<number>): Float64Array {
    const y = new Float64Array(this.bitsPerRow);
    for (let i = 0; i < v.length; i++) y[i] = v[i];
    for (const signs of this.signs) {
      for (let i = 0; i < y.length; i++) y[i] *= signs[i];
      fwht(y);
    }
    const norm = 1 / this.bitsPerRow; // two Hadamards of norm √d each
    for (let i = 0; i < y.length; i++) y[i] *= norm;
    return y;
  }

  /** The sketch of a unit vector. */
  encodeRow(x: ArrayLike<number>): RowSketch {
    const y = this.rotate(x);
    const bits = new Uint8Array(this.bytes);
    let pop = 0;
    let abs = 0;
    for (let i = 0; i < y.length; i++) {
      if (y[i] > 0) {
        bits[i >> 3] |= 1 << (i & 7);
        pop++;
      }
      abs += Math.abs(y[i]);
    }
    const f = abs / Math.sqrt(this.bitsPerRow);
    return { bits, pop, invF: f > 0 ? 1 / f : 0, variance: f > 0 ? Math.max(0, 1 - f * f) / (f * f) / (this.bitsPerRow - 1) : 0 };
  }

  /** The query's 4-bit codes, their per-nibble tables, and the constants that turn the kernel's sums into estimates. */
  encodeQuery(q: ArrayLike<number>): QuerySketch {
    const y = this.rotate(q);
    let lo = Infinity;
    let hi = -Infinity;
    let sum = 0;
    for (let i = 0; i < y.length; i++) {
      lo = Math.min(lo, y[i]);
      hi = Math.max(hi, y[i]);
      sum += y[i];
    }
    const step = hi > lo ? (hi - lo) / 15 : 1;
    const levels = Uint8Array.from(y, (v) => Math.max(0, Math.min(15, Math.round((v - lo) / step))));
    const luts = new Uint8Array(4 * this.bitsPerRow);
    for (let m = 0; m < this.bitsPerRow / 4; m++) {
      for (let v = 1; v < 16; v++) {
        let sum = 0;
        for (let t = 0; t < 4; t++) if ((v >> t) & 1) sum += levels[4 * m + t];
        luts[16 * m + v] = sum;
      }
    }
    const root = Math.sqrt(this.bitsPerRow);
    // Rounding errors are uniform in ±step/2 (σ = step/√12), summed over the row's set bits (about half of d) and
    // scaled by 2/√d.
    const roundingSigma = (2 * step * Math.sqrt(this.bitsPerRow / 2 / 12)) / root;
    return { levels, luts, rawScale: (2 * step) / root, popScale: (2 * lo) / root, offset: -sum / root, roundingSigma };
  }

  /**
   * The bound on |estimate − cosine| for one row: ε standard deviations of the sketch's own error and of the
   * query's rounding, independent, so added in quadrature (what the kernel adds to each estimate).
   */
  bound(row: Pick<RowSketch, 'variance' | 'invF'>, query: QuerySketch, epsilon: number): number {
    return epsilon * Math.sqrt(row.variance + (query.roundingSigma * row.invF) ** 2);
  }
}
