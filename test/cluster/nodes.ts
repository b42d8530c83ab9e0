// Several Hookhub nodes in this process sharing the test Redis under one random prefix.
import { get as httpGet } from 'node:http';
import type { Config } from '../../src/config.js';
import type { Hookhub } from '../../src/server.js';
import { REDIS_URL, redisPrefix } from '../helpers/redis.js';
import { startHub } from '../helpers/server.js';

export async function startNodes(count: number, overrides: Partial<Config> = {}): Promise<{ prefix: string; nodes: Hookhub[] }> {
  const prefix = redisPrefix();
  const nodes: Hookhub[] = [];
  for (let i = 0; i < count; i++) nodes.push(await startHub({ store: 'redis', redisUrl: REDIS_URL, redisPrefix: prefix, ...overrides }));
  return { prefix, nodes };
}

export async function publish(node: Hookhub, topic: string, body: string, contentType = 'text/plain'): Promise<{ id: string }> {
  const res = await fetch(`${node.url}/api/topics/${encodeURIComponent(topic)}/publish`, { method: 'POST', headers: { 'content-type': contentType }, body });
  if (res.status !== 202) throw new Error(`publish answered ${res.status}: ${await res.text()}`);
  return (await res.json()) as { id: string };
}

/** GET without keep-alive (a kept-alive connection would hold the node's close for seconds). */
export function getJson<T>(url: string): Promise<{ status: number; body: T }> {
  return new Promise((resolve, reject) => {
    const req = httpGet(url, { agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        try {
          resolve({ status: res.statusCode ?? 0, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as T });
        } catch (err) {
          reject(err as Error);
        }
      });
    });
    req.on('error', reject);
  });
}
