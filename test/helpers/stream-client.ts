// Reads /stream (NDJSON) over a plain HTTP connection, line by line.
import { request, type IncomingMessage } from 'node:http';
import { until } from './wait.js';

export class NdjsonClient {
  readonly lines: unknown[] = [];
  heartbeats = 0;
  private constructor(readonly res: IncomingMessage, private readonly abort: () => void) {}

  static open(url: string, headers: Record<string, string> = {}): Promise<NdjsonClient> {
    return new Promise((resolve, reject) => {
      const req = request(url, { headers }, (res) => {
        const client = new NdjsonClient(res, () => req.destroy());
        let buffer = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          buffer += chunk;
          let nl: number;
          while ((nl = buffer.indexOf('\n')) >= 0) {
            const line = buffer.slice(0, nl);
            buffer = buffer.slice(nl + 1);
            if (line === '') client.heartbeats++;
            else client.lines.push(JSON.parse(line));
          }
        });
        res.on('error', () => {});
        resolve(client);
      });
      req.on('error', reject);
      req.end();
    });
  }

  waitForLines(n: number, timeoutMs = 10_000): Promise<unknown[]> {
    return until(() => (this.lines.length >= n ? this.lines : undefined), `${n} NDJSON lines (have ${this.lines.length})`, timeoutMs);
  }

  ended(): Promise<void> {
    return new Promise((resolve) => (this.res.complete || this.res.destroyed ? resolve() : this.res.on('close', () => resolve())));
  }

  close(): void {
    this.abort();
  }
}
