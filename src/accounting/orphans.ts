import { existsSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { UsageWriter } from './writer.js';

const WORKER_FOLDER = /^worker-(\d+)$/;
const SEGMENT_FILE = /^\d{12}\.jsonl$/;

/**
 * Spool folders under `root` (the configured `usage.spoolDir`) that no process of this layout
 * writes to, so their records would wait until a layout that does came back (issue 19):
 *
 * - a single process (`slot` null) owns `root` itself: every `worker-<n>` folder a run with
 *   `server.workers` left is an orphan;
 * - worker 1 of `workers` adopts for the cluster: the folders of slots above `workers` (a run
 *   with more workers), and `root` itself when it holds segments (a run as one process);
 * - the other workers adopt nothing.
 */
export function orphanSpools(root: string, workers: number, slot: number | null): string[] {
  if (slot !== null && slot !== 1) return [];
  let names: string[];
  try {
    names = readdirSync(root);
  } catch {
    return []; // no spool yet
  }
  const out: string[] = [];
  for (const name of names.sort()) {
    const m = WORKER_FOLDER.exec(name);
    if (m === null) continue;
    const path = join(root, name);
    if (!statSync(path).isDirectory()) continue;
    if (slot === null || Number(m[1]) > workers) out.push(path);
  }
  if (slot === 1 && names.some((n) => SEGMENT_FILE.test(n))) out.unshift(root);
  return out;
}

/** Whether a spool folder holds no segment (what is left of it is a stale lock at most). */
function emptySpool(dir: string): boolean {
  return !readdirSync(dir).some((n) => SEGMENT_FILE.test(n));
}

/**
 * Ships each orphan folder's records into the database with a writer of its own (`writerFor`),
 * one folder after another, and removes a worker folder once nothing is left in it. A folder
 * another process holds (its LOCK) or whose records the database does not take now is left
 * for the next start: nothing is deleted that was not stored. Resolves with the folders it
 * emptied; never rejects.
 */
export async function adoptSpools(dirs: readonly string[], writerFor: (dir: string) => UsageWriter, logger: Logger, timeoutMs: number): Promise<string[]> {
  const emptied: string[] = [];
  for (const dir of dirs) {
    let writer: UsageWriter;
    try {
      writer = writerFor(dir);
    } catch (err) {
      logger.warn({ err, folder: dir }, 'an orphan usage spool could not be opened; it waits for the next start');
      continue;
    }
    await writer.stop(timeoutMs);
    const { stored } = writer.stats;
    if (existsSync(dir) && emptySpool(dir)) {
      if (WORKER_FOLDER.test(dir.slice(dir.lastIndexOf('/') + 1))) rmSync(dir, { recursive: true, force: true });
      emptied.push(dir);
      logger.info({ folder: dir, stored }, 'usage records left by an earlier worker layout were stored');
    } else {
      logger.warn({ folder: dir, stored }, 'usage records left by an earlier worker layout are not all stored yet; they wait for the next start');
    }
  }
  return emptied;
}
