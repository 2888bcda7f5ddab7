import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { applyPatch } from '../../src/apply-patch/apply.js';
import { FileSystemEditor } from '../../src/apply-patch/fs-editor.js';
import { PathEscapeError } from '../../src/errors.js';

const patch = (...lines: string[]) => ['*** Begin Patch', ...lines, '*** End Patch'].join('\n');

let base: string;
let root: string;
let outside: string;

/** Every file under `dir` with its bytes, to prove nothing changed. */
function tree(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const full = path.join(d, e.name);
      const rel = path.relative(dir, full);
      if (e.isSymbolicLink()) out[rel] = `-> symlink`;
      else if (e.isDirectory()) walk(full);
      else out[rel] = readFileSync(full, 'latin1');
    }
  };
  walk(dir);
  return out;
}

beforeEach(() => {
  base = mkdtempSync(path.join(tmpdir(), 'gptoss-fs-editor-'));
  root = path.join(base, 'root');
  outside = path.join(base, 'outside');
  mkdirSync(root);
  mkdirSync(outside);
  writeFileSync(path.join(outside, 'secret.txt'), 'secret\n');
  writeFileSync(path.join(root, 'a.txt'), 'alpha\nbeta\n');
});
afterEach(() => rmSync(base, { recursive: true, force: true }));

describe('FileSystemEditor: confinement', () => {
  const escapes: [string, () => string, string][] = [
    ['../ in an update', () => patch('*** Update File: ../outside/secret.txt', '-secret', '+pwned'), "'..' segment"],
    ['../ buried in an add', () => patch('*** Add File: sub/../../outside/new.txt', '+x'), "'..' segment"],
    ['absolute path', () => patch(`*** Update File: ${path.join(outside, 'secret.txt')}`, '-secret', '+pwned'), 'absolute path'],
    ['absolute add', () => patch('*** Add File: /tmp/gptoss-should-not-exist.txt', '+x'), 'absolute path'],
    ['windows drive path', () => patch('*** Add File: C:\\evil.txt', '+x'), 'absolute path'],
    ['delete through ..', () => patch('*** Delete File: ../outside/secret.txt'), "'..' segment"],
    ['move target outside', () => patch('*** Update File: a.txt', '*** Move to: ../outside/moved.txt', '-alpha', '+A'), "'..' segment"],
  ];
  test.each(escapes)('%s is rejected and nothing changes', async (_name, make, reason) => {
    const before = { root: tree(root), outside: tree(outside) };
    const err = await applyPatch(make(), new FileSystemEditor(root)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PathEscapeError);
    expect((err as Error).message).toContain(reason);
    expect({ root: tree(root), outside: tree(outside) }).toEqual(before);
    expect(existsSync('/tmp/gptoss-should-not-exist.txt')).toBe(false);
  });

  test('a symlinked directory leading outside cannot be written through', async () => {
    symlinkSync(outside, path.join(root, 'link'));
    const editor = new FileSystemEditor(root);
    for (const text of [
      patch('*** Add File: link/new.txt', '+x'),
      patch('*** Update File: link/secret.txt', '-secret', '+pwned'),
      patch('*** Delete File: link/secret.txt'),
    ]) {
      const err = await applyPatch(text, editor).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(PathEscapeError);
      expect((err as Error).message).toContain('symlink leads outside');
    }
    expect(tree(outside)).toEqual({ 'secret.txt': 'secret\n' });
  });

  test('a symlinked file leading outside cannot be read, updated or used as a move target', async () => {
    symlinkSync(path.join(outside, 'secret.txt'), path.join(root, 'secret-link.txt'));
    const editor = new FileSystemEditor(root);
    await expect(editor.read('secret-link.txt')).rejects.toThrow(PathEscapeError);
    const err = await applyPatch(
      patch('*** Update File: a.txt', '*** Move to: secret-link.txt', '-alpha', '+A'),
      editor,
    ).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PathEscapeError);
    expect(tree(outside)).toEqual({ 'secret.txt': 'secret\n' });
    expect(readFileSync(path.join(root, 'a.txt'), 'utf8')).toBe('alpha\nbeta\n');
  });

  test('a dangling symlink is refused (following it could create a file anywhere)', async () => {
    symlinkSync(path.join(outside, 'not-yet.txt'), path.join(root, 'dangling.txt'));
    const err = await applyPatch(patch('*** Add File: dangling.txt', '+x'), new FileSystemEditor(root)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PathEscapeError);
    expect(existsSync(path.join(outside, 'not-yet.txt'))).toBe(false);
  });

  test('symlinks that stay inside the root work', async () => {
    mkdirSync(path.join(root, 'real'));
    symlinkSync(path.join(root, 'real'), path.join(root, 'alias'));
    await applyPatch(patch('*** Add File: alias/x.txt', '+hi'), new FileSystemEditor(root));
    expect(readFileSync(path.join(root, 'real', 'x.txt'), 'utf8')).toBe('hi');
  });

  test('a symlinked root is fine', async () => {
    symlinkSync(root, path.join(base, 'root-link'));
    await applyPatch(patch('*** Update File: a.txt', '-alpha', '+ALPHA'), new FileSystemEditor(path.join(base, 'root-link')));
    expect(readFileSync(path.join(root, 'a.txt'), 'utf8')).toBe('ALPHA\nbeta\n');
  });
});

