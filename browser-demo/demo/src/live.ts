/**
 * Live mode: the microphone (getUserMedia) through an AudioWorklet, cut into chunks of
 * CHUNK_SECONDS, each pushed into a session of an `audio-stream` pipeline as soon as it is
 * captured. Every Whisper value that comes back is a caption.
 *
 * Latency: a window is emitted by the push of the chunk that completes it (AudioWindow), so
 * the figure shown is the time from the capture of that chunk's last sample to its caption on
 * the page (the window's audio ends within that chunk, at most CHUNK_SECONDS earlier, or
 * `min_silence` earlier when a pause ended it).
 */
import { audioValue, type PipelineRunner, type PipelineSession, type SessionResult } from "@remotemedia/wasm-runner";

export const CHUNK_SECONDS = 0.1;

/** The worklet: forwards the first channel's 128-frame blocks, CHUNK_SECONDS at a time. */
const WORKLET = `
class Chunker extends AudioWorkletProcessor {
  constructor(options) {
    super();
    this.size = options.processorOptions.size;
    this.buf = new Float32Array(this.size);
    this.fill = 0;
    this.frames = 0;
  }
  process(inputs) {
    const ch = inputs[0] && inputs[0][0];
    if (!ch) return true;
    let i = 0;
    while (i < ch.length) {
      const n = Math.min(ch.length - i, this.size - this.fill);
      this.buf.set(ch.subarray(i, i + n), this.fill);
      this.fill += n; i += n; this.frames += n;
      if (this.fill === this.size) {
        this.port.postMessage({ samples: this.buf, endFrame: this.frames }, [this.buf.buffer]);
        this.buf = new Float32Array(this.size);
        this.fill = 0;
      }
    }
    return true;
  }
}
registerProcessor("rmpkg-chunker", Chunker);
`;

export interface Caption {
  text: string;
  /** ms from the first captured sample to the caption on the page. */
  atMs: number;
  /** ms from the capture of the completing chunk's last sample to the caption. */
  latencyMs: number;
  /** Seconds of audio captured when the window was complete. */
  audioSeconds: number;
}

export interface LiveHandlers {
  caption(c: Caption): void;
  status(text: string): void;
  error(err: unknown): void;
}

/** Whisper's non-speech marks ([BLANK_AUDIO], (music), ...) are not words. */
export function captionText(value: unknown): string {
  const text = value && typeof value === "object" && "text" in value ? String((value as { text: unknown }).text) : "";
  return text.replace(/\[[^\]]*\]|\([^)]*\)/g, " ").replace(/\s+/g, " ").trim();
}

export class LiveCaptions {
  #session: PipelineSession;
  #ctx: AudioContext;
  #stream: MediaStream;
  #node: AudioWorkletNode;
  #startedAt = 0;
  #pending: Promise<unknown>[] = [];
  #failed = false;
  readonly #on: LiveHandlers;

  private constructor(session: PipelineSession, ctx: AudioContext, stream: MediaStream, node: AudioWorkletNode, on: LiveHandlers) {
    this.#session = session;
    this.#ctx = ctx;
    this.#stream = stream;
    this.#node = node;
    this.#on = on;
  }

  /** Open the session first (the model loads), then the microphone. */
  static async start(runner: PipelineRunner, pipeline: string, manifest: string, on: LiveHandlers): Promise<LiveCaptions> {
    on.status("opening the session (loading the model)…");
    const session = await runner.open(pipeline, { manifest });
    let stream: MediaStream;
    try {
      stream = await navigator.mediaDevices.getUserMedia({
        audio: { echoCancellation: false, noiseSuppression: false, autoGainControl: false, channelCount: 1 },
      });
    } catch (err) {
      await session.close().catch(() => undefined);
      throw err;
    }
    const ctx = new AudioContext();
    const url = URL.createObjectURL(new Blob([WORKLET], { type: "text/javascript" }));
    try {
      await ctx.audioWorklet.addModule(url);
    } finally {
      URL.revokeObjectURL(url);
    }
    const source = ctx.createMediaStreamSource(stream);
    const size = Math.round(CHUNK_SECONDS * ctx.sampleRate);
    const node = new AudioWorkletNode(ctx, "rmpkg-chunker", { numberOfInputs: 1, numberOfOutputs: 0, processorOptions: { size } });
    const live = new LiveCaptions(session, ctx, stream, node, on);
    node.port.onmessage = (e: MessageEvent<{ samples: Float32Array; endFrame: number }>) => live.#chunk(e.data.samples, e.data.endFrame);
    source.connect(node);
    on.status(`listening (${ctx.sampleRate} Hz, chunks of ${CHUNK_SECONDS * 1000} ms)…`);
    return live;
  }

  get sampleRate(): number {
    return this.#ctx.sampleRate;
  }

  #chunk(samples: Float32Array, endFrame: number): void {
    if (this.#failed) return;
    const capturedAt = performance.now();
    if (this.#startedAt === 0) this.#startedAt = capturedAt - (1000 * samples.length) / this.#ctx.sampleRate;
    const audioSeconds = endFrame / this.#ctx.sampleRate;
    const push = this.#session.push(audioValue(samples, this.#ctx.sampleRate)).then(
      (r) => this.#captions(r, capturedAt, audioSeconds),
      (err) => {
        this.#failed = true;
        this.#on.error(err);
      },
    );
    this.#pending.push(push);
    if (this.#pending.length > 64) this.#pending.splice(0, 32);
  }

  #captions(r: SessionResult, capturedAt: number, audioSeconds: number): void {
    const now = performance.now();
    for (const values of Object.values(r.result.outputs)) {
      for (const v of values) {
        this.#on.caption({ text: captionText(v), atMs: now - this.#startedAt, latencyMs: now - capturedAt, audioSeconds });
      }
    }
  }

  /** Stop the microphone, then close the session: its flush gives the last window's caption. */
  async stop(): Promise<void> {
    this.#node.port.onmessage = null;
    this.#stream.getTracks().forEach((t) => t.stop());
    await this.#ctx.close();
    await Promise.all(this.#pending);
    if (this.#failed) return;
    const audioSeconds = 0;
    const closedAt = performance.now();
    const r = await this.#session.close();
    this.#captions(r, closedAt, audioSeconds);
  }
}
