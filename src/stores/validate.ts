/** Argument checks shared by the stores, so every implementation rejects the same calls. */

export function checkKey(key: string): void {
  if (typeof key !== 'string' || key.length === 0) throw new TypeError('store key must be a non-empty string');
}

export function checkAcquire(key: string, limit: number, leaseMs: number): void {
  checkKey(key);
  if (!Number.isSafeInteger(limit) || limit < 0) throw new RangeError(`concurrency limit must be a non-negative integer, got ${String(limit)}`);
  if (!Number.isSafeInteger(leaseMs) || leaseMs <= 0) throw new RangeError(`leaseMs must be a positive integer, got ${String(leaseMs)}`);
}

export function checkMark(key: string, value: number, ttlMs: number): void {
  checkKey(key);
  if (!Number.isFinite(value)) throw new RangeError(`mark value must be a finite number, got ${String(value)}`);
  if (!Number.isSafeInteger(ttlMs) || ttlMs <= 0) throw new RangeError(`ttlMs must be a positive integer, got ${String(ttlMs)}`);
}

export function checkAdd(key: string, amount: number, ttlMs: number): void {
  checkKey(key);
  if (!Number.isFinite(amount)) throw new RangeError(`counter amount must be a finite number, got ${String(amount)}`);
  if (!Number.isSafeInteger(ttlMs) || ttlMs <= 0) throw new RangeError(`counter ttlMs must be a positive integer, got ${String(ttlMs)}`);
}
