import { parseArgs } from 'node:util';
import { request } from 'undici';

const HELP = `Usage: sluice keys <create|list|rotate|revoke> [options]

Manages virtual API keys through a running gateway's admin API (keys are stored hashed in its
database; a new or rotated key's value is printed once).

  sluice keys create --name NAME [--tier TIER] [--user USER] [--models GLOB,GLOB] [--expires ISO-TIME]
  sluice keys list
  sluice keys rotate ID
  sluice keys revoke ID

Options:
      --url URL            The gateway (env SLUICE_URL; default http://127.0.0.1:8787)
      --admin-token TOKEN  An admin token from admin.tokens (env SLUICE_ADMIN_TOKEN)
      --json               Print the API's JSON answer
  -h, --help               Show this help
`;

/** `sluice keys …`: returns the exit code (0 ok, 1 the gateway refused, 2 usage). */
export async function keysCommand(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        url: { type: 'string' },
        'admin-token': { type: 'string' },
        name: { type: 'string' },
        tier: { type: 'string' },
        user: { type: 'string' },
        models: { type: 'string' },
        expires: { type: 'string' },
        json: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (err) {
    process.stderr.write(`sluice keys: ${(err as Error).message}\n`);
    return 2;
  }
  const { values, positionals } = parsed;
  const [action, id] = positionals;
  if (values.help === true || action === undefined) {
    process.stdout.write(HELP);
    return values.help === true ? 0 : 2;
  }
  const base = (values.url ?? process.env.SLUICE_URL ?? 'http://127.0.0.1:8787').replace(/\/+$/, '');
  const token = values['admin-token'] ?? process.env.SLUICE_ADMIN_TOKEN;
  if (token === undefined || token === '') {
    process.stderr.write('sluice keys: an admin token is required (--admin-token or SLUICE_ADMIN_TOKEN)\n');
    return 2;
  }
  let method: 'GET' | 'POST' | 'DELETE';
  let path: string;
  let body: string | undefined;
  switch (action) {
    case 'create':
      if (values.name === undefined) {
        process.stderr.write('sluice keys create: --name is required\n');
        return 2;
      }
      method = 'POST';
      path = '/admin/keys';
      body = JSON.stringify({
        name: values.name,
        ...(values.tier === undefined ? {} : { tier: values.tier }),
        ...(values.user === undefined ? {} : { user: values.user }),
        ...(values.models === undefined ? {} : { models: values.models.split(',').map((m) => m.trim()).filter((m) => m !== '') }),
        ...(values.expires === undefined ? {} : { expiresAt: values.expires }),
      });
      break;
    case 'list':
      method = 'GET';
      path = '/admin/keys';
      break;
    case 'rotate':
    case 'revoke':
      if (id === undefined) {
        process.stderr.write(`sluice keys ${action}: the key id is required\n`);
        return 2;
      }
      method = action === 'rotate' ? 'POST' : 'DELETE';
      path = action === 'rotate' ? `/admin/keys/${encodeURIComponent(id)}/rotate` : `/admin/keys/${encodeURIComponent(id)}`;
      break;
    default:
      process.stderr.write(`sluice keys: unknown action ${JSON.stringify(action)}\n\n${HELP}`);
      return 2;
  }
  let res;
  try {
    res = await request(base + path, { method, headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) }, body });
  } catch (err) {
    process.stderr.write(`sluice keys: cannot reach ${base}: ${(err as Error).message}\n`);
    return 1;
  }
  const text = await res.body.text();
  if (res.statusCode >= 400) {
    process.stderr.write(`sluice keys: ${res.statusCode} ${text}\n`);
    return 1;
  }
  if (values.json === true) {
    process.stdout.write(`${text}\n`);
    return 0;
  }
  const data = JSON.parse(text) as { key?: string; id?: string; name?: string; tier?: string; data?: { id: string; name: string; prefix: string; tier: string; user: string | null; revokedAt: string | null; source: string }[] };
  if (data.data !== undefined) {
    for (const k of data.data) process.stdout.write(`${k.id}\t${k.name}\t${k.prefix}…\ttier=${k.tier}\tuser=${k.user ?? '-'}\t${k.revokedAt === null ? 'active' : 'revoked'}\t${k.source}\n`);
  } else if (data.key !== undefined) {
    process.stdout.write(`${data.key}\n`);
    process.stderr.write(`key ${data.id ?? ''} (${data.name ?? ''}, tier ${data.tier ?? ''}): store it now, it is not shown again\n`);
  } else {
    process.stdout.write(`revoked ${data.id ?? ''}\n`);
  }
  return 0;
}
