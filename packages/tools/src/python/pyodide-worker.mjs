// Worker thread that hosts one Pyodide interpreter for the python tool. Plain JS (not TS) so that `new Worker()`
// can start it from both `src/` (tests) and `dist/` (published) without a loader.
//
// The sandbox is layered; each layer holds even if the one above it is bypassed:
//   1. Python sees no bridge to JS: the `pyodide_js` and `js` modules are unregistered and their import blocked
//      (`js` only ever held timers), so `pyodide.code.run_js`, `pyodide.http` and friends find nothing.
//   2. JS code generation is disabled in this worker's realm (the parent starts the worker with V8's
//      --disallow-code-generation-from-strings in force, and `eval`/`Function` constructors are replaced here),
//      so a stray JsProxy cannot be turned into arbitrary JS through `.constructor.constructor`.
//   3. After Pyodide has loaded, `require` of any module not yet loaded fails (emscripten's socket layer reaches
//      the network through `require("ws")`), and NODEFS is removed, so the host filesystem cannot be mounted.
//   4. WASM memory growth beyond the limit fails (Python sees MemoryError); V8's resourceLimits cap the JS heap.
//   5. The parent enforces the time limit: first SIGINT through the interrupt buffer, then `terminate()`.
import { Module as NodeModule } from 'node:module';
import { parentPort, workerData } from 'node:worker_threads';
import { loadPyodide } from 'pyodide';

const { memoryLimitBytes, maxOutputChars, interruptBuffer, stateful, snapshot, makeSnapshot } = workerData;

const nativeGrow = WebAssembly.Memory.prototype.grow;
WebAssembly.Memory.prototype.grow = function grow(deltaPages) {
  if (this.buffer.byteLength + deltaPages * 65536 > memoryLimitBytes) {
    throw new RangeError('gptoss python sandbox: memory limit reached');
  }
  return nativeGrow.call(this, deltaPages);
};

// Records what Pyodide `require`s while loading; afterwards nothing else may be loaded.
const loadedAtStartup = new Set();
let enforceRequireAllowlist = false;
const nativeLoad = NodeModule._load;
NodeModule._load = function load(request, ...rest) {
  const name = String(request).replace(/^node:/, '');
  if (!enforceRequireAllowlist) loadedAtStartup.add(name);
  else if (!loadedAtStartup.has(name) || name === 'ws') {
    throw new Error(`gptoss python sandbox: loading "${request}" is not allowed`);
  }
  return nativeLoad.call(this, request, ...rest);
};

// The worker's console would print straight to the host's stdout/stderr; Pyodide's JS-side messages (fatal errors)
// go to the call's output instead.
for (const name of ['log', 'info', 'warn', 'error', 'debug', 'trace']) {
  console[name] = (...args) => collect(`${args.map(String).join(' ')}\n`);
}

// Pyodide loads from the package's own files; nothing in this worker may use the network, before or after load.
for (const name of ['fetch', 'WebSocket', 'EventSource', 'XMLHttpRequest']) {
  Object.defineProperty(globalThis, name, {
    value: function offline() {
      throw new Error(`gptoss python sandbox: ${name} is disabled (no network)`);
    },
    writable: false,
    configurable: false,
  });
}

let chunks = [];
let kept = 0;
let dropped = 0;
function collect(text) {
  if (text.length === 0) return;
  const room = maxOutputChars - kept;
  if (room <= 0) {
    dropped += text.length;
    return;
  }
  const part = text.length > room ? text.slice(0, room) : text;
  chunks.push(part);
  kept += part.length;
  dropped += text.length - part.length;
}
function writer() {
  const decoder = new TextDecoder('utf-8');
  return {
    isatty: false,
    write(buffer) {
      collect(decoder.decode(buffer, { stream: true }));
      return buffer.length;
    },
  };
}

const t0 = performance.now();
const options = {
  // The `js` module seen by Python while Pyodide starts: timers only (its event loop looks them up), no `process`,
  // `fetch` or `require`. It is unregistered afterwards.
  jsglobals: Object.freeze({ setTimeout, clearTimeout, setInterval, clearInterval }),
  env: { HOME: '/home/pyodide' },
  stdout: (s) => collect(`${s}\n`),
  stderr: (s) => collect(`${s}\n`),
};

// A memory snapshot of a freshly booted interpreter starts the next workers ~5-10x faster. The first worker of a
// process makes it right after booting, before any setup or user code, and every worker (this one included) boots
// from it, so all sandboxes start from the same state. Any failure falls back to a normal boot.
async function boot() {
  if (snapshot) {
    try {
      return await loadPyodide({ ...options, _loadSnapshot: snapshot });
    } catch {
      return loadPyodide(options);
    }
  }
  if (makeSnapshot) {
    let made;
    try {
      const maker = await loadPyodide({ ...options, _makeSnapshot: true });
      made = maker.makeMemorySnapshot();
    } catch {
      parentPort.postMessage({ type: 'snapshot', bytes: undefined });
      return loadPyodide(options);
    }
    parentPort.postMessage({ type: 'snapshot', bytes: made });
    try {
      return await loadPyodide({ ...options, _loadSnapshot: made });
    } catch {
      return loadPyodide(options);
    }
  }
  return loadPyodide(options);
}
const py = await boot();
// No stdin: `input()` raises EOFError, as for a script run with stdin closed. (Pyodide's default would read the
// host process's fd 0 — a terminal chat's keyboard.)
py.setStdin({ stdin: () => null });
py.setStdout(writer());
py.setStderr(writer());
py.setInterruptBuffer(interruptBuffer);

