// Pages written the way Hookbox's example pages are (a plain script loading /static/hookbox.js from the
// hub, globals, onload), and the small application behind them answering the callbacks: the user's
// name comes from the `user` cookie (0.3.3 pages) or from the connect payload {name} (0.3.4 pages).
import type { ServerResponse } from 'node:http';
import { Receiver, type Received } from '../helpers/receiver.js';

export interface PageApp {
  receiver: Receiver;
  url: string;
  /** Every callback the hub made: action and form fields, and the Cookie header it forwarded. */
  calls: Array<{ action: string; fields: Record<string, string>; cookie: string | undefined }>;
}

/** Serves `pages` (GET /<name>) with {{HUB}} replaced, and answers callbacks at POST /hb/<action>. */
export async function startPageApp(hubUrl: () => string, pages: Record<string, string>, setCookieOnConnect?: string): Promise<PageApp> {
  const calls: PageApp['calls'] = [];
  const receiver = await Receiver.start((req: Received, res: ServerResponse) => {
    const path = req.url.split('?')[0]!;
    if (req.method === 'GET') {
      const page = pages[path.slice(1)];
      res.writeHead(page ? 200 : 404, { 'content-type': 'text/html; charset=utf-8' });
      res.end(page?.replace(/\{\{HUB\}\}/g, hubUrl()) ?? 'no such page');
      return;
    }
    const fields = Object.fromEntries(new URLSearchParams(req.body.toString('utf8')));
    const action = fields.action ?? path.split('/').pop()!;
    const cookie = typeof req.headers.cookie === 'string' ? req.headers.cookie : undefined;
    calls.push({ action, fields, cookie });
    let answer: unknown = [true, {}];
    if (action === 'connect') {
      const fromCookie = /(?:^|;\s*)user=([^;]+)/.exec(cookie ?? '')?.[1];
      const fromPayload = (JSON.parse(fields.payload ?? 'null') as { name?: string } | null)?.name;
      const name = fromPayload ?? fromCookie;
      answer = name ? [true, { name }] : [false, { msg: 'who are you?' }];
    }
    if (action === 'create_channel') answer = [true, { history_size: 10, presenceful: true, reflective: true }];
    res.writeHead(200, { 'content-type': 'application/json', ...(action === 'connect' && setCookieOnConnect ? { 'set-cookie': setCookieOnConnect } : {}) });
    res.end(JSON.stringify(answer));
  });
  return { receiver, url: receiver.url, calls };
}

/**
 * A chat page as Hookbox's php_simple_chat is written: each publish shown as "h:mm:ss user: payload",
 * the time formatted from the frame's datetime by the page itself. `connectCall` is the page's
 * hookbox.connect(...) expression; `subscribe` says whether it subscribes to 'chat'.
 */
export function chatPage(connectCall: string, subscribe: boolean, debugFrames = false): string {
  return `<!doctype html>
<body>
<div id="history"></div>
<div id="status">loading</div>
<script src="{{HUB}}/static/hookbox.js"></script>
<script>
parseDateTime = function(datetime) { var d = new Date(Date.parse(datetime.replace('T', ' ').replace(/\\-/g, '/'))), h = d.getHours(), m = d.getMinutes(), s = d.getSeconds(); if (m < 10) { m = '0' + m; }; if (s < 10) { s = '0' + s; }; return [h, m, s].join(':'); }
var historyEl = document.getElementById('history');
var opened = [], subscribedArgs = null, lost = [], closes = 0;
onload = function() {
  ${debugFrames ? "hookbox.logging.get('net.protocols.rtjp').setLevel(hookbox.logging.DEBUG);" : ''}
  conn = ${connectCall};
  conn.onOpen = function(args) { opened.push(args); document.getElementById('status').innerHTML = 'open as ' + args.name; };
  conn.onConnectionLost = function(reason) { lost.push(reason); document.getElementById('status').innerHTML = 'lost: ' + reason; };
  conn.onClose = function() { closes++; document.getElementById('status').innerHTML = 'closed'; };
  conn.onError = function(args) { document.getElementById('status').innerHTML = 'error: ' + args.msg; };
  conn.onSubscribed = function(name, subscription, args) {
    subscribedArgs = args;
    subscription.onPublish = function(args) {
      var div = document.createElement('div');
      div.className = 'line';
      div.appendChild(document.createTextNode(parseDateTime(args.datetime) + ' ' + args.user + ': ' + args.payload));
      historyEl.appendChild(div);
    };
  };
  ${subscribe ? "conn.subscribe('chat');" : ''}
};
</script>
</body>`;
}
