/**
 * Byte-pair encodes one pre-tokenised piece (UTF-8 as a binary string) and appends the ranks to `out`.
 * Same merge order as tiktoken: repeatedly merge the adjacent pair whose concatenation has the lowest rank,
 * leftmost first on ties, until no adjacent pair is a token.
 */
export function bytePairEncode(piece: string, ranks: Map<string, number>, out: number[]): void {
  const n = piece.length;
  if (n === 1) {
    out.push(ranks.get(piece)!);
    return;
  }
  // start[i] is where part i begins (start[parts] === n); pair[i] is the rank of part i + part i+1.
  const start = new Array<number>(n + 1);
  const pair = new Array<number>(n);
  for (let i = 0; i <= n; i++) start[i] = i;
  for (let i = 0; i < n - 1; i++) pair[i] = ranks.get(piece.slice(i, i + 2)) ?? Infinity;
  let parts = n;
  for (;;) {
    let best = Infinity;
    let at = -1;
    for (let i = 0; i < parts - 1; i++) {
      if (pair[i] < best) {
        best = pair[i];
        at = i;
      }
    }
    if (at < 0) break;
    // Merge parts `at` and `at + 1`.
    for (let i = at + 1; i < parts; i++) start[i] = start[i + 1];
    for (let i = at; i < parts - 2; i++) pair[i] = pair[i + 1];
    parts--;
    if (at < parts - 1) pair[at] = ranks.get(piece.slice(start[at], start[at + 2])) ?? Infinity;
    if (at > 0) pair[at - 1] = ranks.get(piece.slice(start[at - 1], start[at + 1])) ?? Infinity;
  }
  for (let i = 0; i < parts; i++) out.push(ranks.get(piece.slice(start[i], start[i + 1]))!);
}