describe('FileSystemEditor: files', () => {
  test('add, update, move and delete on disk; parents are created; no temp files are left', async () => {
    writeFileSync(path.join(root, 'gone.txt'), 'bye\n');
    const result = await applyPatch(
      patch(
        '*** Add File: deep/er/new.txt',
        '+new',
        '*** Update File: a.txt',
        '*** Move to: moved/a.txt',
        ' alpha',
        '-beta',
        '+BETA',
        '*** Delete File: gone.txt',
      ),
      new FileSystemEditor(root),
    );
    expect(result.message).toBe('Done!');
    expect(tree(root)).toEqual({ 'deep/er/new.txt': 'new', 'moved/a.txt': 'alpha\nBETA\n' });
  });

  test('a missing file gives the seed\'s file-system error text', async () => {
    const err = await applyPatch(patch('*** Delete File: nope.txt'), new FileSystemEditor(root)).catch((e: unknown) => e);
    expect((err as Error).message).toBe("[Errno 2] No such file or directory: 'nope.txt'");
  });

  test('CRLF files match LF patches (universal newlines) and stay CRLF', async () => {
    writeFileSync(path.join(root, 'win.txt'), 'one\r\ntwo\r\nthree\r\n');
    await applyPatch(patch('*** Update File: win.txt', ' one', '-two', '+TWO'), new FileSystemEditor(root));
    expect(readFileSync(path.join(root, 'win.txt'), 'utf8')).toBe('one\r\nTWO\r\nthree\r\n');
  });

  test('the file mode survives an update', async () => {
    const script = path.join(root, 'run.sh');
    writeFileSync(script, '#!/bin/sh\necho hi\n');
    chmodSync(script, 0o755);
    await applyPatch(patch('*** Update File: run.sh', '-echo hi', '+echo hello'), new FileSystemEditor(root));
    expect(statSync(script).mode & 0o777).toBe(0o755);
  });

  test('a patch that fails to parse leaves every file untouched', async () => {
    writeFileSync(path.join(root, 'b.txt'), 'b\n');
    const before = tree(root);
    const err = await applyPatch(
      patch(
        '*** Update File: a.txt',
        '-alpha',
        '+A',
        '*** Delete File: b.txt',
        '*** Add File: c.txt',
        '+c',
        '*** Update File: b.txt',
        '-no such line',
        '+x',
      ),
      new FileSystemEditor(root),
    ).catch((e: unknown) => e);
    expect((err as Error).message).toBe('Duplicate update for file: b.txt');
    expect(tree(root)).toEqual(before);
  });

  test('a commit that fails half-way is rolled back byte for byte', async () => {
    writeFileSync(path.join(root, 'b.txt'), 'b\r\nmixed\n');
    writeFileSync(path.join(root, 'blocker'), 'a plain file where a directory is needed');
    const before = tree(root);
    const err = await applyPatch(
      patch(
        '*** Update File: a.txt',
        '-alpha',
        '+A',
        '*** Delete File: b.txt',
        '*** Add File: fresh.txt',
        '+fresh',
        '*** Add File: blocker/x.txt', // mkdir fails: ENOTDIR/EEXIST, after three steps were committed
        '+x',
      ),
      new FileSystemEditor(root),
    ).catch((e: unknown) => e);
    expect((err as NodeJS.ErrnoException).code).toMatch(/^(EEXIST|ENOTDIR)$/); // failed in the commit, not before
    expect(tree(root)).toEqual(before);
  });
});
