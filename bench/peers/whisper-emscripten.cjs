// whisper.cpp's own emscripten build (examples/whisper.wasm: libmain.js, the wasm inside, and
// libmain.worker.js for its pthreads) in Node, the way its web page drives it: the model written
// into its MEMFS, init(), full_default(ctx, pcm, "en", threads, false) (greedy, its only strategy).
//   node whisper-emscripten.cjs LIBMAIN.js MODEL.bin AUDIO.wav THREADS
// Prints one JSON line: {rc, startup_ms (the runtime start: compiling the module), init_ms
// (model into MEMFS + init), run_ms (full_default until whisper printed its timings), out, err}.
// full_default returns at once and decodes in a pthread: the main thread must stay free to start
// that worker (a blocking join right away deadlocks), so we poll for the timings line.
// libmain.js is a classic script that reads a global `Module`: it is evaluated in the global
// scope, as its worker does it.
const fs = require("fs");
const path = require("path");

const [libjs, model, wav, threads] = process.argv.slice(2);

function readWav(file) {
  const b = fs.readFileSync(file);
  let off = 12;
  let fmt;
  let data;
  while (off + 8 <= b.length) {
    const id = b.toString("ascii", off, off + 4);
    const size = b.readUInt32LE(off + 4);
    if (id === "fmt ") fmt = { channels: b.readUInt16LE(off + 10), rate: b.readUInt32LE(off + 12), bits: b.readUInt16LE(off + 22) };
    if (id === "data") data = b.subarray(off + 8, off + 8 + size);
    off += 8 + size + (size & 1);
  }
  if (!fmt || !data || fmt.bits !== 16 || fmt.rate !== 16000) throw new Error(`${file}: 16 kHz 16-bit PCM WAV expected`);
  const frames = data.length / 2 / fmt.channels;
  const out = new Float32Array(frames);
  for (let i = 0; i < frames; i++) {
    let sum = 0;
    for (let c = 0; c < fmt.channels; c++) sum += data.readInt16LE((i * fmt.channels + c) * 2);
    out[i] = sum / fmt.channels / 32768;
  }
  return out;
}

const out = [];
const err = [];
const t0 = performance.now();
globalThis.Module = {
  print: (s) => out.push(s),
  printErr: (s) => err.push(s),
  onAbort: (why) => {
    process.stderr.write(`aborted: ${why}\n${err.join("\n")}\n`);
    process.exit(1);
  },
  onRuntimeInitialized() {
    const t1 = performance.now();
    Module.FS_createDataFile("/", "whisper.bin", fs.readFileSync(model), true, true);
    const ctx = Module.init("whisper.bin");
    if (!ctx) {
      process.stderr.write(`init failed:\n${err.join("\n")}\n`);
      process.exit(1);
    }
    const pcm = readWav(wav);
    const t2 = performance.now();
    const rc = Module.full_default(ctx, pcm, "en", Number(threads || 1), false);
    const poll = setInterval(() => {
      if (rc === 0 && !err.some((line) => line.includes("total time"))) return;
      clearInterval(poll);
      const t3 = performance.now();
      Module.free(ctx);
      process.stdout.write(JSON.stringify({ rc, startup_ms: t1 - t0, init_ms: t2 - t1, run_ms: t3 - t2, out, err }) + "\n");
      process.exit(0);
    }, 2);
  },
};
const file = path.resolve(libjs);
Object.assign(globalThis, { require, __filename: file, __dirname: path.dirname(file) });
(0, eval)(fs.readFileSync(file, "utf8"));
