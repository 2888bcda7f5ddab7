/** A large page for benchmarks: 5,000 paragraphs with links, emphasis and long lines (about 0.8 MB). */
export function browserBenchPage(): string {
  const paras = Array.from(
    { length: 5000 },
    (_, i) =>
      `<p>Paragraph ${i} with <b>bold</b> and <a href="https://x${i % 50}.example/a${i}">a link</a> and some more ` +
      `words to make it longer than eighty characters for wrapping.</p>`,
  ).join('\n');
  return `<html><head><title>Big</title></head><body>${paras}</body></html>`;
}
