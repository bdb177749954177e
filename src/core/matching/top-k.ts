/** Top-k selection for the index's searches: a fixed-size heap, the k-th largest, a sampled threshold. */

/**
 * A score that about `want` of the values reach, guessed from an evenly spaced sample of at most ~16k of them (the
 * j-th largest of a sample of every s-th value has about j·s values above it); exact for small arrays.
 */
export function likelyThreshold(values: Float32Array, want: number): number {
  const step = Math.max(1, Math.floor(values.length / 16384));
  const heap = new TopK(Math.ceil(want / step));
  for (let i = 0; i < values.length; i += step) if (values[i] > heap.floor) heap.push(i, values[i]);
  return heap.full ? heap.floor : -Infinity;
}

export function kthLargest(values: number[], k: number): number {
  if (values.length < k) return -Infinity;
  return [...values].sort((a, b) => b - a)[k - 1];
}

/** A fixed-size min-heap of (row, score) keeping the largest scores. */
export class TopK {
  private readonly rowsHeap: Int32Array;
  private readonly scores: Float32Array;
  private n = 0;
  floor = -Infinity;

  constructor(private readonly capacity: number) {
    this.rowsHeap = new Int32Array(capacity);
    this.scores = new Float32Array(capacity);
  }

  get full(): boolean {
    return this.n === this.capacity;
  }

  push(row: number, score: number): void {
    if (this.n < this.capacity) {
      let i = this.n++;
      while (i > 0) {
        const parent = (i - 1) >> 1;
        if (this.scores[parent] <= score) break;
        this.scores[i] = this.scores[parent];
        this.rowsHeap[i] = this.rowsHeap[parent];
        i = parent;
      }
      this.scores[i] = score;
      this.rowsHeap[i] = row;
      if (this.n === this.capacity) this.floor = this.scores[0];
      return;
    }
    // replace the root and sift down
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= this.n) break;
      const r = l + 1;
      const c = r < this.n && this.scores[r] < this.scores[l] ? r : l;
      if (this.scores[c] >= score) break;
      this.scores[i] = this.scores[c];
      this.rowsHeap[i] = this.rowsHeap[c];
      i = c;
    }
    this.scores[i] = score;
    this.rowsHeap[i] = row;
    this.floor = this.scores[0];
  }

  rows(): number[] {
    return Array.from(this.rowsHeap.subarray(0, this.n));
  }
}
