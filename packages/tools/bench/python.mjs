// Python sandbox latency: Pyodide cold start, per-call latency (stateless and stateful), a CPU-bound call, and the
// cost of killing a runaway call and starting over. Peer, same run: native CPython in a fresh subprocess per call
// (what the seed's uv backend does, minus uv), when `python3` is on PATH.
// Run: `pnpm bench:python` (builds dist/ first; this script imports the build).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import os from 'node:os';
import { PyodideBackend } from '../dist/index.js';

const N = Number(process.env.BENCH_CALLS ?? 30);
const stats = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const q = (p) => s[Math.min(s.length - 1, Math.floor(p * s.length))];
  return { median: q(0.5), p90: q(0.9), min: s[0] };
};
const fmt = (x) => (x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2));
const rows = [];
const row = (name, xs, peer = '') => {
  const st = stats(xs);
  rows.push(`| ${name} | ${fmt(st.median)} | ${fmt(st.p90)} | ${fmt(st.min)} | ${peer} |`);
};

async function timed(fn) {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
}

const HEAVY = 'print(sum(i * i for i in range(1_000_000)))';

// Cold start: a fresh worker until Pyodide has loaded and the sandbox is locked down, then the first call. Without
// the boot snapshot every start is a full boot; with it, the first worker of the process boots, snapshots and
// re-boots from the snapshot, and every later one boots from the snapshot.
async function coldStarts(n, opts) {
  const cold = [];
  const first = [];
  for (let i = 0; i < n; i++) {
    const b = new PyodideBackend(opts);
    cold.push(await timed(() => b.warmUp()));
    first.push(await timed(() => b.execute('print(1)')));
    await b.close();
  }
  return { cold, first };
}
const plain = await coldStarts(3, { snapshot: false });
const firstWithSnapshot = await coldStarts(1, {});
const fromSnapshot = await coldStarts(5, {});

const nativeSpawn = [];
const nativeHeavy = [];
const PY = process.env.PEER_PYTHON ?? (existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3');
const havePython = spawnSync(PY, ['-c', 'pass']).status === 0;
if (havePython) {
  for (let i = 0; i < N; i++) nativeSpawn.push(await timed(() => spawnSync(PY, ['-c', 'print(1)'])));
  for (let i = 0; i < 5; i++) nativeHeavy.push(await timed(() => spawnSync(PY, ['-c', HEAVY])));
}
const peer = (xs) => (xs.length ? `${fmt(stats(xs).median)} (native CPython subprocess)` : 'n/a');

row('cold start, no snapshot (worker + Pyodide boot + lockdown)', plain.cold);
row('cold start, first in process: boot, make snapshot, boot from it', firstWithSnapshot.cold);
row('cold start from the boot snapshot (default after the first)', fromSnapshot.cold);
row('first call after a cold start: `print(1)`', [...plain.first, ...fromSnapshot.first]);

const stateless = new PyodideBackend();
await stateless.warmUp();
const sl = [];
for (let i = 0; i < N; i++) sl.push(await timed(() => stateless.execute('print(1)')));
row('stateless call: `print(1)`', sl, peer(nativeSpawn));
const imp = [];
for (let i = 0; i < 10; i++) imp.push(await timed(() => stateless.execute('import json, re, collections\nprint(json.dumps({"a": 1}))')));
row('stateless call importing json/re/collections', imp);
const heavy = [];
for (let i = 0; i < 5; i++) heavy.push(await timed(() => stateless.execute(HEAVY)));
row('CPU-bound call: sum of 10^6 squares', heavy, peer(nativeHeavy));
await stateless.close();

const stateful = new PyodideBackend({ stateful: true, timeoutMs: 1000, interruptGraceMs: 500 });
await stateful.warmUp();
await stateful.execute('x = 0');
const sf = [];
for (let i = 0; i < N; i++) sf.push(await timed(() => stateful.execute('x += 1\nx')));
row('stateful call: `x += 1; x`', sf);
const interrupted = [];
for (let i = 0; i < 3; i++) interrupted.push(await timed(() => stateful.execute('while True: pass')));
row('runaway loop, limit 1 s, stopped by SIGINT (state kept)', interrupted);
const killed = [];
for (let i = 0; i < 3; i++) {
  killed.push(
    await timed(async () => {
      await stateful.execute('while True:\n    try:\n        while True: pass\n    except BaseException:\n        pass');
      await stateful.execute('print(1)');
    }),
  );
}
row('runaway loop that swallows SIGINT: limit 1 s + 0.5 s grace, kill, respawn, next call', killed);
await stateful.close();

const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
console.log(`Machine: ${os.cpus().length} × ${cpu}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}, load average ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}`);
console.log(`Date: ${new Date().toISOString()}`);
console.log(`Peer: ${havePython ? spawnSync(PY, ['--version']).stdout.toString().trim() + ' at ' + PY : 'none'}`);
console.log(`Calls per row: ${N} (cold starts: 3 / 1 / 5; CPU-bound 5; runaway rows 3)\n`);
console.log('| operation | median (ms) | p90 (ms) | min (ms) | peer, same run: median (ms) |');
console.log('|---|---|---|---|---|');
for (const r of rows) console.log(r);
