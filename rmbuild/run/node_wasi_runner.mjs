#!/usr/bin/env node
// Run a WASI (preview1) command module with Node's built-in `node:wasi`: the
// second host for pipeline_executor_wasm besides wasmtime (rmbuild/run/wasi.py).
//
// usage: node --no-warnings rmbuild/node_wasi_runner.mjs [--dir HOST::GUEST]...
//            [--env KEY=VALUE]... [--tmp GUEST] [--argv0 NAME] MODULE [--] [ARGS...]
//
// --tmp GUEST: a fresh, empty scratch folder (in os.tmpdir(), i.e. $TMPDIR) preopened
// at GUEST (the runtime's /tmp) for this run; removed when the module ends.
//
// stdin, stdout and stderr are this process's own (they must be real file
// descriptors: pipes or files). The exit code is the module's; a trap prints
// `error: the wasm module trapped: ...` and exits 134, like the Python runner.
// Note: node:wasi is not a security sandbox (Node's documentation says so);
// preopens decide what the guest can name, not what the process could reach.

import { mkdtempSync, rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import process from 'node:process';
import v8 from 'node:v8';
import { WASI } from 'node:wasi';

// Node 20 and 22 crash (SIGSEGV, or V8's "unreachable code") when a node:wasi module
// grows its memory while V8 marks the heap incrementally: whisper.cpp's allocations
// hit it nearly every run. Marking without increments avoids it (tests/test_wasm_node.py).
v8.setFlagsFromString('--no-incremental-marking');

const TRAP_EXIT_CODE = 134;

function usage(message) {
  process.stderr.write(`error: ${message}\nusage: node_wasi_runner.mjs [--dir HOST::GUEST]... [--env K=V]... [--tmp GUEST] MODULE [--] [ARGS...]\n`);
  process.exit(1);
}

function parse(argv) {
  const preopens = {};
  const env = {};
  let argv0 = null;
  let scratch = null;
  let i = 0;
  for (; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--dir' || a === '--env' || a === '--argv0' || a === '--tmp') {
      const v = argv[++i];
      if (v === undefined) usage(`${a} needs a value`);
      if (a === '--dir') {
        const [host, guest] = v.includes('::') ? v.split('::', 2) : [v, v];
        preopens[guest] = host;
      } else if (a === '--env') {
        const eq = v.indexOf('=');
        if (eq <= 0) usage(`--env needs KEY=VALUE, got ${v}`);
        env[v.slice(0, eq)] = v.slice(eq + 1);
      } else if (a === '--tmp') {
        scratch = v;
      } else {
        argv0 = v;
      }
    } else if (a.startsWith('--') && a !== '--') {
      usage(`unknown option ${a}`);
    } else {
      break;
    }
  }
  const module = argv[i++];
  if (!module) usage('missing MODULE');
  if (argv[i] === '--') i++;
  return { preopens, env, module, scratch, argv0: argv0 ?? basename(module, '.wasm'), args: argv.slice(i) };
}

const opts = parse(process.argv.slice(2));
let bytes;
try {
  bytes = await readFile(opts.module);
} catch (err) {
  usage(`cannot read ${opts.module}: ${err.message}`);
}
let scratchDir = null;
if (opts.scratch !== null && !(opts.scratch in opts.preopens)) {
  scratchDir = mkdtempSync(join(tmpdir(), 'rmbuild-scratch-'));
  opts.preopens[opts.scratch] = scratchDir;
}
const wasi = new WASI({
  version: 'preview1',
  args: [opts.argv0, ...opts.args],
  env: opts.env,
  preopens: opts.preopens,
  returnOnExit: true,
});
let code;
try {
  // A referenced timer while compiling: a pending compile holds no handle of Node's loop, and on
  // an empty loop Node 20 can deadlock for good (nodejs/node#36616, #54918; the runner's
  // holdingTheLoop says more).
  const keepAlive = setInterval(() => {}, 2 ** 30);
  let instance;
  try {
    const module = await WebAssembly.compile(bytes);
    instance = await WebAssembly.instantiate(module, wasi.getImportObject());
  } finally {
    clearInterval(keepAlive);
  }
  code = wasi.start(instance);
} catch (err) {
  process.stderr.write(`error: the wasm module trapped: ${err && err.message ? err.message : err}\n`);
  code = TRAP_EXIT_CODE;
} finally {
  if (scratchDir !== null) rmSync(scratchDir, { recursive: true, force: true });
}
process.exitCode = code;