// Layer 1: Python-side lockdown and the runner. Keeps references to what it needs before removing the bridges.
py.runPython(String.raw`
def __gptoss_setup():
    import ast, builtins, errno, linecache, os, shutil, socket, sys, traceback, warnings

    def _no_network(*_args, **_kwargs):
        raise OSError(errno.ENETUNREACH, "Network is unreachable (the python sandbox has no network access)")

    for _name in ("connect", "connect_ex", "bind", "sendto", "sendmsg", "listen"):
        setattr(socket.socket, _name, _no_network)
    socket.getaddrinfo = _no_network
    socket.gethostbyname = _no_network
    socket.create_connection = _no_network

    # The JS bridges. Only the modules themselves go: Pyodide's own Python modules stay loaded (they hold no
    # reference to the API object once it is unregistered, and reloading them would break Pyodide internals).
    # ctypes can read and write the interpreter's WASM memory; blocking the import is only a speed bump (the JS
    # side does not rely on it), but it keeps the easy path to forging Pyodide internals closed.
    _blocked = {"js", "pyodide_js", "micropip", "ctypes", "_ctypes"}
    for _name in list(sys.modules):
        if _name.split(".")[0] in _blocked:
            del sys.modules[_name]

    class _BlockJsBridge:
        @staticmethod
        def find_spec(name, path=None, target=None):
            if name.split(".")[0] in _blocked:
                raise ModuleNotFoundError(f"No module named '{name}' (not available in the python sandbox)", name=name)
            return None

    sys.meta_path.insert(0, _BlockJsBridge)
    os.environ.pop("_", None)

    _filename = "<stdin>"
    _home = os.path.expanduser("~")
    _clean_modules = set(sys.modules)
    _stdout, _stderr = sys.stdout, sys.stderr

    # What a stateless call may have changed in the interpreter it shares with the next call: attributes of modules
    # loaded at start-up (builtins.print = None, json.dumps = ...), and a few lists and settings kept by value.
    _pristine = [(m, dict(vars(m))) for m in sys.modules.values() if m is not None and hasattr(m, "__dict__")]
    _pristine_modules = dict(sys.modules)
    _pristine_lists = [(lst, list(lst)) for lst in (sys.path, sys.meta_path, sys.path_hooks, warnings.filters)]
    _pristine_environ = dict(os.environ)
    _pristine_recursion = sys.getrecursionlimit()
    _missing = object()

    def _restore_interpreter():
        for name in set(sys.modules) - _clean_modules:
            sys.modules.pop(name, None)
        for name, module in _pristine_modules.items():
            if sys.modules.get(name) is not module:
                sys.modules[name] = module
        for module, saved in _pristine:
            current = vars(module)
            # dict equality is a C loop that short-circuits on identical values: cheap when nothing changed.
            if current != saved:
                for key in [k for k in current if k not in saved]:
                    del current[key]
                for key, value in saved.items():
                    if current.get(key, _missing) is not value:
                        current[key] = value
        for lst, saved in _pristine_lists:
            if lst != saved:
                lst[:] = saved
        if os.environ != _pristine_environ:
            os.environ.clear()
            os.environ.update(_pristine_environ)
        sys.setrecursionlimit(_pristine_recursion)

    def _fresh_namespace():
        return {"__name__": "__main__", "__builtins__": builtins}

    def _print_exception(exc):
        tb = exc.__traceback__
        while tb is not None and tb.tb_frame.f_code.co_filename != _filename:
            tb = tb.tb_next
        try:
            text = "".join(traceback.format_exception(type(exc), exc, tb))
        except BaseException:
            # Formatting can fail (source lookup of a module the user removed, a broken __str__): still say what
            # was raised.
            try:
                text = "".join(traceback.format_exception_only(type(exc), exc))
            except BaseException:
                text = f"{type(exc).__name__}\n"
        _stderr.write(text)

    def _wipe(path):
        for entry in os.listdir(path):
            full = os.path.join(path, entry)
            if os.path.isdir(full) and not os.path.islink(full):
                shutil.rmtree(full, ignore_errors=True)
            else:
                try:
                    os.remove(full)
                except OSError:
                    pass

    state = {"ns": _fresh_namespace()}

    def _execute(code, ns, show_last):
        tree = ast.parse(code, _filename, "exec")
        last = None
        if show_last and tree.body and isinstance(tree.body[-1], ast.Expr) and not code.rstrip().endswith(";"):
            last = ast.Expression(tree.body.pop().value)
        exec(compile(tree, _filename, "exec"), ns)
        if last is not None:
            value = eval(compile(last, _filename, "eval"), ns)
            if value is not None:
                print(repr(value), file=_stdout)

    def run(code, stateful):
        """Runs one call; returns 'ok', 'interrupted' or 'memory'."""
        status = "ok"
        ns = state["ns"] if stateful else _fresh_namespace()
        linecache.cache[_filename] = (len(code), None, code.splitlines(True), _filename)
        # User code may have replaced them; output must still reach the collector.
        sys.stdout, sys.stderr = _stdout, _stderr
        try:
            _execute(code, ns, stateful)
        except SystemExit as exc:
            if exc.code is not None and exc.code != 0:
                print(exc.code, file=_stderr)
        except KeyboardInterrupt as exc:
            # Usually the parent's SIGINT at the time limit; the traceback shows where the code was.
            status = "interrupted"
            _print_exception(exc)
        except MemoryError as exc:
            status = "memory"
            _print_exception(exc)
        except BaseException as exc:
            _print_exception(exc)
        finally:
            for stream in (_stdout, _stderr, sys.stdout, sys.stderr):
                try:
                    stream.flush()
                except BaseException:
                    pass
            if not stateful:
                # Stateless calls must not see each other's files or imported modules.
                ns.clear()
                try:
                    _restore_interpreter()
                except BaseException as exc:
                    _stderr.write(f"[sandbox] could not restore the interpreter: {exc!r}\n")
                try:
                    os.chdir(_home)
                    _wipe("/tmp")
                    _wipe(_home)
                except OSError:
                    pass
        return status

    def reset():
        state["ns"] = _fresh_namespace()

    return run, reset

__gptoss_run, __gptoss_reset = __gptoss_setup()
del __gptoss_setup
`);
const pyGlobals = py.globals;
const runPython = pyGlobals.get('__gptoss_run');
const resetPython = pyGlobals.get('__gptoss_reset');
pyGlobals.delete('__gptoss_run');
pyGlobals.delete('__gptoss_reset');
py.unregisterJsModule('pyodide_js');
py.unregisterJsModule('js');

