/**
 * PipelineSession: a pipeline opened once on the bundle's reactor module, fed item by
 * item (runtime/README.md "Sessions"). In the browser it lives in the runner's Worker.
 *
 *   const s = await runner.open("live");
 *   const { result } = await s.push(audioValue(samples, 48000)); // this item's outputs
 *   const rest = await s.close();                                 // what the flush produced
 *
 * `pushMany(items)` pushes several items in one call (one message to the worker, one call
 * into the module). Pushes run one at a time in the order they were made (a push made
 * before the last one was answered waits for it). Appending every push's lists, then the
 * close's, gives exactly `run`'s document for the same items.
 */
import { PipelineError } from "./bundle/errors.js";
import { littleEndianBytes } from "./samples.js";
import type { SessionInfo, SessionResult } from "./types.js";

/** How a session reaches its engine (in this thread, or through the worker). */
export interface SessionTransport {
  push(session: number, item: string): Promise<SessionResult>;
  pushMany(session: number, items: string, count: number): Promise<SessionResult>;
  pushAudio(session: number, samples: Float32Array, sampleRate: number, channels: number): Promise<SessionResult>;
  close(session: number): Promise<SessionResult>;
}

export class PipelineSession {
  readonly info: SessionInfo;
  readonly #id: number;
  readonly #transport: SessionTransport;
  #closed = false;

  /** @internal `runner.open()` makes sessions. */
  constructor(id: number, info: SessionInfo, transport: SessionTransport) {
    this.#id = id;
    this.info = info;
    this.#transport = transport;
  }

  get pipeline(): string {
    return this.info.pipeline;
  }

  /** True once `close()` was called. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Push one item (a value in the runtime's JSON encoding, e.g. a number, or `audioValue(...)`).
   *  Resolves to this item's result; rejects with a PipelineError (exitCode, kind, stderr) if the
   *  runtime refuses it: a malformed item (kind `inputs`, the session goes on), a node error
   *  (kind `node`; later pushes fail with `session failed earlier: ...`). */
  push(item: unknown): Promise<SessionResult> {
    let text: string | undefined;
    try {
      text = JSON.stringify(item);
    } catch (err) {
      return Promise.reject(new TypeError(`the item cannot be encoded as JSON: ${(err as Error).message}`));
    }
    if (text === undefined) return Promise.reject(new TypeError(`the item cannot be encoded as JSON (${typeof item})`));
    return this.pushJson(text);
  }

