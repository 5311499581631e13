// Deno 2: run bundles with PipelineRunner from the installed package (Deno resolves it from
// node_modules beside package.json), in the runner's inline Web Worker (Deno has Worker).
//   deno run --allow-read --allow-net=127.0.0.1 deno.mjs JOB.json   (JOB: see node.mjs)
//   deno run --allow-read deno.mjs --probe
// Prints one JSON document (rmbuild/checks/hosts.py reads it).
import { probe, runCases } from "./common.mjs";

const host = { host: "deno", version: Deno.version.deno, worker: typeof Worker !== "undefined" };
const arg = Deno.args[0];
const answer =
  arg === "--probe" ? await probe(host) : await runCases(host, JSON.parse(await Deno.readTextFile(arg)).cases, Deno.readFile);
console.log(JSON.stringify(answer));
