/** One page of the console: its hash path, title, and how it fills its section. */
export interface Page {
  readonly path: string;
  readonly title: string;
  /** Fills `root`; may return what stops its refreshing when another page is shown. */
  render(root: HTMLElement): Promise<(() => void) | void>;
}

/** Runs `tick` now and every `ms` until stopped; a tick still running is not overlapped. */
export function every(ms: number, tick: () => Promise<void>): () => void {
  let stopped = false;
  let timer: number | undefined;
  const run = async (): Promise<void> => {
    try {
      await tick();
    } finally {
      if (!stopped) timer = window.setTimeout(() => void run(), ms);
    }
  };
  void run();
  return () => {
    stopped = true;
    window.clearTimeout(timer);
  };
}