// Layer 3: no host modules beyond those Pyodide loaded at startup (emscripten's sockets `require("ws")` lazily), no
// host mounts.
enforceRequireAllowlist = true;
if (py.FS.filesystems) {
  delete py.FS.filesystems.NODEFS;
  delete py.FS.filesystems.NODERAWFS;
}
// Nothing Python can legitimately reach holds these objects any more; drop the remaining handles to the host file
// system types and to the loaders anyway, so that even a forged reference (ctypes can write WASM memory) finds
// nothing to mount or fetch with. (Only properties nothing reads after start-up: the socket and file syscalls still
// look up SOCKFS and FS.)
for (const key of ['NODEFS', 'NODERAWFS', 'IDBFS', 'WORKERFS', 'PROXYFS']) {
  try {
    delete py._module[key];
  } catch {
    // non-configurable: leave it
  }
}
for (const key of ['mountNodeFS', 'mountNativeFS', 'loadPackage', 'loadPackagesFromImports', 'registerJsModule', 'FS']) {
  try {
    Object.defineProperty(py, key, { value: undefined, writable: false, configurable: false });
  } catch {
    // non-configurable: leave it
  }
}

// Layer 2 (in-realm half): replace every code-generating constructor reachable from an object.
const denyCodegen = function denied() {
  throw new EvalError('gptoss python sandbox: JavaScript code generation is disabled');
};
for (const fn of [function () {}, async function () {}, function* () {}, async function* () {}]) {
  Object.defineProperty(Object.getPrototypeOf(fn), 'constructor', { value: denyCodegen, writable: false, configurable: false });
}
Object.defineProperty(globalThis, 'eval', { value: denyCodegen, writable: false, configurable: false });
Object.defineProperty(globalThis, 'Function', { value: denyCodegen, writable: false, configurable: false });

parentPort.on('message', (msg) => {
  if (msg.type === 'run') {
    chunks = [];
    kept = 0;
    dropped = 0;
    Atomics.store(interruptBuffer, 0, 0);
    const started = performance.now();
    let status;
    try {
      status = runPython(msg.code, stateful);
    } catch (e) {
      collect(`${e && e.message ? e.message : String(e)}\n`);
      status = 'crash';
    }
    parentPort.postMessage({
      type: 'result',
      id: msg.id,
      status,
      output: chunks.join(''),
      dropped,
      ms: performance.now() - started,
    });
  } else if (msg.type === 'reset') {
    resetPython();
    parentPort.postMessage({ type: 'reset-done', id: msg.id });
  }
});
parentPort.postMessage({ type: 'ready', loadMs: performance.now() - t0 });
