/**
 * The embedded database's own thread: it opens PGlite (see pglite.ts) and answers the
 * requests of `PGliteThreadDatabase` on the main thread, one at a time, in order. PGlite is
 * PostgreSQL compiled to WebAssembly and runs on the thread that calls it; here, its work
 * (a usage batch, an analytics query) never holds up the requests the gateway is serving.
 */
import { getPriority, setPriority } from 'node:os';
import { parentPort, workerData } from 'node:worker_threads';
import { PGliteDatabase } from './pglite.js';
import type { ThreadReply, ThreadRequest, ThreadStart } from './pglite-protocol.js';

const port = parentPort;
if (port === null) throw new Error('pglite-thread runs as a worker thread');
const { dataDir } = workerData as ThreadStart;

const reply = (message: ThreadReply): void => port.postMessage(message);

/**
 * Runs this thread at a lower priority than the gateway's (nice +10): on a busy machine a
 * usage batch (tens of ms of CPU) then yields to the requests instead of taking turns with
 * them. On Linux the nice value is per thread, and pid 0 (os.setPriority's default) is the
 * calling thread; elsewhere it would be the whole process, so nothing is changed there.
 */
function lowerPriority(): void {
  if (process.platform !== 'linux') return;
  try {
    setPriority(Math.min(19, getPriority() + 10));
  } catch {
    // Not permitted: the default priority is correct, only less polite.
  }
}

lowerPriority();

/** A PGlite error as plain fields (structured clone would drop everything but the message). */
function describe(err: unknown): { message: string; fields: Record<string, string | number> } {
  if (!(err instanceof Error)) return { message: String(err), fields: {} };
  const fields: Record<string, string | number> = {};
  for (const [k, v] of Object.entries(err)) if (typeof v === 'string' || typeof v === 'number') fields[k] = v;
  return { message: err.message, fields };
}

try {
  const db = await PGliteDatabase.open(dataDir);
  // Requests are answered strictly in order: the main thread relies on it for transactions.
  let queue = Promise.resolve();
  port.on('message', (req: ThreadRequest) => {
    queue = queue.then(async () => {
      try {
        if (req.op === 'query') reply({ id: req.id, rows: await db.query(req.sql, req.params) });
        else if (req.op === 'exec') {
          await db.exec(req.sql);
          reply({ id: req.id, rows: [] });
        } else {
          await db.close();
          reply({ id: req.id, rows: [] });
          port.close();
        }
      } catch (err) {
        reply({ id: req.id, error: describe(err) });
      }
    });
  });
  reply({ id: 0, rows: [] });
} catch (err) {
  reply({ id: 0, error: describe(err) });
}
