// How the bench's Node scripts hand back their result (rmbuild/checks/peers_bench.py's
// node_result reads it): written atomically to a file, with Node's event loop kept alive
// until then.
//
// Why the loop is kept alive: a pending WebAssembly.compile/instantiate holds no libuv handle
// (nodejs/node#36616), so while a script awaits one with nothing else pending, the loop runs
// empty and Node drains its platform's tasks on the main thread (NodePlatform::DrainTasks).
// There Node 20 can deadlock: the main thread waits for the worker tasks while a concurrent
// TurboFan job waits for a GC only the main thread can do (nodejs/node#54918, which names the
// exit; seen here *before* the result, in 5 of 42 runs of node-python.mjs for our peer, idle for
// good). With a referenced timer the loop stays in epoll and the compile's result arrives as a
// task of the running loop; DrainTasks is reached only once the result is written (at exit,
// where node_result kills a Node that hangs after its result and counts it).
//
// Why a file: the result does not depend on stdout (a pipe or a file) or on how the process
// ends; the rename makes it all or nothing.
import { rename, writeFile } from "node:fs/promises";

/** Runs `compute` with the event loop held alive, writes its value as JSON to `path`
 * (a temporary file next to it, then renamed) and lets the loop go. Returns the value. */
export async function writeResult(path, compute) {
  const keepAlive = setInterval(() => {}, 2 ** 30);
  try {
    const value = await compute();
    const tmp = `${path}.${process.pid}.tmp`;
    await writeFile(tmp, JSON.stringify(value) + "\n");
    await rename(tmp, path);
    return value;
  } finally {
    clearInterval(keepAlive);
  }
}
