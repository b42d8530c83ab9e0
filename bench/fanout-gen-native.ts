// The C generator (bench/fanout-gen.c) as the fan-out bench drives a forked fanout-gen.ts: send() a
// command, 'message' events for its answers. It is built here with the system's cc when its binary is
// missing or older than its source (bench/out/, not in git).
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { GenCommand, GenTarget } from './fanout-gen.js';
import { clientTextFrame } from '../test/helpers/ws-client-frame.js';

const source = fileURLToPath(new URL('./fanout-gen.c', import.meta.url));
const binary = fileURLToPath(new URL('./out/fanout-gen', import.meta.url));

/** The binary, built when missing or stale. */
export function nativeGenerator(): string {
  if (!existsSync(binary) || statSync(binary).mtimeMs < statSync(source).mtimeMs) {
    mkdirSync(fileURLToPath(new URL('./out/', import.meta.url)), { recursive: true });
    execFileSync('cc', ['-O2', '-Wall', '-o', binary, source], { stdio: 'inherit' });
  }
  return binary;
}

/** What the C generator sends on each new socket, then after the response's headers (hex: one word each). */
function openLine(target: GenTarget, count: number): string {
  const request = target.kind === 'http'
    ? `GET ${target.path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n`
    : `GET ${target.path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
      `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`;
  const hello = target.kind === 'ws' && target.hello.length > 0 ? Buffer.concat(target.hello.map((t) => clientTextFrame(t))).toString('hex') : '-';
  return `open ${target.port} ${count} ${Buffer.from(request, 'latin1').toString('hex')} ${hello}\n`;
}

/** One C generator process, with the part of ChildProcess the bench uses. */
export class NativeGenerator extends EventEmitter {
  private constructor(private readonly proc: ChildProcess) {
    super();
    createInterface({ input: proc.stdout as NodeJS.ReadableStream }).on('line', (line) => this.emit('message', JSON.parse(line) as unknown));
  }

  static start(): NativeGenerator {
    return new NativeGenerator(spawn(nativeGenerator(), [], { stdio: ['pipe', 'pipe', 'inherit'] }));
  }

  get pid(): number | undefined {
    return this.proc.pid;
  }

  send(cmd: GenCommand): boolean {
    const line = cmd.type === 'open' ? openLine(cmd.target, cmd.count) : cmd.type === 'reset' ? `reset ${cmd.latencies ? 1 : 0}\n` : `${cmd.type}\n`;
    return (this.proc.stdin as NodeJS.WritableStream).write(line);
  }

  disconnect(): void {
    this.proc.stdin?.end();
  }
}
