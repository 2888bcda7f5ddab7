import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { DockerBackend, detectDocker } from '../../src/python/docker-backend.js';
import { PyodideBackend } from '../../src/python/pyodide-backend.js';
import { selectPythonBackend } from '../../src/python/python-tool.js';

// A stand-in for the docker CLI: `info` answers like a CLI without a daemon (or with one, when FAKE_DOCKER_UP
// exists), `run` echoes its arguments and stdin, `kill` records the container name.
const dir = mkdtempSync(path.join(tmpdir(), 'gptoss-fake-docker-'));
const fake = path.join(dir, 'docker');
writeFileSync(
  fake,
  `#!/usr/bin/env node
const fs = require('node:fs');
const path = require('node:path');
const [cmd, ...args] = process.argv.slice(2);
const up = fs.existsSync(path.join(__dirname, 'up'));
if (cmd === 'info') {
  if (!up) { process.stderr.write('Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?\\n'); process.exit(1); }
  process.stdout.write('28.2.2\\n');
} else if (cmd === 'kill') {
  fs.writeFileSync(path.join(__dirname, 'killed'), args[0]);
} else if (cmd === 'run') {
  let code = '';
  process.stdin.on('data', (d) => (code += d));
  process.stdin.on('end', () => {
    if (code.includes('SLEEP')) { setInterval(() => {}, 1000); return; }
    if (code.includes('OOM')) process.exit(137);
    process.stdout.write('args ' + JSON.stringify(args) + '\\n');
    process.stderr.write('code ' + code + '\\n');
  });
}
`,
);
chmodSync(fake, 0o755);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('docker detection and backend choice', () => {
  test('a CLI without a daemon is "unavailable", and auto selection falls back to Pyodide', async () => {
    const d = await detectDocker({ dockerPath: fake });
    expect(d.available).toBe(false);
    expect(d.detail).toContain('Cannot connect to the Docker daemon');
    const sel = await selectPythonBackend({ docker: { dockerPath: fake } });
    expect(sel.backend).toBeInstanceOf(PyodideBackend);
    expect(sel.reason).toMatch(/^docker unavailable/);
    await expect(selectPythonBackend({ backend: 'docker', docker: { dockerPath: fake } })).rejects.toThrow(
      /no Docker engine answers/,
    );
  });

  test('no docker binary at all is "unavailable" too', async () => {
    const d = await detectDocker({ dockerPath: path.join(dir, 'missing-docker') });
    expect(d.available).toBe(false);
  });

  test('this machine: the real `docker` agrees with the selection', async () => {
    const d = await detectDocker();
    const sel = await selectPythonBackend({});
    expect(sel.backend.kind).toBe(d.available ? 'docker' : 'pyodide');
  });

  test('stateful mode always uses Pyodide', async () => {
    expect((await selectPythonBackend({ stateful: true, docker: { dockerPath: fake } })).backend.kind).toBe('pyodide');
    await expect(selectPythonBackend({ stateful: true, backend: 'docker' })).rejects.toThrow(/stateless/);
  });

  test('with an engine up, auto picks Docker', async () => {
    writeFileSync(path.join(dir, 'up'), '');
    try {
      const sel = await selectPythonBackend({ docker: { dockerPath: fake }, timeoutMs: 5000 });
      expect(sel.backend).toBeInstanceOf(DockerBackend);
      expect(sel.reason).toBe('docker engine 28.2.2 answers');
    } finally {
      rmSync(path.join(dir, 'up'));
    }
  });
});

describe('DockerBackend', () => {
  test('runs the code through stdin in a locked-down container', async () => {
    const b = new DockerBackend({ dockerPath: fake, memoryLimitMb: 300, timeoutMs: 10_000 });
    const r = await b.execute('print(1)');
    expect(r.status).toBe('ok');
    const args = JSON.parse(r.output.split('\n')[0]!.slice('args '.length)) as string[];
    const joined = args.join(' ');
    for (const flag of [
      '--rm',
      '--network none',
      '--memory 300m',
      '--memory-swap 300m',
      '--cpus 1',
      '--pids-limit 64',
      '--ulimit cpu=10:10',
      '--read-only',
      '--cap-drop ALL',
      '--security-opt no-new-privileges',
      '--user 65534:65534',
    ]) {
      expect(joined).toContain(flag);
    }
    expect(args.slice(-3)).toEqual(['python:3.12-slim', 'python', '-']);
    expect(r.output).toContain('code print(1)');
  });

  test('a call past the time limit is stopped and its container killed by name', async () => {
    const b = new DockerBackend({ dockerPath: fake, timeoutMs: 300 });
    const r = await b.execute('SLEEP');
    expect(r.status).toBe('timeout');
    expect(r.elapsedMs).toBeLessThan(3000);
    await new Promise((res) => setTimeout(res, 300));
    expect(existsSync(path.join(dir, 'killed'))).toBe(true);
    expect(readFileSync(path.join(dir, 'killed'), 'utf8')).toMatch(/^gptoss-python-[0-9a-f-]{36}$/);
  });

  test('exit 137 (the cgroup OOM killer) is reported as the memory limit', async () => {
    expect((await new DockerBackend({ dockerPath: fake }).execute('OOM')).status).toBe('memory');
  });
});
