import { closeSync, fdatasync, mkdirSync, openSync, readdirSync, readFileSync, unlinkSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

/**
 * When spooled records reach the disk (docs/usage.md, "Durability"). Under every policy a
 * record is handed to the OS (`write`) at the end of the event-loop turn that appended it,
 * so a process crash loses nothing that was answered; the policies differ in `fdatasync`:
 * - `always`: group commit, one sync (off the event loop) per batch of records waiting.
 * - `interval`: one sync per `flush` (every flushInterval).
 * - `never`: no sync; the OS writes back when it decides.
 */
export type FsyncPolicy = 'always' | 'interval' | 'never';

/** Makes a file's data durable; the default is fdatasync on the libuv thread pool. */
export type SyncFile = (fd: number) => Promise<void>;

export interface SpoolOptions {
  /** Replaces fdatasync (a test counts or holds syncs through it). */
  readonly sync?: SyncFile;
  /** A write or sync failed outside a caller's await; `lost` records could not be written. */
  readonly onError?: (err: unknown, lost: number) => void;
  /**
   * Bytes of lines kept in memory for `read`, over all segments this process wrote (default
   * DEFAULT_MEMORY_BYTES); a segment past it is read back from its file.
   */
  readonly memoryBytes?: number;
}

/**
 * The default of SpoolOptions.memoryBytes: a few flush intervals of records at several
 * thousand requests a second. Beyond it (a database away for long), segments are read from disk.
 */
export const DEFAULT_MEMORY_BYTES = 16 * 1024 * 1024;

/** Callers waiting for the lines of one write (one event-loop turn) to be written or synced. */
interface Waiter {
  readonly gen: number;
  readonly promise: Promise<void>;
  readonly resolve: () => void;
}

function waiter(gen: number): Waiter {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { gen, promise, resolve };
}

/** Resolves the waiters of writes up to `gen` (oldest first) and drops them. */
function release(waiters: Waiter[], gen: number): void {
  while (waiters.length > 0 && waiters[0]!.gen <= gen) waiters.shift()!.resolve();
}

/** Counters of what the spool did; `durable` never runs ahead of a completed sync. */
export interface SpoolStats {
  /** Records handed to the OS (in a segment file, maybe only in the page cache). */
  written: number;
  /** Records on the disk: a sync that began after they were written has completed. */
  durable: number;
  /** `write` calls (one per event-loop turn that appended records). */
  writes: number;
  /** Sync calls. */
  syncs: number;
}

const SEGMENT = /^(\d{12})\.jsonl$/;
const fdatasyncAsync: SyncFile = promisify(fdatasync);

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
  readonly lines: readonly string[];
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
  readonly stats: SpoolStats = { written: 0, durable: 0, writes: 0, syncs: 0 };
  readonly #fsync: FsyncPolicy;
  readonly #sync: SyncFile;
  readonly #onError: (err: unknown, lost: number) => void;
  readonly #lock: string;
  readonly #sealed: string[];
  readonly #endTurn: () => void;
  #next: number;
  #fd: number | null = null;
  #activeBytes = 0;
  /** Lines appended in this event-loop turn, written at its end. */
  #pending: string[] = [];
  /** The end-of-turn write is queued (setImmediate: after this turn's I/O callbacks). */
  #turnQueued = false;
  /** A failed write may have left part of a line: the next write starts a new line. */
  #torn = false;
  /** Syncs and closes run one at a time, in order, so `durable` can only move forward. */
  #syncs: Promise<void> = Promise.resolve();
  /** A group commit is queued and not yet started: records written now join it. */
  #commitQueued = false;
  /** Writes done (or failed), and the last of them a completed sync covers. */
  #writeGen = 0;
  #durableGen = 0;
  #writeWaiters: Waiter[] = [];
  #syncWaiters: Waiter[] = [];
  /**
   * The lines of the active segment as appended (null once they are not all it holds: a write
   * failed, or they passed the memory budget), and those of sealed segments this process
   * wrote, so shipping a segment does not read back the file it just wrote: a synchronous read
   * and split of megabytes on the event loop at every flush.
   */
  #activeLines: string[] | null = [];
  readonly #sealedLines = new Map<string, { readonly lines: readonly string[]; readonly bytes: number }>();
  readonly #memoryBytes: number;
  #heldBytes = 0;

  constructor(dir: string, fsync: FsyncPolicy, options: SpoolOptions = {}) {
    this.dir = dir;
    this.#fsync = fsync;
    this.#sync = options.sync ?? fdatasyncAsync;
    this.#onError = options.onError ?? ((): void => {});
    this.#memoryBytes = options.memoryBytes ?? DEFAULT_MEMORY_BYTES;
    this.#endTurn = (): void => {
      if (!this.#turnQueued) return; // written already by a flush, seal or close
      this.#turnQueued = false;
      this.#writeReported();
      if (this.#fsync === 'always') this.#commit();
    };
    mkdirSync(dir, { recursive: true });
    this.#lock = lockFolder(dir);
    const found = readdirSync(dir)
      .map((name) => SEGMENT.exec(name)?.[1])
      .filter((seq): seq is string => seq !== undefined)
      .sort();
    this.#sealed = found.map((seq) => join(dir, `${seq}.jsonl`));
    this.#next = found.length === 0 ? 1 : Number(found.at(-1)) + 1;
  }

  /** Bytes in the active segment, written or pending. */
  get activeBytes(): number {
    return this.#activeBytes;
  }

  /** Sealed segments waiting to be shipped, oldest first. */
  get sealed(): readonly string[] {
    return this.#sealed;
  }

  /**
   * Adds one line (without its newline). It is written with the other lines of this
   * event-loop turn in one `write` at the end of the turn (setImmediate, after the turn's I/O
   * callbacks); `written()` resolves then, and a caller that must not get ahead of the line
   * (an answer's last bytes) waits for it.
   */
  append(line: string): void {
    const text = `${line}\n`;
    this.#activeBytes += Buffer.byteLength(text);
    this.#pending.push(text);
    if (this.#activeLines !== null) {
      if (this.#heldBytes + this.#activeBytes <= this.#memoryBytes) this.#activeLines.push(line);
      else this.#activeLines = null;
    }
    if (this.#turnQueued) return;
    this.#turnQueued = true;
    setImmediate(this.#endTurn);
  }

  /** Resolves once every line appended so far was handed to the OS (or failed to be: see onError). */
  written(): Promise<void> {
    return this.#wait(this.#writeWaiters);
  }

  /** Resolves once every line appended so far is on the disk, or its write or sync failed (with `interval`: at the next flush). */
  durable(): Promise<void> {
    return this.#wait(this.#syncWaiters);
  }

  #wait(waiters: Waiter[]): Promise<void> {
    const done = waiters === this.#writeWaiters ? this.#writeGen : this.#durableGen;
    const gen = this.#pending.length > 0 ? this.#writeGen + 1 : this.#writeGen;
    if (gen <= done) return Promise.resolve();
    const last = waiters.at(-1);
    if (last?.gen === gen) return last.promise;
    const w = waiter(gen);
    waiters.push(w);
    return w.promise;
  }

  /** Writes what is pending now and syncs the active segment (unless `never`); resolves when done. */
  flush(): Promise<void> {
    try {
      this.#writeNow();
    } catch (err) {
      return Promise.reject(err as Error);
    }
    if (this.#fsync === 'never') return this.#syncs;
    return this.#chain(() => this.#syncActive());
  }

  /** Ends the active segment (written and, unless `never`, synced) so it can be shipped; a no-op when it is empty. */
  async seal(): Promise<void> {
    this.#writeNow();
    const fd = this.#fd;
    if (fd === null) {
      await this.#syncs;
      return;
    }
    // Detached first: lines appended while it syncs start the next segment.
    const path = this.#path(this.#next);
    if (this.#activeLines !== null) {
      this.#sealedLines.set(path, { lines: this.#activeLines, bytes: this.#activeBytes });
      this.#heldBytes += this.#activeBytes;
    }
    this.#activeLines = [];
    this.#fd = null;
    this.#next++;
    this.#activeBytes = 0;
    const written = this.stats.written;
    const gen = this.#writeGen;
    await this.#chain(() => this.#syncAndClose(fd, written, gen));
    this.#sealed.push(path);
  }

  /** Reads a sealed segment's lines: from memory when this process wrote them all, else from its file. */
  read(path: string): SegmentContents {
    const held = this.#sealedLines.get(path);
    if (held !== undefined) return { lines: held.lines, torn: false };
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
    this.#forget(path);
  }

  #forget(path: string): void {
    const held = this.#sealedLines.get(path);
    if (held === undefined) return;
    this.#sealedLines.delete(path);
    this.#heldBytes -= held.bytes;
  }

  /** Writes what is pending, syncs (unless `never`) and closes the active segment (sealed at the next open), and lets the folder go. */
  async close(): Promise<void> {
    try {
      this.#writeNow();
    } catch {
      // Reported through onError; what was written is still synced and closed.
    }
    const fd = this.#fd;
    this.#fd = null;
    const written = this.stats.written;
    const gen = this.#writeGen;
    try {
      if (fd !== null) await this.#chain(() => this.#syncAndClose(fd, written, gen));
      else await this.#syncs;
    } finally {
      unlinkSync(this.#lock);
    }
  }

  /** Writes the pending lines now (before a flush or seal) instead of at the end of the turn; throws on a disk error. */
  #writeNow(): void {
    this.#turnQueued = false;
    this.#write();
  }

  #writeReported(): void {
    try {
      this.#write();
    } catch {
      // #write reported it.
    }
  }

  /** One `write` of every pending line. Lines that could not be written are reported and dropped. */
  #write(): void {
    const count = this.#pending.length;
    if (count === 0) return;
    const data = Buffer.from((this.#torn ? '\n' : '') + this.#pending.join(''));
    this.#pending = [];
    const gen = ++this.#writeGen;
    let off = 0;
    try {
      const fd = this.#open();
      this.stats.writes++;
      // A regular file takes the whole buffer unless the disk is full; loop for that case.
      while (off < data.length) off += writeSync(fd, data, off, data.length - off);
      this.#torn = false;
    } catch (err) {
      if (off > 0) this.#torn = true;
      // The file no longer holds exactly the lines appended: it is read back as it is.
      this.#activeLines = null;
      this.#onError(err, count);
      throw err;
    } finally {
      release(this.#writeWaiters, gen);
    }
    this.stats.written += count;
  }

  /** A sync covering writes up to `gen` completed (or failed: waiting longer would not help). */
  #synced(gen: number): void {
    if (gen <= this.#durableGen) return;
    this.#durableGen = gen;
    release(this.#syncWaiters, gen);
  }

  /** Group commit (`always`): at most one sync runs and one waits; records written meanwhile join the waiting one. */
  #commit(): void {
    if (this.#commitQueued || this.#writeGen === this.#durableGen) return;
    this.#commitQueued = true;
    this.#chain(() => {
      this.#commitQueued = false;
      return this.#syncActive();
    }).catch((err: unknown) => this.#onError(err, 0));
  }

  /**
   * Syncs the active segment. Records in earlier segments were synced by their seal, earlier
   * in the chain, so once this completes everything written before it began is durable.
   */
  async #syncActive(): Promise<void> {
    const target = this.stats.written;
    const gen = this.#writeGen;
    const fd = this.#fd;
    // Nothing new on the disk to sync: no active segment (its seal synced it), or the writes
    // since the last sync failed (their lines were reported lost; nobody should wait on them).
    if (target === this.stats.durable || fd === null) return this.#synced(gen);
    this.stats.syncs++;
    try {
      await this.#sync(fd);
      this.stats.durable = Math.max(this.stats.durable, target);
    } finally {
      this.#synced(gen);
    }
  }

  /** Syncs (unless `never`) and closes a detached segment holding the records written up to `target`. */
  async #syncAndClose(fd: number, target: number, gen: number): Promise<void> {
    try {
      if (this.#fsync !== 'never' && target > this.stats.durable) {
        this.stats.syncs++;
        await this.#sync(fd);
        this.stats.durable = Math.max(this.stats.durable, target);
      }
    } finally {
      closeSync(fd);
      this.#synced(gen);
    }
  }

  /** Runs `step` after every sync or close before it; a failure rejects this step only. */
  #chain(step: () => Promise<void>): Promise<void> {
    const run = this.#syncs.then(step);
    this.#syncs = run.catch(() => {});
    return run;
  }

  #open(): number {
    this.#fd ??= openSync(this.#path(this.#next), 'a');
    return this.#fd;
  }

  #path(seq: number): string {
    return join(this.dir, `${String(seq).padStart(12, '0')}.jsonl`);
  }
}
