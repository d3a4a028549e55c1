/**
 * The embedded database's own thread: it opens SQLite (see sqlite.ts) and answers the
 * requests of `SqliteThreadDatabase` on the main thread, one at a time, in order. SQLite
 * is synchronous: here its work (a usage batch, an analytics query over many records)
 * never holds up the requests the gateway is serving.
 */
import { getPriority, setPriority } from 'node:os';
import { parentPort, workerData } from 'node:worker_threads';
import { SqliteConnection, sqlstate } from './sqlite.js';
import type { ThreadReply, ThreadRequest, ThreadStart } from './sqlite-protocol.js';

const port = parentPort;
if (port === null) throw new Error('sqlite-thread runs as a worker thread');
const { dataDir } = workerData as ThreadStart;

const reply = (message: ThreadReply): void => port.postMessage(message);

/**
 * Runs this thread at a lower priority than the gateway's (nice +10): on a busy machine a
 * usage batch then yields to the requests instead of taking turns with them. On Linux the
 * nice value is per thread, and pid 0 (os.setPriority's default) is the calling thread;
 * elsewhere it would be the whole process, so nothing is changed there.
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

/** An error as plain fields (structured clone would drop everything but the message), with its SQLSTATE. */
function describe(err: unknown): { message: string; fields: Record<string, string | number> } {
  if (!(err instanceof Error)) return { message: String(err), fields: {} };
  const fields: Record<string, string | number> = {};
  for (const [k, v] of Object.entries(err)) if (typeof v === 'string' || typeof v === 'number') fields[k] = v;
  if (typeof fields.code === 'string' && fields.code.startsWith('SQLITE_')) {
    fields.sqliteCode = fields.code;
    const state = sqlstate(fields.code, err.message);
    if (state === null) delete fields.code;
    else fields.code = state;
  }
  return { message: err.message, fields };
}

let db: SqliteConnection;
try {
  db = SqliteConnection.open(dataDir);
  reply({ id: 0, rows: [] });
} catch (err) {
  reply({ id: 0, error: describe(err) });
  port.close();
}

port.on('message', (req: ThreadRequest) => {
  try {
    if (req.op === 'query') reply({ id: req.id, rows: db.query(req.sql, req.params) });
    else if (req.op === 'insertJson') reply({ id: req.id, rows: [{ n: db.insertJson(req.sql, req.fields, req.lines) }] });
    else if (req.op === 'exec') {
      db.exec(req.sql);
      reply({ id: req.id, rows: [] });
    } else {
      db.close();
      reply({ id: req.id, rows: [] });
      port.close();
    }
  } catch (err) {
    reply({ id: req.id, error: describe(err) });
  }
});
