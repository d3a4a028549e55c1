/** What a scrubbed secret is replaced with. */
export const REDACTED = '[redacted]';

/** Configured secrets shorter than this are not scrubbed as text: they would match ordinary words. */
export const MIN_SECRET_LENGTH = 8;

/**
 * Credential shapes scrubbed whether or not the config knows them (issue 15): a provider may echo
 * a key Sluice never had (another of the operator's keys, a client's), so shapes are matched too.
 * Groups 1 and 2 keep a prefix ("Bearer ", "api key provided: ") in front of the replacement.
 */
const SHAPES = [
  // OpenAI (sk-, sk-proj-), Anthropic (sk-ant-), Sluice's own (sk-sluice-) keys.
  String.raw`\bsk-[A-Za-z0-9_-]{12,}`,
  // Google API keys.
  String.raw`\bAIza[A-Za-z0-9_-]{30,}`,
  // JWTs: base64url JSON header, payload, signature.
  String.raw`\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*`,
  // Authorization schemes. Tokens here and below do not end in ".", which ends the sentence.
  String.raw`(\b(?:Bearer|Basic)\s+)[A-Za-z0-9._~+/-]{7,}[A-Za-z0-9_~+/-]=*`,
  // A long opaque token right after a word that names a credential ("invalid key: …", "api_key=…").
  String.raw`(\b(?:api[_-]?key|key|token|secret|password)\b["']?\s{0,2}(?:[:=]|provided:?|is)?\s{0,2}["']?)[A-Za-z0-9._~+/-]{19,}[A-Za-z0-9_~+/-]`,
];

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * Removes credentials from text a client or a log can see: every secret the config holds, as
 * written and as JSON escapes it, and the credential shapes above. Built once per compiled
 * config; `scrub` runs one precompiled regular expression, and returns its argument itself
 * when nothing matched, so callers can tell by identity that nothing changed.
 *
 * The secrets are held only inside the compiled pattern; the instance prints as nothing.
 */
export class Redactor {
  readonly #pattern: RegExp;
  readonly #replace: (match: string, bearer: string | undefined, named: string | undefined) => string;

  constructor(secrets: Iterable<string>) {
    const literals = new Set<string>();
    for (const s of secrets) {
      if (s.length < MIN_SECRET_LENGTH) continue;
      literals.add(s);
      // In a JSON log line or error body, `"` and `\` in a secret appear escaped.
      const json = JSON.stringify(s).slice(1, -1);
      if (json !== s) literals.add(json);
    }
    // Longest first, so a secret that contains another is replaced whole.
    const known = [...literals].sort((a, b) => b.length - a.length).map(escapeRegExp);
    // Secrets inside non-capturing groups, so the shape groups keep their numbers 1 and 2.
    const alternatives = [...known.map((k) => `(?:${k})`), ...SHAPES];
    this.#pattern = new RegExp(alternatives.join('|'), 'gi');
    this.#replace = (match, bearer, named) => {
      if (bearer !== undefined) return bearer + REDACTED;
      if (named !== undefined) {
        // "key:<uuid>" is a principal or record id in Sluice's own logs, not a credential.
        return UUID.test(match.slice(named.length)) ? match : named + REDACTED;
      }
      return REDACTED;
    };
  }

  /** `text` without credentials; the same string when it held none. */
  scrub(text: string): string {
    this.#pattern.lastIndex = 0;
    if (!this.#pattern.test(text)) return text;
    this.#pattern.lastIndex = 0;
    return text.replace(this.#pattern, this.#replace);
  }

  toJSON(): string {
    return 'Redactor';
  }
}
