// The input items of the Python benchmark, the same for every peer: numbers, and 1 s of
// audio (16 kHz mono float32, a 440 Hz tone whose phase changes per item). Our runner takes
// audio as {"$audio": ...} JSON values (base64 float32); Pyodide gets the Float32Array.
export const RATE = 16000;

export function numbers(count) {
  return Array.from({ length: count }, (_, i) => (i % 1000) / 8);
}

export function tone(index) {
  const out = new Float32Array(RATE);
  for (let i = 0; i < RATE; i++) out[i] = 0.5 * Math.sin((2 * Math.PI * 440 * i) / RATE + index / 7);
  return out;
}

function base64(bytes) {
  if (typeof Buffer !== "undefined") return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("base64");
  let s = "";
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s);
}

export function audioValue(samples) {
  const bytes = new Uint8Array(samples.buffer, samples.byteOffset, samples.byteLength);
  return { $audio: { sample_rate: RATE, channels: 1, data_b64: base64(bytes) } };
}

/** The samples of an {"$audio": ...} value (mono float32, as audioValue makes them): what
 *  Pyodide gets. Other values are as they are. */
export function peerItem(value) {
  if (!value || typeof value !== "object" || !value.$audio) return value;
  const b64 = value.$audio.data_b64;
  const bytes =
    typeof Buffer !== "undefined"
      ? new Uint8Array(Buffer.from(b64, "base64"))
      : Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
  return new Float32Array(bytes.buffer, 0, bytes.byteLength / 4);
}

/** {numbers: {small, large}, audio: {small, large}} for `peer` ("ours" or "pyodide"). */
export function itemSets(peer, counts) {
  const audio = (n) => Array.from({ length: n }, (_, i) => (peer === "ours" ? audioValue(tone(i)) : tone(i)));
  return {
    numbers: { small: numbers(counts.numbers[0]), large: numbers(counts.numbers[1]) },
    audio: { small: audio(counts.audio[0]), large: audio(counts.audio[1]) },
  };
}

/** The first item (cold and warm start): one number and one second of audio. */
export function firstItems(peer) {
  return [1, peer === "ours" ? audioValue(tone(0)) : tone(0)];
}
