// Node (20, 22): run bundles with PipelineRunner from the installed package, as its users do.
//   node node.mjs JOB.json   JOB: {"cases": [{key, bundle, sha256?, pipeline?, manifest?, inputs?}]},
//                            bundle: a file or an http(s) URL
//   node node.mjs --probe    what this host offers: WebAssembly, node:wasi with WASI preview1
// Prints one JSON document (rmbuild/checks/hosts.py reads it). Node has no Web Worker: in-thread.
import { readFile } from "node:fs/promises";
import { probe, runCases } from "./common.mjs";

const host = { host: "node", version: process.versions.node, worker: typeof Worker !== "undefined" };
const arg = process.argv[2];
const answer =
  arg === "--probe" ? await probe(host) : await runCases(host, JSON.parse(await readFile(arg, "utf8")).cases, readFile);
console.log(JSON.stringify(answer));
