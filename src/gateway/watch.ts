import { watch, type FSWatcher } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import type { Logger } from 'pino';

/**
 * Calls `onChange` when the config file changes, once the changes have settled for
 * `debounceMs` (`reload.watch`, issue 20). The folder is watched, not the file: editors and
 * Kubernetes ConfigMaps replace a file by renaming another over it, which a watch on the old
 * file would miss. Returns a function that stops watching.
 */
export function watchConfig(file: string, debounceMs: number, onChange: () => void, logger: Logger): () => void {
  const path = resolve(file);
  const name = basename(path);
  let timer: NodeJS.Timeout | null = null;
  let watcher: FSWatcher;
  try {
    watcher = watch(dirname(path), { persistent: false }, (_event, changed) => {
      // Some platforms do not name the file; then any change in the folder counts.
      if (changed !== null && changed !== name && !isConfigMapSwap(changed)) return;
      if (timer !== null) clearTimeout(timer);
      timer = setTimeout(() => {
        timer = null;
        onChange();
      }, debounceMs);
      timer.unref();
    });
  } catch (err) {
    logger.error({ err, file: path }, 'cannot watch the config file; reload with SIGHUP or POST /admin/config/reload');
    return () => {};
  }
  watcher.on('error', (err) => logger.error({ err, file: path }, 'watching the config file failed; reload with SIGHUP or POST /admin/config/reload'));
  return () => {
    if (timer !== null) clearTimeout(timer);
    watcher.close();
  };
}

/** A Kubernetes ConfigMap volume updates by swapping its `..data` symlink, not the file's name. */
function isConfigMapSwap(changed: string): boolean {
  return changed === '..data' || changed.startsWith('..20');
}
