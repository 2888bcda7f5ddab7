import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { PyodideBackend } from '../../src/python/pyodide-backend.js';

// One interpreter per mode, shared by all tests: Pyodide's cold start is a few seconds.
// Generous enough for a loaded 2-core CI box; the runaway cases still prove the limit (they would never end).
const TIMEOUT_MS = 4000;
const GRACE_MS = 500;
const stateless = new PyodideBackend({ timeoutMs: TIMEOUT_MS, interruptGraceMs: GRACE_MS, memoryLimitMb: 256 });

beforeAll(() => stateless.warmUp());
afterAll(() => stateless.close());

async function ok(code: string): Promise<string> {
  const r = await stateless.execute(code);
  expect(r.status, r.output).toBe('ok');
  return r.output;
}

describe('pyodide sandbox: basics', () => {
  test('runs code and returns stdout', async () => {
    expect(await ok('print(6 * 7)')).toBe('42\n');
  });

  test('stderr and tracebacks are part of the output, in order', async () => {
    const out = await ok('import sys\nprint("before")\nsys.stdout.flush()\n1/0');
    expect(out).toMatch(/^before\nTraceback \(most recent call last\):\n {2}File "<stdin>", line 4, in <module>\n/);
    expect(out).toContain('ZeroDivisionError: division by zero');
    expect(out).not.toContain('pyodide');
  });

  test('stateless: a bare expression prints nothing, like a script', async () => {
    expect(await ok('1 + 1')).toBe('');
  });

  test('stateless: variables, files and imported modules do not survive a call', async () => {
    await ok('x = 1\nopen("/tmp/kept.txt", "w").write("hi")\nopen("here.txt", "w").write("hi")\nimport fractions\nfractions.marker = 1');
    const out = await ok(
      'import os, fractions\n' +
        'print("x" in globals(), os.path.exists("/tmp/kept.txt"), os.path.exists("here.txt"), hasattr(fractions, "marker"))',
    );
    expect(out).toBe('False False False False\n');
  });

  test('there is no stdin (the host process\'s keyboard is never read)', async () => {
    expect(await ok('input()')).toContain('EOFError: EOF when reading a line');
  });

  test('no threads, no processes', async () => {
    expect(await ok('import threading\nthreading.Thread(target=print).start()')).toContain("RuntimeError: can't start new thread");
    expect(await ok('import subprocess\nsubprocess.run(["ls"])')).toContain('does not support processes');
  });

  test('stateless: monkeypatching shared modules does not leak into the next call', async () => {
    await ok(
      'import builtins, json, sys, os, warnings\n' +
        'builtins.print = None\njson.dumps = None\nbuiltins.extra = 1\nsys.setrecursionlimit(60)\n' +
        'sys.path.append("/evil")\nos.environ["X"] = "1"\nwarnings.simplefilter("ignore")\ndel sys.modules["json"]',
    );
    expect(
      await ok(
        'import builtins, json, sys, os\n' +
          'print(json.dumps([1]), hasattr(builtins, "extra"), sys.getrecursionlimit() > 60, "/evil" in sys.path, "X" in os.environ)',
      ),
    ).toBe('[1] False True False False\n');
  });

  test('sys.exit is quiet for 0 and prints its message otherwise, like python', async () => {
    expect(await ok('import sys\nprint("a")\nsys.exit(0)')).toBe('a\n');
    expect(await ok('import sys\nsys.exit("bye")')).toBe('bye\n');
  });

  test('an idle sandbox does not keep the process alive; a running call does', async () => {
    const ports = () => process.getActiveResourcesInfo().filter((r) => r === 'MessagePort').length;
    const idle = ports();
    const call = stateless.execute('import time\ntime.sleep(0.3)');
    await new Promise((r) => setTimeout(r, 100));
    expect(ports()).toBe(idle + 1);
    await call;
    expect(ports()).toBe(idle);
  });

  test('output is capped (default 20 000 characters) and the rest counted', async () => {
    const r = await stateless.execute('for i in range(100000): print(i)');
    expect(r.status).toBe('ok');
    expect(r.output.length).toBe(20_000);
    expect(r.output.startsWith('0\n1\n2\n')).toBe(true);
    expect(r.droppedChars).toBe(588_890 - 20_000);
  });
});

