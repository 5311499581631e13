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
import type { PipelineRunner, PipelineSession, SessionResult } from "@remotemedia/wasm-runner";

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
  #stream: MediaStream | undefined;
  #player: AudioBufferSourceNode | undefined;
  #node: AudioWorkletNode;
  #startedAt = 0;
  #pending: Promise<unknown>[] = [];
  #failed = false;
  readonly #on: LiveHandlers;

  private constructor(
    session: PipelineSession,
    ctx: AudioContext,
    stream: MediaStream | undefined,
    player: AudioBufferSourceNode | undefined,
    node: AudioWorkletNode,
    on: LiveHandlers,
  ) {
    this.#session = session;
    this.#ctx = ctx;
    this.#stream = stream;
    this.#player = player;
    this.#node = node;
    this.#on = on;
  }

  /** Open the session first (the model loads), then the microphone. With `sourceUrl` (the page's
   *  `?mic=URL`, for engines whose fake microphone cannot play a file), that audio file is decoded
   *  and played in a loop into the same AudioWorklet instead of a getUserMedia stream. */
  static async start(
    runner: PipelineRunner,
    pipeline: string,
    manifest: string,
    on: LiveHandlers,
    sourceUrl?: string,
  ): Promise<LiveCaptions> {
    // The AudioContext first, in the click's task: Firefox and Safari start one only on a user
    // gesture, and loading the model takes longer than a gesture lasts.
    const ctx = new AudioContext();
    const resumed = ctx.state === "running" ? Promise.resolve() : ctx.resume();
    on.status("opening the session (loading the model)…");
    let session: PipelineSession;
    try {
      session = await runner.open(pipeline, { manifest });
    } catch (err) {
      await ctx.close();
      throw err;
    }
    let stream: MediaStream | undefined;
    let file: ArrayBuffer | undefined;
    try {
      if (sourceUrl !== undefined) {
        const response = await fetch(sourceUrl);
        if (!response.ok) throw new Error(`cannot fetch the audio source ${sourceUrl}: HTTP ${response.status}`);
        file = await response.arrayBuffer();
      } else {
        if (typeof navigator.mediaDevices?.getUserMedia !== "function") {
          throw new Error("this browser has no getUserMedia here (a secure context is needed): no microphone");
        }
        stream = await navigator.mediaDevices.getUserMedia({
          audio: { echoCancellation: false, noiseSuppression: false, autoGainControl: false, channelCount: 1 },
        });
      }
    } catch (err) {
      await ctx.close();
      await session.close().catch(() => undefined);
      throw err;
    }
    if (typeof AudioWorkletNode !== "function" || !ctx.audioWorklet) {
      stream?.getTracks().forEach((t) => t.stop());
      await ctx.close();
      await session.close().catch(() => undefined);
      throw new Error("this browser has no AudioWorklet: live captions need one");
    }
    const url = URL.createObjectURL(new Blob([WORKLET], { type: "text/javascript" }));
    try {
      await ctx.audioWorklet.addModule(url);
    } finally {
      URL.revokeObjectURL(url);
    }
    const size = Math.round(CHUNK_SECONDS * ctx.sampleRate);
    const node = new AudioWorkletNode(ctx, "rmpkg-chunker", { numberOfInputs: 1, numberOfOutputs: 0, processorOptions: { size } });
    let player: AudioBufferSourceNode | undefined;
    if (file !== undefined) {
      player = ctx.createBufferSource();
      player.buffer = await ctx.decodeAudioData(file);
      player.loop = true;
      player.connect(node);
    } else {
      ctx.createMediaStreamSource(stream!).connect(node);
    }
    const live = new LiveCaptions(session, ctx, stream, player, node, on);
    node.port.onmessage = (e: MessageEvent<{ samples: Float32Array; endFrame: number }>) => live.#chunk(e.data.samples, e.data.endFrame);
    const started = await Promise.race([resumed.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 10_000))]);
    if (!started || ctx.state !== "running") {
      stream?.getTracks().forEach((t) => t.stop());
      await ctx.close();
      await session.close().catch(() => undefined);
      throw new Error(`the AudioContext did not start (state ${ctx.state}): no audio device, or autoplay is blocked here`);
    }
    player?.start();
    const what = player ? `the audio file ${sourceUrl}, in a loop` : "the microphone";
    on.status(`listening to ${what} (${ctx.sampleRate} Hz, chunks of ${CHUNK_SECONDS * 1000} ms)…`);
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
    const push = this.#session.pushAudio(samples, this.#ctx.sampleRate).then(
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
    this.#stream?.getTracks().forEach((t) => t.stop());
    this.#player?.stop();
    await this.#ctx.close();
    await Promise.all(this.#pending);
    if (this.#failed) return;
    const audioSeconds = 0;
    const closedAt = performance.now();
    const r = await this.#session.close();
    this.#captions(r, closedAt, audioSeconds);
  }
}
