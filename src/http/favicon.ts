// GET /favicon.ico: a 16×16 icon (the console's blue square with a white "H"), built once in memory, so
// browsers asking for it on every page of the hub get an icon instead of a 404 in their logs.
import type { FastifyInstance } from 'fastify';

const SIZE = 16;
// Rows top to bottom; '#' is the white letter, '.' the blue background, ' ' transparent (rounded corners).
const ART = [
  ' .............. ',
  '................',
  '................',
  '...##......##...',
  '...##......##...',
  '...##......##...',
  '...##......##...',
  '...##########...',
  '...##########...',
  '...##......##...',
  '...##......##...',
  '...##......##...',
  '...##......##...',
  '................',
  '................',
  ' .............. ',
];

/** An ICO file holding one 32-bit BMP image (the format every browser reads as /favicon.ico). */
function icon(): Buffer {
  const pixels = SIZE * SIZE * 4;
  const mask = SIZE * 4; // 1 bit per pixel, rows padded to 4 bytes: all 0 (alpha decides)
  const image = Buffer.alloc(40 + pixels + mask);
  image.writeUInt32LE(40, 0); // BITMAPINFOHEADER
  image.writeInt32LE(SIZE, 4);
  image.writeInt32LE(SIZE * 2, 8); // height counts the XOR and AND bitmaps
  image.writeUInt16LE(1, 12);
  image.writeUInt16LE(32, 14);
  image.writeUInt32LE(pixels + mask, 20);
  for (let y = 0; y < SIZE; y++) {
    const row = ART[SIZE - 1 - y]!; // bottom-up
    for (let x = 0; x < SIZE; x++) {
      const at = 40 + (y * SIZE + x) * 4;
      const c = row[x];
      // BGRA: the console's accent #2f5fd0, white, or transparent.
      const bgra = c === '#' ? [0xff, 0xff, 0xff, 0xff] : c === '.' ? [0xd0, 0x5f, 0x2f, 0xff] : [0, 0, 0, 0];
      image.set(bgra, at);
    }
  }
  const header = Buffer.alloc(6 + 16);
  header.writeUInt16LE(0, 0);
  header.writeUInt16LE(1, 2); // type: icon
  header.writeUInt16LE(1, 4); // one image
  header.writeUInt8(SIZE, 6);
  header.writeUInt8(SIZE, 7);
  header.writeUInt16LE(1, 10); // planes
  header.writeUInt16LE(32, 12); // bits per pixel
  header.writeUInt32LE(image.length, 14);
  header.writeUInt32LE(header.length, 18);
  return Buffer.concat([header, image]);
}

export const FAVICON = icon();

export function faviconRoute(app: FastifyInstance): void {
  app.get('/favicon.ico', async (_req, reply) =>
    reply.type('image/x-icon').header('cache-control', 'public, max-age=86400').send(FAVICON));
}
