/**
 * A min-heap of timers in parallel arrays (no object per entry): ordered by time, then by a
 * sequence number (creation order, so timers due at the same instant stay FIFO); each entry
 * carries a tag (its owner's handle).
 */
export class TimerHeap {
  readonly #times: number[] = [];
  readonly #seqs: number[] = [];
  readonly #tags: number[] = [];

  get size(): number {
    return this.#times.length;
  }

  /** Time of the first entry, or +Infinity when empty. */
  get topTime(): number {
    return this.#times.length > 0 ? this.#times[0]! : Infinity;
  }

  /** Tag of the first entry (the heap must not be empty). */
  get topTag(): number {
    return this.#tags[0]!;
  }

  push(at: number, seq: number, tag: number): void {
    const times = this.#times;
    const seqs = this.#seqs;
    const tags = this.#tags;
    let i = times.length;
    times.push(at);
    seqs.push(seq);
    tags.push(tag);
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (times[p]! < at || (times[p] === at && seqs[p]! < seq)) break;
      times[i] = times[p]!;
      seqs[i] = seqs[p]!;
      tags[i] = tags[p]!;
      i = p;
    }
    times[i] = at;
    seqs[i] = seq;
    tags[i] = tag;
  }

  /** Remove the first entry. */
  pop(): void {
    const n = this.#times.length - 1;
    if (n < 0) return;
    this.#move(n, 0);
    this.#times.length = n;
    this.#seqs.length = n;
    this.#tags.length = n;
    if (n > 1) this.#siftDown(0);
  }

  /** Keep only the entries whose tag `keep` accepts, in place. */
  filter(keep: (tag: number) => boolean): void {
    let n = 0;
    for (let i = 0; i < this.#times.length; i++) if (keep(this.#tags[i]!)) this.#move(i, n++);
    this.#times.length = n;
    this.#seqs.length = n;
    this.#tags.length = n;
    for (let i = (n >> 1) - 1; i >= 0; i--) this.#siftDown(i);
  }

  #move(from: number, to: number): void {
    this.#times[to] = this.#times[from]!;
    this.#seqs[to] = this.#seqs[from]!;
    this.#tags[to] = this.#tags[from]!;
  }

  #siftDown(i: number): void {
    const times = this.#times;
    const seqs = this.#seqs;
    const tags = this.#tags;
    const n = times.length;
    const t = times[i]!;
    const s = seqs[i]!;
    const g = tags[i]!;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      let c = l;
      if (r < n && (times[r]! < times[l]! || (times[r] === times[l] && seqs[r]! < seqs[l]!))) c = r;
      if (t < times[c]! || (t === times[c] && s < seqs[c]!)) break;
      this.#move(c, i);
      i = c;
    }
    times[i] = t;
    seqs[i] = s;
    tags[i] = g;
  }
}
