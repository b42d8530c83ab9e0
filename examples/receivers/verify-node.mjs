// A webhook receiver that verifies Hookhub's Standard Webhooks signature, then reads the body by its type:
// form-urlencoded, multipart (fields and files) or JSON. Node's http module and the `standardwebhooks` package.
//
//   npm install standardwebhooks
//   WEBHOOK_SECRET=whsec_… PORT=8091 node verify-node.mjs
//   curl "$HOOKHUB/dispatch" -d _url=http://127.0.0.1:8091/hook -d item=book
//
// Each verified delivery is printed as one JSON line. A bad signature answers 401, which Hookhub takes as final
// (a 4xx other than 408 and 429 is not retried): the delivery fails at once, visible in its log.
//
// Two things matter:
// - Verify the raw bytes, before any parsing: the signature covers the body exactly as sent.
// - Pass { jsonParse: false }: verify() otherwise parses the body as JSON after checking it, and throws on a
//   form or multipart body although its signature is good.
import { createHmac, timingSafeEqual } from 'node:crypto';
import { isUtf8 } from 'node:buffer';
import { createServer } from 'node:http';
import { Webhook } from 'standardwebhooks';

const secret = process.env.WEBHOOK_SECRET;
if (!secret) {
  console.error('set WEBHOOK_SECRET to the secret Hookhub signs with (--signing-secret or _secret)');
  process.exit(2);
}
// whsec_<base64> is the usual form; any other text is a raw secret (Hookhub signs with its UTF-8 bytes).
const raw = !secret.startsWith('whsec_');
const webhook = new Webhook(secret, raw ? { format: 'raw' } : undefined);
const key = raw ? Buffer.from(secret, 'utf8') : Buffer.from(secret.slice(6), 'base64');

/** Throws unless the headers carry a valid signature of `body` made within the last 5 minutes. */
function verify(body, headers) {
  // The library signs the body as text: right for form, JSON and text multipart. A body that is not UTF-8
  // (a binary file in a multipart body) is verified here over its bytes, with the same rule.
  if (isUtf8(body)) return webhook.verify(body, headers, { jsonParse: false });
  const [id, timestamp, signatures] = ['webhook-id', 'webhook-timestamp', 'webhook-signature'].map((h) => headers[h]);
  if (!id || !timestamp || !signatures) throw new Error('missing webhook-id, webhook-timestamp or webhook-signature');
  if (Math.abs(Date.now() / 1000 - Number(timestamp)) > 300) throw new Error('timestamp too old or too new');
  const expected = createHmac('sha256', key).update(`${id}.${timestamp}.`).update(body).digest();
  const ok = signatures.split(' ').some((s) => {
    const [version, mac] = s.split(',');
    const given = Buffer.from(mac ?? '', 'base64');
    return version === 'v1' && given.length === expected.length && timingSafeEqual(given, expected);
  });
  if (!ok) throw new Error('no matching signature');
}

/** The body as fields, by its content type (after verifying: parsing never touches unverified bytes). */
async function read(body, contentType) {
  const type = (contentType ?? '').split(';')[0].trim().toLowerCase();
  if (body.length === 0) return { type: 'empty', fields: {} };
  if (type === 'application/json' || type.endsWith('+json')) return { type: 'json', fields: JSON.parse(body.toString('utf8')) };
  if (type === 'application/x-www-form-urlencoded') return { type: 'form', fields: Object.fromEntries(new URLSearchParams(body.toString('utf8'))) };
  if (type === 'multipart/form-data') {
    // The fetch API's multipart parser (built into Node 18+): fields are strings, files are File objects.
    const form = await new Response(body, { headers: { 'content-type': contentType } }).formData();
    const fields = {};
    for (const [name, value] of form) {
      fields[name] = typeof value === 'string' ? value : { file: value.name, type: value.type, bytes: value.size };
    }
    return { type: 'multipart', fields };
  }
  return { type, fields: { bytes: body.length } };
}

const server = createServer((req, res) => {
  const chunks = [];
  req.on('data', (chunk) => chunks.push(chunk));
  req.on('end', async () => {
    const body = Buffer.concat(chunks);
    try {
      verify(body, req.headers);
    } catch (err) {
      console.log(JSON.stringify({ rejected: req.headers['webhook-id'] ?? null, reason: err.message }));
      res.writeHead(401).end();
      return;
    }
    try {
      const { type, fields } = await read(body, req.headers['content-type']);
      console.log(JSON.stringify({ id: req.headers['webhook-id'], type, fields }));
      res.writeHead(204).end();
    } catch (err) {
      // Signed but unreadable: a 4xx that is not 408/429 is final for Hookhub (no retry would help).
      console.log(JSON.stringify({ unreadable: req.headers['webhook-id'], reason: err.message }));
      res.writeHead(422).end();
    }
  });
});

server.listen(Number(process.env.PORT ?? 8091), '127.0.0.1', () => {
  console.log(JSON.stringify({ listening: `http://127.0.0.1:${server.address().port}` }));
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
