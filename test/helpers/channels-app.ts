// A real local web application answering Hookbox callbacks, recording each call's action, fields and headers.
import type { IncomingHttpHeaders } from 'node:http';
import { Receiver } from './receiver.js';

export interface Call {
  action: string;
  path: string;
  fields: Record<string, string>;
  headers: IncomingHttpHeaders;
}

/** What the app answers: a value is sent as JSON; `{raw, status?, delayMs?, setCookie?}` is sent as told. */
export type Decide = (call: Call) => unknown | { raw: string; status?: number; delayMs?: number; setCookie?: string[] };

export class ChannelsApp {
  readonly calls: Call[] = [];
  decide: Decide = (call) => (call.action === 'connect' ? [true, { name: call.fields.payload ? (JSON.parse(call.fields.payload) as { name?: string })?.name ?? 'anon' : 'anon' }] : [true, {}]);

  private constructor(readonly receiver: Receiver) {}

  static async start(decide?: Decide): Promise<ChannelsApp> {
    let self: ChannelsApp | undefined;
    const receiver = await Receiver.start(async (req, res) => {
      const fields = Object.fromEntries(new URLSearchParams(req.body.toString('utf8')));
      const path = req.url;
      const action = fields.action ?? path.split('/').pop() ?? '';
      const call: Call = { action, path, fields, headers: req.headers };
      self!.calls.push(call);
      const answer = self!.decide(call) as { raw?: string; status?: number; delayMs?: number; setCookie?: string[] } | unknown;
      const special = typeof answer === 'object' && answer !== null && !Array.isArray(answer) && ('raw' in answer || 'delayMs' in answer)
        ? (answer as { raw?: string; status?: number; delayMs?: number; setCookie?: string[] })
        : undefined;
      if (special?.delayMs) await new Promise((r) => setTimeout(r, special.delayMs));
      if (res.destroyed) return;
      res.writeHead(special?.status ?? 200, { 'content-type': 'application/json', ...(special?.setCookie ? { 'set-cookie': special.setCookie } : {}) });
      res.end(special ? special.raw ?? '[true, {}]' : JSON.stringify(answer));
    });
    self = new ChannelsApp(receiver);
    if (decide) self.decide = decide;
    return self;
  }

  get url(): string {
    return this.receiver.url;
  }

  of(action: string): Call[] {
    return this.calls.filter((c) => c.action === action);
  }
}

/** The connect answer naming the user from CONNECT's payload {name}. */
export const nameFromPayload = (call: Call): string => (JSON.parse(call.fields.payload ?? 'null') as { name?: string } | null)?.name ?? 'anon';
