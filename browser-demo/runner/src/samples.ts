/** Audio samples as the runtime reads them: little-endian f32. */

const HOST_LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/** The little-endian f32 bytes of `samples`: a view of the same memory on little-endian hosts
 *  (every browser and Node platform in practice), a converted copy elsewhere. */
export function littleEndianBytes(samples: Float32Array): Uint8Array {
  if (HOST_LITTLE_ENDIAN) return new Uint8Array(samples.buffer, samples.byteOffset, samples.byteLength);
  const out = new Uint8Array(samples.length * 4);
  const view = new DataView(out.buffer);
  for (let i = 0; i < samples.length; i++) view.setFloat32(i * 4, samples[i]!, true);
  return out;
}