describe('pyodide sandbox: no host filesystem', () => {
  test('/etc/passwd cannot be read', async () => {
    const out = await ok("print(open('/etc/passwd').read())");
    expect(out).toContain("FileNotFoundError: [Errno 44] No such file or directory: '/etc/passwd'");
  });

  test('the host tree is not mounted anywhere', async () => {
    const out = await ok(
      'import os\nfound = [d for d, _, files in os.walk("/") if "package.json" in files or "passwd" in files]\n' +
        'print(sorted(os.listdir("/")), found)',
    );
    expect(out).toBe("['dev', 'home', 'lib', 'proc', 'tmp'] []\n");
    expect(await ok(`open(${JSON.stringify(process.cwd() + '/package.json')})`)).toContain('FileNotFoundError');
  });

  test('the host environment is not visible', async () => {
    process.env.GPTOSS_SECRET_PROBE = 'leak';
    const out = await ok('import os\nprint(sorted(k for k in os.environ if "GPTOSS" in k or k == "PATH" and os.environ[k] != "/"))');
    expect(out).toBe('[]\n');
  });
});

describe('pyodide sandbox: no network', () => {
  let port = 0;
  let connections = 0;
  const server = createServer((s) => {
    connections++;
    s.destroy();
  });
  beforeAll(async () => {
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  test('socket.connect fails and nothing reaches a listening local port', async () => {
    const out = await ok(`import socket\ns = socket.socket()\ns.connect(("127.0.0.1", ${port}))`);
    expect(out).toContain('OSError: [Errno');
    expect(out).toContain('Network is unreachable');
    // The raw _socket module goes through emscripten's socket layer, which the sandbox has cut from `ws`.
    const raw = await ok(`import _socket, time\ns = _socket.socket()\ns.connect(("127.0.0.1", ${port}))\nprint("connected")`);
    expect(raw).toContain('OSError');
    expect(raw).not.toContain('connected');
    const http = await ok(`import urllib.request\nurllib.request.urlopen("http://127.0.0.1:${port}/")`);
    expect(http).toMatch(/URLError|OSError/);
    await new Promise((r) => setTimeout(r, 200));
    expect(connections).toBe(0);
  });

  test('no bridge to JavaScript: js, pyodide_js, run_js, JsProxy constructors', async () => {
    expect(await ok('import js')).toContain("No module named 'js'");
    expect(await ok('import pyodide_js')).toContain("No module named 'pyodide_js'");
    expect(await ok('import ctypes')).toContain("No module named 'ctypes'");
    expect(await ok('import sys\nsys.meta_path.pop(0)\nimport pyodide_js')).toContain("No module named 'pyodide_js'");
    expect(await ok('from pyodide.code import run_js\nrun_js("1")')).toContain('Error');
    const escape = await ok(
      'from pyodide.ffi import to_js\n' +
        'f = to_js({}).constructor.constructor\n' +
        'print("ESCAPED:", f("return typeof process")())',
    );
    expect(escape).not.toMatch(/^ESCAPED:/m);
    expect(escape).toMatch(/Error/);
  });

  test('no JS object reachable from Python exposes the Pyodide API, FS or process', async () => {
    const out = await ok(
      'import gc\nfrom pyodide.ffi import JsProxy\n' +
        'keys = ("FS", "_module", "loadPackage", "mountNodeFS", "process", "require", "_api", "fetch")\n' +
        'print([k for o in gc.get_objects() if isinstance(o, JsProxy) for k in keys if hasattr(o, k)])',
    );
    expect(out).toBe('[]\n');
  });
});

describe('pyodide sandbox: limits', () => {
  test('`while True: pass` stops within the time limit and the next call works', async () => {
    const r = await stateless.execute('while True: pass');
    expect(r.status).toBe('timeout');
    expect(r.elapsedMs).toBeLessThan(TIMEOUT_MS + GRACE_MS + 1000);
    expect(r.stateReset).toBe(false); // SIGINT was enough: the interpreter survived
    expect(await ok('print("alive")')).toBe('alive\n');
  });

  test('a loop that swallows KeyboardInterrupt is killed; a fresh sandbox takes over', async () => {
    const r = await stateless.execute('while True:\n    try:\n        while True: pass\n    except BaseException:\n        pass');
    expect(r.status).toBe('timeout');
    expect(r.stateReset).toBe(true);
    expect(r.elapsedMs).toBeLessThan(TIMEOUT_MS + GRACE_MS + 1000);
    expect(await ok('print("alive again")')).toBe('alive again\n');
  });

  test('a fatal interpreter error is reported and a fresh sandbox takes over', async () => {
    const r = await stateless.execute('import _pyodide_core\n_pyodide_core.trigger_fatal_error()');
    expect(r.status).toBe('crashed');
    expect(r.stateReset).toBe(true);
    expect(await ok('print("fresh")')).toBe('fresh\n');
  });

  test('allocating 8 GB fails with an error and the next call works', async () => {
    const r1 = await stateless.execute('b = bytearray(8 * 1024**3)');
    expect(r1.output).toMatch(/OverflowError|MemoryError/);
    const r2 = await stateless.execute('x = [0] * (8 * 1024**3 // 8)');
    expect(r2.status).toBe('memory');
    expect(r2.output).toContain('MemoryError');
    const r3 = await stateless.execute('chunks = []\nwhile True: chunks.append(bytearray(8 * 1024 * 1024))');
    expect(r3.status).toBe('memory');
    expect(r3.output).toContain('MemoryError');
    expect(r3.elapsedMs).toBeLessThan(TIMEOUT_MS);
    expect(await ok('print(sum(range(10)))')).toBe('45\n');
  });

  test('an AbortSignal stops a call', async () => {
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 200);
    const r = await stateless.execute('while True: pass', { signal: ac.signal });
    expect(r.status).toBe('aborted');
    expect(r.elapsedMs).toBeLessThan(TIMEOUT_MS - 1000);
  });
});

describe('pyodide sandbox: stateful mode', () => {
  const stateful = new PyodideBackend({ stateful: true, timeoutMs: TIMEOUT_MS, interruptGraceMs: GRACE_MS });
  beforeAll(() => stateful.warmUp());
  afterAll(() => stateful.close());

  test('keeps variables, shows the last expression like Jupyter', async () => {
    expect((await stateful.execute('x = 20\ny = x + 1')).output).toBe('');
    expect((await stateful.execute('x * 2 + y - 19')).output).toBe('42\n');
    expect((await stateful.execute('x;')).output).toBe('');
    expect((await stateful.execute('"text"')).output).toBe("'text'\n");
  });

  test('an interrupted runaway loop keeps the state', async () => {
    await stateful.execute('kept = "yes"');
    const r = await stateful.execute('while True: pass');
    expect(r.status).toBe('timeout');
    expect(r.stateReset).toBe(false);
    expect((await stateful.execute('kept')).output).toBe("'yes'\n");
  });

  test('a killed sandbox loses the state and says so', async () => {
    await stateful.execute('lost = 1');
    const r = await stateful.execute('while True:\n    try:\n        while True: pass\n    except BaseException:\n        pass');
    expect(r.stateReset).toBe(true);
    expect((await stateful.execute('lost')).output).toContain("NameError: name 'lost' is not defined");
  });

  test('reset() forgets variables', async () => {
    await stateful.execute('z = 3');
    await stateful.reset();
    expect((await stateful.execute('z')).output).toContain('NameError');
  });
});
