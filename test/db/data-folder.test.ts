import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { legacyPgliteNotice } from '../../src/db/index.js';
import { CLI, exitCode, killChildren, startCli } from '../helpers/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'sluice-data-folder-'));
after(() => {
  killChildren();
  rmSync(dir, { recursive: true, force: true });
});

/** A config whose embedded database lives in `dataDir`, with a spool of its own (`name`). */
function config(name: string, dataDir: string): string {
  const file = join(dir, `${name}.yaml`);
  writeFileSync(file, `database: { dataDir: ${JSON.stringify(dataDir)} }\nusage: { spoolDir: ${JSON.stringify(join(dir, `${name}-spool`))} }\nproviders:\n  m: { type: mock }\nroutes:\n  - match: "*"\n    targets: [{ provider: m }]\n`);
  return file;
}

function start(file: string): { code: number | null; stderr: string } {
  const res = spawnSync(process.execPath, [CLI, 'start', '--config', file, '--port', '0'], { encoding: 'utf8', timeout: 30_000 });
  return { code: res.status, stderr: res.stderr };
}

describe('the embedded database\'s data folder', () => {
  test('a second gateway on the same data folder fails at start with one line that says what to set; the first keeps running', async () => {
    const data = join(dir, 'shared-data');
    const first = await startCli(config('first', data));
    const second = start(config('second', data));
    assert.equal(second.code, 1);
    const lines = second.stderr.trim().split('\n');
    assert.equal(lines.length, 1, second.stderr);
    assert.match(lines[0]!, /^sluice: the data folder .*shared-data is in use by another Sluice process; give each gateway its own database\.dataDir, or .*database\.url/);
    assert.equal(first.child.exitCode, null);
    // A killed gateway leaves no lock behind: the OS drops it with the process.
    first.child.kill('SIGKILL');
    await exitCode(first.child);
    const again = await startCli(config('again', data));
    again.child.kill('SIGTERM');
    assert.equal(await exitCode(again.child), 0);
  });

  test('a data folder that holds a PGlite database (an older Sluice) is refused with one line on what to do', () => {
    const data = join(dir, 'pglite-data');
    mkdirSync(data);
    writeFileSync(join(data, 'PG_VERSION'), '17\n');
    const res = start(config('pglite', data));
    assert.equal(res.code, 1);
    const lines = res.stderr.trim().split('\n');
    assert.equal(lines.length, 1, res.stderr);
    assert.match(lines[0]!, /holds an embedded PGlite database from an older Sluice, which this version no longer reads/);
    assert.match(lines[0]!, /set database\.dataDir to another folder/);
    assert.match(lines[0]!, /GET \/admin\/usage\/requests/);
  });

  test('a PGlite folder left at the old default place (.sluice/db) is reported, and no longer read', () => {
    const cwd = join(dir, 'project');
    assert.equal(legacyPgliteNotice('.sluice/data', cwd), null);
    mkdirSync(join(cwd, '.sluice', 'db'), { recursive: true });
    assert.equal(legacyPgliteNotice('.sluice/data', cwd), null, 'a folder without PG_VERSION is not PGlite');
    writeFileSync(join(cwd, '.sluice', 'db', 'PG_VERSION'), '17\n');
    assert.match(legacyPgliteNotice('.sluice/data', cwd)!, /^\.sluice\/db holds the embedded PGlite database of an older Sluice; it is no longer read/);
    assert.match(legacyPgliteNotice(null, cwd)!, /no longer read/);
  });
});
