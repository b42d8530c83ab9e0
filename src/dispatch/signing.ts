// Standard Webhooks signatures: webhook-signature = "v1," + base64(HMAC-SHA256(key, "<id>.<timestamp>.<body>")).
import { createHmac } from 'node:crypto';
import { HookhubError } from '../core/errors.js';

/** The HMAC key of a secret: `whsec_<base64>` decodes the base64; any other text is used as its UTF-8 bytes. */
export function signingKey(secret: string): Buffer {
  if (secret.startsWith('whsec_')) {
    const key = Buffer.from(secret.slice(6), 'base64');
    if (key.length === 0) throw new HookhubError('bad_request', 'a whsec_ secret must be followed by a base64 key');
    return key;
  }
  if (secret.length === 0) throw new HookhubError('bad_request', 'the signing secret is empty');
  return Buffer.from(secret, 'utf8');
}

export function sign(key: Buffer, id: string, timestamp: number, body: Buffer): string {
  const mac = createHmac('sha256', key).update(`${id}.${timestamp}.`).update(body).digest('base64');
  return `v1,${mac}`;
}