  /** Push several items in one call: the same as pushing each in order, with one result for
   *  them all (their values appended; `index`: the first one's). One call instead of one per
   *  item, which in the browser is one message to the Worker and back instead of many. Every
   *  item is checked before any runs: a malformed one (named `items[k]`) rejects the call and
   *  pushes none of them. On a node error the session fails as with `push`, and the values of
   *  the items before it in this call are not returned (the message says how many). */
  pushMany(items: readonly unknown[]): Promise<SessionResult> {
    if (!Array.isArray(items)) return Promise.reject(new TypeError("pushMany takes an array of items"));
    let text: string;
    try {
      text = JSON.stringify(items);
    } catch (err) {
      return Promise.reject(new TypeError(`the items cannot be encoded as JSON: ${(err as Error).message}`));
    }
    if (this.#closed) return Promise.reject(closedError());
    return this.#timed(this.#transport.pushMany(this.#id, text, items.length));
  }

  /** Push one audio item given as its samples (interleaved float32, frame 0 channel 0, frame 0
   *  channel 1, ...): the same item, and result, as `push(audioValue(samples, sampleRate,
   *  channels))`, without encoding JSON and base64 here or decoding them in the module (a
   *  microphone's chunks, an AudioWorklet's Float32Array). The samples are copied: the array
   *  may be reused at once. A bad rate, channel count or sample count rejects with a
   *  PipelineError (kind `inputs`, exit 4; the session goes on). */
  pushAudio(samples: Float32Array, sampleRate: number, channels = 1): Promise<SessionResult> {
    // by its tag, not instanceof: an array from another realm (an iframe, a WebDriver sandbox) is one too
    if (Object.prototype.toString.call(samples) !== "[object Float32Array]") {
      return Promise.reject(new TypeError("pushAudio takes the samples as a Float32Array"));
    }
    for (const [name, n] of [["sampleRate", sampleRate], ["channels", channels]] as const) {
      if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) {
        return Promise.reject(new TypeError(`pushAudio: ${name} must be a whole number, got ${String(n)}`));
      }
    }
    if (this.#closed) return Promise.reject(closedError());
    return this.#timed(this.#transport.pushAudio(this.#id, samples, sampleRate, channels));
  }

  /** Push one item given as JSON text, as it is (a `stream` line). */
  pushJson(text: string): Promise<SessionResult> {
    if (this.#closed) return Promise.reject(closedError());
    return this.#timed(this.#transport.push(this.#id, text));
  }

  /** Flush the nodes (values held back, e.g. AudioWindow's last window) and end the session. */
  close(): Promise<SessionResult> {
    if (this.#closed) return Promise.reject(closedError());
    this.#closed = true;
    return this.#timed(this.#transport.close(this.#id));
  }

  async #timed(call: Promise<SessionResult>): Promise<SessionResult> {
    const started = performance.now();
    const result = await call;
    result.timings.totalMs = performance.now() - started;
    return result;
  }
}

function closedError(): PipelineError {
  return new PipelineError("the session is closed", 1, "usage", "error: the session is closed\n");
}

/** Bytes as standard base64 (with padding). */
function base64(bytes: Uint8Array): string {
  let s = "";
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s);
}

/** The runtime's audio value for interleaved samples: `{"$audio": {sample_rate, channels, data_b64}}`
 *  (little-endian f32 in base64), ready for `push` or `run`'s inputs. */
export function audioValue(
  samples: Float32Array,
  sampleRate: number,
  channels = 1,
): { $audio: { sample_rate: number; channels: number; data_b64: string } } {
  return { $audio: { sample_rate: sampleRate, channels, data_b64: base64(littleEndianBytes(samples)) } };
}

/** The raw text of each element of each list in a result document `{"outputs":{"id":[...],...}}`,
 *  exactly as written (numbers keep their form: `6.0` stays `6.0`). */
function rawOutputs(text: string): [string, string[]][] {
  let i = 0;
  const ws = () => {
    while (i < text.length && " \t\n\r".includes(text[i]!)) i++;
  };
  const expect = (c: string) => {
    ws();
    if (text[i] !== c) throw new SyntaxError(`not a result document: expected '${c}' at ${i}`);
    i++;
  };
  /** Skip one JSON value; returns its text. */
  const value = (): string => {
    ws();
    const start = i;
    let depth = 0;
    do {
      const c = text[i++];
      if (c === undefined) throw new SyntaxError("not a result document: it ends early");
      if (c === '"') {
        while (text[i] !== '"') i += text[i] === "\\" ? 2 : 1;
        i++;
      } else if (c === "[" || c === "{") depth++;
      else if (c === "]" || c === "}") depth--;
      else if (depth === 0) while (i < text.length && !",]} \t\n\r".includes(text[i]!)) i++;
    } while (depth > 0);
    return text.slice(start, i);
  };
  const key = (): string => JSON.parse(value()) as string;
  const out: [string, string[]][] = [];
  expect("{");
  if (key() !== "outputs") throw new SyntaxError('not a result document: the first key must be "outputs"');
  expect(":");
  expect("{");
  ws();
  if (text[i] === "}") return out;
  for (;;) {
    const id = key();
    expect(":");
    expect("[");
    const items: string[] = [];
    ws();
    if (text[i] === "]") i++;
    else
      for (;;) {
        items.push(value());
        ws();
        if (text[i++] === "]") break;
      }
    out.push([id, items]);
    ws();
    if (text[i++] === "}") return out;
  }
}

/** Every result's lists appended in order (the pushes', then the close's): the document one-shot
 *  `run --compact` prints for the same items, byte for byte. */
export function mergeResults(results: readonly (SessionResult | string)[]): string {
  const merged = new Map<string, string[]>();
  for (const r of results) {
    for (const [id, items] of rawOutputs(typeof r === "string" ? r : r.text)) {
      const list = merged.get(id) ?? [];
      list.push(...items);
      merged.set(id, list);
    }
  }
  const body = [...merged].map(([id, items]) => `${JSON.stringify(id)}:[${items.join(",")}]`).join(",");
  return `{"outputs":{${body}}}`;
}
