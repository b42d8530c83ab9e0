// examples/receivers: the Node and Python receivers verify real /dispatch deliveries (Standard Webhooks
// signatures) for form, JSON and multipart bodies (text and binary files), and refuse a wrong signature.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { startHub } from '../helpers/server.js';
import { until } from '../helpers/wait.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const whsec = () => `whsec_${randomBytes(24).toString('base64')}`;

interface Line { listening?: string; id?: string; type?: string; fields?: Record<string, unknown>; rejected?: string | null; reason?: string }

const children = new Set<ChildProcess>();
afterEach(() => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  children.clear();
});

/** Starts an example receiver on a free port; its stdout is one JSON line per delivery. */
async function startReceiver(command: string[], secret: string): Promise<{ url: string; lines: Line[] }> {
  const child = spawn(command[0]!, command.slice(1), { cwd: root, env: { ...process.env, WEBHOOK_SECRET: secret, PORT: '0' }, stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  const lines: Line[] = [];
  let stderr = '';
  let partial = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => { stderr += d; });
  child.stdout!.setEncoding('utf8').on('data', (d: string) => {
    const parts = (partial + d).split('\n');
    partial = parts.pop() ?? '';
    for (const p of parts) if (p.trim()) lines.push(JSON.parse(p) as Line);
  });
  await until(() => {
    if (child.exitCode !== null) throw new Error(`${command.join(' ')} exited: ${stderr}`);
    return lines.some((l) => l.listening);
  }, 'the receiver listening', 15_000);
  return { url: lines.find((l) => l.listening)!.listening!, lines };
}

const RECEIVERS: Array<[string, string[]]> = [
  ['Node (standardwebhooks, jsonParse: false)', [process.execPath, 'examples/receivers/verify-node.mjs']],
  ['Python (standard library)', ['python3', 'examples/receivers/verify_python.py']],
];

describe.each(RECEIVERS)('examples/receivers: %s', (_name, command) => {
  it('verifies form, JSON and multipart deliveries and reads their fields; refuses a wrong signature', async () => {
    const secret = whsec();
    const hub = await startHub({ signingSecret: secret });
    const receiver = await startReceiver(command, secret);
    const hook = `${receiver.url}/hook`;
    const dispatch = async (init: RequestInit): Promise<string> => {
      const res = await fetch(`${hub.url}/dispatch`, { method: 'POST', ...init });
      expect(res.status).toBe(202);
      return ((await res.json()) as { id: string }).id;
    };
    const form = await dispatch({ headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ _url: hook, item: 'book', qty: '2', note: 'ünïcode & more' }).toString() });
    const json = await dispatch({ headers: { 'content-type': 'application/json' }, body: JSON.stringify({ _url: hook, item: 'book', qty: 2, tags: ['a', 'b'] }) });
    const textParts = new FormData();
    textParts.set('_url', hook);
    textParts.set('item', 'book');
    textParts.set('note', new Blob(['hello, world\n'], { type: 'text/plain' }), 'note.txt');
    const multipartText = await dispatch({ body: textParts });
    const binaryParts = new FormData();
    binaryParts.set('_url', hook);
    binaryParts.set('item', 'scan');
    binaryParts.set('image', new Blob([new Uint8Array([0xff, 0xd8, 0xff, 0xe0, 0x00, 0x80, 0xfe])], { type: 'image/jpeg' }), 'scan.jpg');
    const multipartBinary = await dispatch({ body: binaryParts });
    // Signed with another key (_secret overrides --signing-secret): refused.
    const forged = await dispatch({ headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ _url: hook, _secret: whsec(), item: 'x' }).toString() });

    const seen = (id: string) => receiver.lines.find((l) => l.id === id || l.rejected === id);
    await until(() => [form, json, multipartText, multipartBinary, forged].every((id) => seen(id)), 'every delivery at the receiver', 15_000);
    expect(seen(form)).toEqual({ id: form, type: 'form', fields: { item: 'book', qty: '2', note: 'ünïcode & more' } });
    expect(seen(json)).toEqual({ id: json, type: 'json', fields: { item: 'book', qty: 2, tags: ['a', 'b'] } });
    expect(seen(multipartText)).toEqual({ id: multipartText, type: 'multipart', fields: { item: 'book', note: { file: 'note.txt', type: 'text/plain', bytes: 13 } } });
    expect(seen(multipartBinary)).toEqual({ id: multipartBinary, type: 'multipart', fields: { item: 'scan', image: { file: 'scan.jpg', type: 'image/jpeg', bytes: 7 } } });
    expect(seen(forged)).toMatchObject({ rejected: forged, reason: expect.stringMatching(/signature/i) });
    // The 401 is final for Hookhub: the forged delivery failed, the others succeeded.
    await until(async () => ((await (await fetch(`${hub.url}/api/deliveries/${forged}`)).json()) as { status: string }).status === 'failed' || undefined, 'the refused delivery failed');
    for (const id of [form, json, multipartText, multipartBinary]) {
      expect(((await (await fetch(`${hub.url}/api/deliveries/${id}`)).json()) as { status: string }).status).toBe('succeeded');
    }
  });
});
