// Reads an outgoing request's response body with a size cap: a peer cannot make us buffer without bound.

export class BodyTooLarge extends Error {
  constructor(readonly limit: number) {
    super(`response body larger than ${limit} bytes`);
  }
}

/** The whole body, or BodyTooLarge once more than `limit` bytes arrived (the stream is destroyed). */
export async function readCapped(body: AsyncIterable<Buffer | Uint8Array> & { destroy?(): unknown }, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += chunk.length;
    if (size > limit) {
      body.destroy?.();
      throw new BodyTooLarge(limit);
    }
    chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk));
  }
  return Buffer.concat(chunks, size);
}
