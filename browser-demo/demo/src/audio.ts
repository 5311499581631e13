/** Audio for the whisper pipeline: decode or record, mix to mono, resample to 16 kHz, encode as a `$audio` value. */
export interface MonoAudio {
  samples: Float32Array;
  sampleRate: number;
  seconds: number;
}

export const WHISPER_RATE = 16000;

async function toMono16k(buffer: AudioBuffer): Promise<MonoAudio> {
  const frames = Math.ceil(buffer.duration * WHISPER_RATE);
  const ctx = new OfflineAudioContext(1, Math.max(frames, 1), WHISPER_RATE);
  const src = ctx.createBufferSource();
  src.buffer = buffer;
  src.connect(ctx.destination);
  src.start();
  const rendered = await ctx.startRendering();
  const samples = rendered.getChannelData(0).slice();
  return { samples, sampleRate: WHISPER_RATE, seconds: samples.length / WHISPER_RATE };
}

export async function decodeAudioFile(file: Blob): Promise<MonoAudio> {
  const ctx = new AudioContext();
  try {
    return await toMono16k(await ctx.decodeAudioData(await file.arrayBuffer()));
  } finally {
    await ctx.close();
  }
}

/** Start recording from the microphone; the returned function stops and decodes. */
export async function recordAudio(): Promise<() => Promise<MonoAudio>> {
  const stream = await navigator.mediaDevices.getUserMedia({ audio: true });
  const recorder = new MediaRecorder(stream);
  const chunks: Blob[] = [];
  recorder.ondataavailable = (e) => chunks.push(e.data);
  recorder.start();
  return () =>
    new Promise((resolve, reject) => {
      recorder.onstop = () => {
        stream.getTracks().forEach((t) => t.stop());
        decodeAudioFile(new Blob(chunks, { type: recorder.mimeType })).then(resolve, reject);
      };
      recorder.stop();
    });
}

function base64(bytes: Uint8Array): string {
  let s = "";
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s);
}

/** The runtime's audio value: interleaved little-endian f32 samples in base64. */
export function toAudioValue(audio: MonoAudio): { $audio: { sample_rate: number; channels: number; data_b64: string } } {
  const bytes = new Uint8Array(audio.samples.length * 4);
  const view = new DataView(bytes.buffer);
  audio.samples.forEach((s, i) => view.setFloat32(i * 4, s, true));
  return { $audio: { sample_rate: audio.sampleRate, channels: 1, data_b64: base64(bytes) } };
}
