/**
 * A mistake in what the user asked for (a bad flag, stage, SLO or target). The CLI prints its
 * message and exits 2 without sending anything; any other error is a bug or a run failure.
 */
export class BenchUsageError extends Error {
  override readonly name = 'BenchUsageError';
}
