import { ApiError, current, forget, oidcEnabled, signIn, signOut, storedToken } from './api.js';
import { el, replace } from './dom.js';
import { PAGES, type Page } from './pages/index.js';

/**
 * The console's shell (issue 20): sign-in, the navigation, and one page at a time, chosen by
 * the location's hash (#/traffic). A page may return a function that stops what it started
 * (a refresh timer); it runs when another page is shown.
 */
const main = document.getElementById('main')!;
const nav = document.getElementById('nav')!;
const who = document.getElementById('who')!;
let stop: (() => void) | null = null;
let generation = 0;

function pageOf(hash: string): Page {
  const name = hash.replace(/^#\/?/, '');
  return PAGES.find((p) => p.path === name) ?? PAGES[0]!;
}

async function show(): Promise<void> {
  stop?.();
  stop = null;
  const page = pageOf(location.hash);
  const mine = ++generation;
  replace(nav, ...PAGES.map((p) => el('a', { href: `#/${p.path}`, class: p === page ? 'active' : undefined }, p.title)));
  const root = el('section', { id: `page-${page.path}` });
  replace(main, el('h1', {}, page.title), root);
  try {
    const cleanup = await page.render(root);
    if (mine !== generation) cleanup?.();
    else stop = cleanup ?? null;
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) return signInView('Your session has ended; sign in again.');
    replace(root, el('p', { class: 'error' }, err instanceof Error ? err.message : String(err)));
  }
}

function showWho(): void {
  const me = current();
  if (me === null) return replace(who);
  const out = el('button', { class: 'secondary', id: 'signout', type: 'button' }, 'Sign out');
  out.addEventListener('click', () => {
    void signOut().then(() => signInView(null));
  });
  replace(who, `${me.name} (${me.role})`, out);
}

async function signInView(note: string | null): Promise<void> {
  stop?.();
  stop = null;
  forget();
  replace(nav);
  replace(who);
  const token = el('input', { type: 'password', name: 'token', id: 'token', autocomplete: 'off', required: true, placeholder: 'admin token' });
  const error = el('p', { class: 'error', id: 'signin-error' }, note ?? '');
  const form = el('form', { id: 'signin' }, el('label', {}, 'Admin token', token), el('button', { type: 'submit', id: 'signin-submit' }, 'Sign in'), error);
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const value = token.value.trim();
    token.value = '';
    signIn(value)
      .then(() => started())
      .catch((err: unknown) => replace(error, err instanceof ApiError && err.status === 401 ? 'That token is not an admin token.' : err instanceof Error ? err.message : String(err)));
  });
  const card = el('div', { class: 'card signin' }, el('h1', {}, 'Sign in to the Sluice console'), form);
  replace(main, card);
  if (await oidcEnabled()) card.appendChild(el('p', {}, el('a', { href: '/console/login', id: 'signin-oidc' }, 'Sign in with single sign-on')));
}

function started(): void {
  showWho();
  void show();
}

window.addEventListener('hashchange', () => {
  if (current() !== null) void show();
});

// A token from earlier in this tab, or a cookie session from an OIDC sign-in.
signIn(storedToken())
  .then(() => started())
  .catch(() => signInView(null));
