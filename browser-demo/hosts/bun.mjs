// Bun: run bundles with PipelineRunner from the installed package, in the runner's inline
// Web Worker (Bun has Worker).
//   bun bun.mjs JOB.json   (JOB: see node.mjs)
//   bun bun.mjs --probe
// Prints one JSON document (rmbuild/checks/hosts.py reads it).
import { probe, runCases } from "./common.mjs";

const host = { host: "bun", version: Bun.version, worker: typeof Worker !== "undefined" };
const arg = Bun.argv[2];
const readBytes = (path) => Bun.file(path).bytes();
const answer = arg === "--probe" ? await probe(host) : await runCases(host, (await Bun.file(arg).json()).cases, readBytes);
console.log(JSON.stringify(answer));
