import { InvalidArgumentError as CommanderArgError } from 'commander';

export function parseIntArg(name: string, min = 0) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min) throw new CommanderArgError(`${name} must be an integer ≥ ${min}, got "${v}"`);
    return n;
  };
}

export function parseFloatArg(name: string, min: number, max: number) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isFinite(n) || n < min || n > max) throw new CommanderArgError(`${name} must be a number in [${min}, ${max}], got "${v}"`);
    return n;
  };
}

/** "1,2, 3" → [1, 2, 3]; anything else is an error naming the bad item. */
export function parseTokenList(v: string): number[] {
  const parts = v.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
  if (parts.length === 0) throw new CommanderArgError('--tokens needs at least one token id, e.g. --tokens 1,2,3');
  return parts.map((p) => {
    const n = Number(p);
    if (!/^\d+$/.test(p) || !Number.isSafeInteger(n)) throw new CommanderArgError(`--tokens: "${p}" is not a token id (non-negative integer)`);
    return n;
  });
}

/** A TCP port, 0..65535 (0: the system picks a free one). */
export function parsePort(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new CommanderArgError(`--port must be an integer in 0..65535, got "${v}"`);
  return n;
}
