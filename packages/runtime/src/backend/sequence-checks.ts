import { InvalidArgumentError } from '../errors.js';
import type { Sequence } from './types.js';

// The argument checks every backend's LoadedModel and Sequence make, kept in one place so that their messages agree.

/** Capacity of a new sequence: the one asked for, at most the model's context. */
export function sequenceCapacity(requested: number | undefined, maxContext: number): number {
  return Math.min(requested ?? maxContext, maxContext);
}

/** `owned` holds the live sequences of one model; anything else (another model's, a disposed one) is refused. */
export function ownedSequence<S extends Sequence & { readonly disposed: boolean }>(s: Sequence, owned: ReadonlySet<S>): S {
  if (!owned.has(s as S) || (s as S).disposed) {
    throw new InvalidArgumentError('this sequence was not created by this model (or was disposed)');
  }
  return s as S;
}

/** `Sequence.truncate(length)` keeps a prefix: 0 ≤ length ≤ the current length. */
export function checkTruncate(length: number, current: number): void {
  if (!Number.isInteger(length) || length < 0 || length > current) {
    throw new InvalidArgumentError(`truncate(${length}): expected an integer in [0, ${current}]`);
  }
}

/** A prefill appends at least one token and must fit in the sequence. */
export function checkPrefill(s: Sequence, tokens: number): void {
  if (tokens === 0) throw new InvalidArgumentError('prefill needs at least one token');
  if (s.length + tokens > s.capacity) {
    throw new InvalidArgumentError(`sequence would hold ${s.length + tokens} positions, capacity is ${s.capacity}`);
  }
}
