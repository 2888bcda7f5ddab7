/** Ids of the special tokens that harmony gives a name (SPEC §3.2). */
export const SpecialTokens = {
  STARTOFTEXT: 199998,
  ENDOFTEXT: 199999,
  RETURN: 200002,
  CONSTRAIN: 200003,
  CHANNEL: 200005,
  START: 200006,
  END: 200007,
  MESSAGE: 200008,
  CALL: 200012,
} as const;

/** First special-token id; ids below it are o200k_base BPE ranks. */
export const FIRST_SPECIAL_ID = 199998;
/**
 * Last special-token id, inclusive. Harmony registers `<|reserved_201088|>`, one past the last embedding row,
 * so it decodes even though the model can never produce it.
 */
export const LAST_SPECIAL_ID = 201088;

const NAMED: Readonly<Record<number, string>> = {
  199998: '<|startoftext|>',
  199999: '<|endoftext|>',
  200002: '<|return|>',
  200003: '<|constrain|>',
  200005: '<|channel|>',
  200006: '<|start|>',
  200007: '<|end|>',
  200008: '<|message|>',
  200012: '<|call|>',
};

/** The text of special token `id`, e.g. `<|start|>` or `<|reserved_200014|>`; `undefined` if `id` is not special. */
export function specialTokenText(id: number): string | undefined {
  if (!Number.isInteger(id) || id < FIRST_SPECIAL_ID || id > LAST_SPECIAL_ID) return undefined;
  return NAMED[id] ?? `<|reserved_${id}|>`;
}

let byText: Map<string, number> | undefined;

/** Map from special-token text to id, built once. */
export function specialTokenIds(): ReadonlyMap<string, number> {
  if (byText === undefined) {
    const m = new Map<string, number>();
    for (let id = FIRST_SPECIAL_ID; id <= LAST_SPECIAL_ID; id++) m.set(specialTokenText(id)!, id);
    byText = m;
  }
  return byText;
}
