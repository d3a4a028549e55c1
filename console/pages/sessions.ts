import { ApiError, current, may, request } from '../api.js';
import { el, replace, table } from '../dom.js';
import type { Page } from './page.js';

/**
 * Sessions (issue 22): revoke one JWT session, or every session of a user ("sign out
 * everywhere"), through `POST /admin/sessions/revoke`. Shown to every role; the form is
 * disabled for a role that may not revoke (the API refuses it anyway, and a refusal is shown
 * with its code). Every revocation asks for confirmation first, and is in the audit log.
 */
interface SessionsInfo {
  jwt: boolean;
  revocation: boolean;
  userClaim: string | null;
  sessionClaim: string | null;
  revocationTtlSeconds: number | null;
}

interface AuditEntry {
  at: string;
  actor: string;
  action: string;
  status: number;
  detail: string | null;
}

const ACTION = '/admin/sessions/revoke';

/** How a failed revocation reads: the status and the catalog code first, so a 403 is plain. */
function failure(err: unknown): HTMLElement {
  if (err instanceof ApiError) {
    const lead = err.status === 403 ? 'Refused: your role may not revoke sessions.' : 'The revocation failed.';
    return el('p', { class: 'error', id: 'sessions-error' }, `${lead} ${err.status} ${err.code}: ${err.message}`);
  }
  return el('p', { class: 'error', id: 'sessions-error' }, err instanceof Error ? err.message : String(err));
}

/** `auth.jwt.revocationTtl` as a person reads it: hours when whole, else minutes. */
function keptFor(seconds: number): string {
  return seconds >= 3600 && seconds % 3600 === 0 ? `${seconds / 3600} h` : `${Math.round(seconds / 60)} min`;
}

/** "session s1" or "user u1" from an audit entry's body, as text (never markup). */
function whatOf(detail: string | null): string {
  if (detail === null) return '—';
  try {
    const body = JSON.parse(detail) as { session?: unknown; user?: unknown };
    if (typeof body.session === 'string') return `session ${body.session}`;
    if (typeof body.user === 'string') return `every session of user ${body.user}`;
  } catch {
    // Not JSON: shown as it was recorded.
  }
  return detail;
}

export const sessionsPage: Page = {
  path: 'sessions',
  title: 'Sessions',
  async render(root) {
    const info = await request<SessionsInfo>('GET', '/admin/sessions');
    if (!info.revocation) {
      const why = info.jwt
        ? 'JWT session revocation is off: set auth.jwt.revocation: true to revoke sessions here.'
        : 'This gateway accepts no JWTs (auth.jwt is not configured): there are no sessions to revoke.';
      return replace(root, el('p', { class: 'muted', id: 'sessions-off' }, why));
    }
    const allowed = may('keys');
    const kind = el(
      'select',
      { name: 'kind', id: 'sessions-kind' },
      el('option', { value: 'session' }, `one session (its "${info.sessionClaim ?? 'sid'}" or "jti")`),
      el('option', { value: 'user' }, `every session of a user ("${info.userClaim ?? 'sub'}"): sign out everywhere`),
    );
    const value = el('input', { name: 'value', id: 'sessions-value', required: true, maxlength: '1000', autocomplete: 'off' });
    const submit = el('button', { type: 'submit', class: 'danger', id: 'sessions-submit' }, 'Revoke');
    const fields = el('fieldset', { id: 'sessions-fields', disabled: !allowed }, el('label', {}, 'revoke', kind), el('label', {}, 'id', value), submit);
    const form = el('form', { class: 'card', id: 'sessions-form' }, fields);
    const result = el('div', { id: 'sessions-result' });
    const recent = el('div', {});
    const note = allowed
      ? el('p', { class: 'muted' }, `Revoked tokens are refused at once on every instance sharing the state store; a revocation is kept ${keptFor(info.revocationTtlSeconds ?? 0)}. New tokens the auth service issues afterwards work.`)
      : el('p', { class: 'muted', id: 'sessions-role' }, `Your role (${current()?.role ?? 'none'}) may not revoke sessions: the roles keys and admin may.`);

    const loadRecent = async (): Promise<void> => {
      const page = await request<{ data: AuditEntry[] }>('GET', '/admin/audit?limit=200');
      const rows = page.data.filter((e) => e.action === ACTION);
      replace(
        recent,
        el('h2', {}, 'Recent revocations'),
        rows.length === 0
          ? el('p', { class: 'muted' }, 'None in the last 200 admin changes.')
          : table(['when', 'who', 'what', 'status'], rows.map((e) => [e.at.replace('T', ' ').slice(0, 19), e.actor, whatOf(e.detail), e.status]), { id: 'sessions-recent' }),
      );
    };

    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      const what = kind.value === 'user' ? 'user' : 'session';
      const id = value.value.trim();
      if (id === '') return;
      const question =
        what === 'session'
          ? `Revoke session ${JSON.stringify(id)}? Every token carrying it is refused from now on, on every instance.`
          : `Sign out user ${JSON.stringify(id)} everywhere? Every token issued to this user up to now is refused, on every instance.`;
      if (!confirm(question)) {
        replace(result, el('p', { class: 'muted', id: 'sessions-cancelled' }, 'Cancelled: nothing was revoked.'));
        return;
      }
      submit.disabled = true;
      request<{ revoked: string }>('POST', ACTION, { [what]: id })
        .then(() => {
          const done = what === 'session' ? `Session ${JSON.stringify(id)} revoked: its tokens are refused from now on.` : `User ${JSON.stringify(id)} signed out everywhere: every token issued to them up to now is refused.`;
          replace(result, el('p', { class: 'ok', id: 'sessions-done' }, done));
          value.value = '';
        })
        .catch((err: unknown) => replace(result, failure(err)))
        .finally(() => {
          submit.disabled = false;
          void loadRecent().catch(() => undefined);
        });
    });

    replace(root, note, form, result, recent);
    await loadRecent();
  },
};
