import { HarmonyValidationError } from '../errors.js';

/** @internal */
export type JsonObject = Record<string, unknown>;

/** @internal */
export function isPlainObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** @internal */
export function expectObject(v: unknown, what: string): JsonObject {
  if (!isPlainObject(v)) {
    throw new HarmonyValidationError(`${what}: expected a JSON object, found ${describe(v)}.`);
  }
  return v;
}

/** `undefined` for a missing key or `null`; otherwise the string, or a validation error. @internal */
export function optString(o: JsonObject, key: string, what: string): string | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') {
    throw new HarmonyValidationError(`${what}.${key}: expected a string or null, found ${describe(v)}.`);
  }
  return v;
}

/** @internal */
export function reqString(o: JsonObject, key: string, what: string): string {
  const v = o[key];
  if (typeof v !== 'string') {
    throw new HarmonyValidationError(`${what}.${key}: expected a string, found ${describe(v)}.`);
  }
  return v;
}

/** A short description of a JSON value for error messages. @internal */
export function describe(v: unknown): string {
  if (v === undefined) return 'nothing (the key is missing)';
  if (v === null) return 'null';
  if (Array.isArray(v)) return `an array of ${v.length}`;
  if (typeof v === 'object') {
    const ctor = (v as object).constructor?.name;
    return ctor && ctor !== 'Object' ? `a ${ctor}` : 'an object';
  }
  if (typeof v === 'string') return `the string ${JSON.stringify(v.length > 40 ? v.slice(0, 40) + '…' : v)}`;
  return `${typeof v} ${String(v)}`;
}
