/** An element of a BinaryHeap; the heap keeps `heapIndex` current so removal is O(log n). */
export interface HeapItem {
  /** Position in the heap's array; -1 when the item is not in a heap. */
  heapIndex: number;
}

/**
 * A binary min-heap under `before` (a before b = a comes out first), with O(log n) push,
 * pop and removal of any item. Items carry their own position, so one item can be in at most
 * one heap at a time.
 */
export class BinaryHeap<T extends HeapItem> {
  readonly #items: T[];
  readonly #before: (a: T, b: T) => boolean;

  constructor(before: (a: T, b: T) => boolean) {
    this.#items = [];
    this.#before = before;
  }

  get size(): number {
    return this.#items.length;
  }

  peek(): T | undefined {
    return this.#items[0];
  }

  push(item: T): void {
    item.heapIndex = this.#items.length;
    this.#items.push(item);
    this.#up(item.heapIndex);
  }

  pop(): T | undefined {
    const top = this.#items[0];
    if (top !== undefined) this.remove(top);
    return top;
  }

  /** Removes `item` if it is in this heap; returns whether it was. */
  remove(item: T): boolean {
    const i = item.heapIndex;
    if (i < 0 || this.#items[i] !== item) return false;
    const last = this.#items.pop()!;
    item.heapIndex = -1;
    if (last !== item) {
      this.#items[i] = last;
      last.heapIndex = i;
      this.#down(i);
      this.#up(last.heapIndex);
    }
    return true;
  }

  #up(i: number): void {
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.#before(this.#items[i]!, this.#items[parent]!)) return;
      this.#swap(i, parent);
      i = parent;
    }
  }

  #down(i: number): void {
    const n = this.#items.length;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let first = i;
      if (l < n && this.#before(this.#items[l]!, this.#items[first]!)) first = l;
      if (r < n && this.#before(this.#items[r]!, this.#items[first]!)) first = r;
      if (first === i) return;
      this.#swap(i, first);
      i = first;
    }
  }

  #swap(i: number, j: number): void {
    const a = this.#items[i]!;
    const b = this.#items[j]!;
    this.#items[i] = b;
    this.#items[j] = a;
    a.heapIndex = j;
    b.heapIndex = i;
  }
}
