import { closeSync, fdatasync, fdatasyncSync, mkdirSync, openSync, readdirSync, readFileSync, unlinkSync, write, writeSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

const writeAsync = promisify(write);
const fdatasyncAsync = promisify(fdatasync);

/**
 * When spooled records reach the disk (docs/usage.md, "Durability"):
 * - `always`: each record is written and fdatasync'd before `append` returns.
 * - `interval`: records are buffered and written and fdatasync'd at each `flush`.
 * - `never`: records are buffered and written at each `flush`; the OS decides when they reach the disk.
 */
export type FsyncPolicy = 'always' | 'interval' | 'never';

const SEGMENT = /^(\d{12})\.jsonl$/;

/** What a segment holds: its complete lines, and how many lines were unreadable. */
export interface SegmentContents {
  readonly lines: string[];
  /** A last line cut short by a crash mid-write; it was never acknowledged, so it is dropped. */
  readonly torn: boolean;
}

/**
 * A durable local queue of text lines in a folder of numbered, append-only segment files.
 * Lines go to the active segment; `seal()` closes it so a reader can ship it, and the reader
 * deletes a sealed segment only once everything in it is stored elsewhere. Segments left by
 * a previous process (stopped or killed) are sealed at open, so nothing written is lost.
 * One process owns a spool folder.
 */
export class Spool {
  readonly dir: string;
  readonly #fsync: FsyncPolicy;
  readonly #sealed: string[];
  #next: number;
  #fd: number | null = null;
  #activeBytes = 0;
  #buffer: string[] = [];
  /** Writes of buffered lines run one at a time, in order. */
  #writing: Promise<void> = Promise.resolve();

  constructor(dir: string, fsync: FsyncPolicy) {
    this.dir = dir;
    this.#fsync = fsync;
    mkdirSync(dir, { recursive: true });
    const found = readdirSync(dir)
      .map((name) => SEGMENT.exec(name)?.[1])
      .filter((seq): seq is string => seq !== undefined)
      .sort();
    this.#sealed = found.map((seq) => join(dir, `${seq}.jsonl`));
    this.#next = found.length === 0 ? 1 : Number(found.at(-1)) + 1;
  }

  /** Bytes in the active segment, written or buffered. */
  get activeBytes(): number {
    return this.#activeBytes;
  }

  /** Sealed segments waiting to be shipped, oldest first. */
  get sealed(): readonly string[] {
    return this.#sealed;
  }

  /** Adds one line (without its newline). With `always` it is on disk when this returns. */
  append(line: string): void {
    const text = `${line}\n`;
    this.#activeBytes += Buffer.byteLength(text);
    if (this.#fsync !== 'always') {
      this.#buffer.push(text);
      return;
    }
    const fd = this.#open();
    writeSync(fd, text);
    fdatasyncSync(fd);
  }

  /** Writes the buffered lines to the active segment (and syncs them, with `interval`). */
  flush(): Promise<void> {
    if (this.#buffer.length === 0) return this.#writing;
    const text = this.#buffer.join('');
    this.#buffer = [];
    this.#writing = this.#writing.then(() => this.#write(text));
    return this.#writing;
  }

  /** Ends the active segment (after flushing it) so it can be shipped; a no-op when it is empty. */
  async seal(): Promise<void> {
    await this.flush();
    if (this.#fd === null) return;
    closeSync(this.#fd);
    this.#fd = null;
    // Lines appended while the flush ran belong to the next segment.
    this.#activeBytes = this.#buffer.reduce((n, t) => n + Buffer.byteLength(t), 0);
    this.#sealed.push(this.#path(this.#next));
    this.#next++;
  }

  /** Reads a sealed segment's lines. */
  read(path: string): SegmentContents {
    const text = readFileSync(path, 'utf8');
    const lines = text.split('\n');
    const last = lines.pop();
    return { lines: lines.filter((l) => l !== ''), torn: last !== undefined && last !== '' };
  }

  /** Deletes the oldest sealed segment, once its lines are stored elsewhere. */
  remove(path: string): void {
    if (this.#sealed[0] !== path) throw new Error(`${path} is not the oldest sealed segment`);
    unlinkSync(path);
    this.#sealed.shift();
  }

  /** Flushes what is buffered and closes the active segment (it is sealed at the next open). */
  async close(): Promise<void> {
    await this.flush();
    if (this.#fd !== null) closeSync(this.#fd);
    this.#fd = null;
  }

  async #write(text: string): Promise<void> {
    const fd = this.#open();
    const data = Buffer.from(text);
    let off = 0;
    while (off < data.length) off += (await writeAsync(fd, data, off, data.length - off)).bytesWritten;
    if (this.#fsync === 'interval') await fdatasyncAsync(fd);
  }

  #open(): number {
    this.#fd ??= openSync(this.#path(this.#next), 'a');
    return this.#fd;
  }

  #path(seq: number): string {
    return join(this.dir, `${String(seq).padStart(12, '0')}.jsonl`);
  }
}
