/**
 * A reason the gateway cannot start that the operator fixes in its setup (a data folder in
 * use, a folder from an older version): the CLI prints its message as one line, without a
 * stack trace.
 */
export class StartupError extends Error {
  override readonly name = 'StartupError';
}
