// Encode once per message per wire format; every subscriber shares the bytes.
import { messageJsonText, type Message } from './message.js';

export type Encoder = (m: Message) => Buffer;

const encoders = new Map<string, Encoder>();

/** Registers a wire format (transports do this at import time). */
export function defineWire(name: string, encode: Encoder): (m: Message) => Buffer {
  encoders.set(name, encode);
  return (m) => frame(m, name);
}

export function frame(m: Message, wire: string): Buffer {
  const frames = (m.frames ??= {});
  const cached = frames[wire];
  if (cached) return cached;
  const encode = encoders.get(wire);
  if (!encode) throw new Error(`unknown wire format ${wire}`);
  return (frames[wire] = encode(m));
}

/** The message's JSON text, shared by the JSON-based wires. */
export const jsonFrame = defineWire('json', (m) => Buffer.from(messageJsonText(m)));

/** The JSON text with the log's epoch (consumers that asked for epochs). */
export const jsonEpochFrame = defineWire('json+epoch', (m) => Buffer.from(messageJsonText(m, true)));
