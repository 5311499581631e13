/// <reference lib="webworker" />
/**
 * The Web Worker behind PipelineRunner: owns the Engine (bundle + backend).
 * Built self-contained (dist/worker.js); the runner embeds the same code and
 * starts it from a Blob URL unless given `workerUrl`.
 */
import { Engine } from "./engine.js";
import { serializeError, type Request, type Response } from "./protocol.js";

let engine: Engine | undefined;
const scope = self as unknown as DedicatedWorkerGlobalScope;

type Value = Extract<Response, { ok: true }>["value"];

async function handle(msg: Request): Promise<Value> {
  switch (msg.type) {
    case "load": {
      await engine?.close();
      engine = await Engine.load(msg.source, {
        backend: msg.backend,
        backendReason: msg.backendReason,
        sha256: msg.sha256,
        wasmerSdkUrl: msg.wasmerSdkUrl,
      });
      return engine.info;
    }
    case "run":
      if (!engine) throw new Error("no bundle loaded");
      return await engine.run(msg.request);
    case "manifest":
      if (!engine) throw new Error("no bundle loaded");
      return engine.manifestText(msg.pipeline);
    case "open":
      if (!engine) throw new Error("no bundle loaded");
      return await engine.openSession(msg.pipeline, msg.options);
    case "push":
      if (!engine) throw new Error("no bundle loaded");
      return engine.pushSession(msg.session, msg.item);
    case "push-many":
      if (!engine) throw new Error("no bundle loaded");
      return engine.pushManySession(msg.session, msg.items, msg.count);
    case "push-audio":
      if (!engine) throw new Error("no bundle loaded");
      return engine.pushAudioSession(msg.session, msg.samples, msg.sampleRate, msg.channels);
    case "session-close":
      if (!engine) throw new Error("no bundle loaded");
      return engine.closeSession(msg.session);
    case "close":
      await engine?.close();
      engine = undefined;
      return null;
  }
}

// One message at a time, in the order they came: a session's pushes never interleave
// (a push sent before the previous one was answered waits for it).
let queue: Promise<void> = Promise.resolve();

async function answer(msg: Request): Promise<void> {
  let reply: Response;
  try {
    reply = { id: msg.id, ok: true, value: await handle(msg) };
  } catch (err) {
    reply = { id: msg.id, ok: false, error: serializeError(err) };
  }
  scope.postMessage(reply);
}

scope.onmessage = (event: MessageEvent<Request>) => {
  const msg = event.data;
  queue = queue.then(() => answer(msg));
};
