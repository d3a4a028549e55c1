import { closeSync, fdatasync, fdatasyncSync, mkdirSync, openSync, readdirSync, readFileSync, unlinkSync, write, writeFileSync, writeSync } from 'node:fs';
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

/** Whether a process with this id runs (EPERM: it does, as another user). */
function running(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Takes the folder for this process: a `LOCK` file holding its pid. A lock left by a process
 * that no longer runs (killed) is taken over; one held by a running process is an error, as
 * two writers in one spool would ship and delete each other's segments.
 */
function lockFolder(dir: string): string {
  const path = join(dir, 'LOCK');
  for (let attempt = 0; ; attempt++) {
    try {
      writeFileSync(path, String(process.pid), { flag: 'wx' });
      return path;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 0) throw err;
    }
    const holder = Number(readFileSync(path, 'utf8'));
    if (Number.isInteger(holder) && holder > 0 && running(holder)) {
      throw new Error(`the usage spool ${dir} is in use by process ${holder}; give each gateway its own usage.spoolDir`);
    }
    unlinkSync(path);
  }
}

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
  readonly #lock: string;
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
    this.#lock = lockFolder(dir);
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

  /** Flushes what is buffered, closes the active segment (it is sealed at the next open) and lets the folder go. */
  async close(): Promise<void> {
    await this.flush();
    if (this.#fd !== null) closeSync(this.#fd);
    this.#fd = null;
    unlinkSync(this.#lock);
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
