// Hookhub admin console: plain DOM, no framework. Every value is rendered as text (never innerHTML).
'use strict';

const $ = (id) => document.getElementById(id);

/** Builds an element: el('td', {class: 'x', onclick: fn}, 'text', child, …). Strings become text nodes. */
function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith('on')) node.addEventListener(key.slice(2), value);
    else if (key === 'class') node.className = value;
    else if (key === 'dataset') Object.assign(node.dataset, value);
    else node.setAttribute(key, value === true ? '' : String(value));
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

function show(container, ...nodes) {
  container.replaceChildren(...nodes.filter((n) => n !== null && n !== undefined && n !== false));
}

/** A table in a box that scrolls sideways when the window is narrower than the table. */
function table(headers, rows, empty) {
  if (rows.length === 0) return el('p', { class: 'empty' }, empty || 'Nothing here yet.');
  return el('div', { class: 'table-wrap' }, el('table', {},
    el('thead', {}, el('tr', {}, headers.map((h) => el('th', {}, h)))),
    el('tbody', {}, rows)));
}

const pretty = (v) => (typeof v === 'string' ? v : JSON.stringify(v, null, 2));
const pad = (n) => String(n).padStart(2, '0');
/** The browser's offset from UTC at `d`, as +01:00. */
function zone(d) {
  const minutes = -d.getTimezoneOffset();
  return `${minutes < 0 ? '-' : '+'}${pad(Math.floor(Math.abs(minutes) / 60))}:${pad(Math.abs(minutes) % 60)}`;
}
/** Local time with its offset (2026-12-06 19:34:12 +01:00), so that no time is read in the wrong zone. */
function time(iso) {
  if (!iso) return '';
  // Hookbox's channel datetimes are the server's local time without a zone: shown as such, not converted.
  if (!/(Z|[+-]\d\d:?\d\d)$/i.test(iso)) return `${iso.replace('T', ' ')} (server time)`;
  const d = new Date(iso);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())} ${zone(d)}`;
}
const badge = (text, kind) => el('span', { class: `badge ${kind || text}` }, text);

function notice(text, kind) {
  const n = $('notice');
  n.textContent = text;
  n.className = kind || 'error';
  n.hidden = !text;
}

async function api(path, options) {
  const init = { headers: { accept: 'application/json' }, credentials: 'same-origin', ...options };
  if (options && options.json !== undefined) {
    init.method = init.method || 'POST';
    init.headers = { ...init.headers, 'content-type': 'application/json' };
    init.body = JSON.stringify(options.json);
    delete init.json;
  }
  const res = await fetch(`/admin/api/${path}`, init);
  const text = await res.text();
  let body;
  try { body = text ? JSON.parse(text) : {}; } catch { body = { error: text }; }
  if (res.status === 401) throw new Error('not signed in: reload the page to enter the admin password');
  if (!res.ok) throw new Error(body.error || `HTTP ${res.status}`);
  return body;
}

// ---- overview -------------------------------------------------------------------------------

function duration(s) {
  const d = Math.floor(s / 86400), h = Math.floor((s % 86400) / 3600), m = Math.floor((s % 3600) / 60);
  return d > 0 ? `${d}d ${h}h` : h > 0 ? `${h}h ${m}m` : `${m}m ${s % 60}s`;
}

async function loadOverview() {
  const o = await api('overview');
  const cards = [
    ['uptime', 'Uptime', duration(o.uptime)],
    ['store', 'Store', o.store],
    ['connections', 'Connections', o.connections.total],
    ['topics', 'Topics', o.topics],
    ['published', 'Messages published', o.messagesPublished],
    ['queue', 'Webhook queue depth', o.queueDepth],
    ['subscriptions', 'WebSub subscriptions', o.subscriptions],
    ['channels', 'Channels', o.channels],
    ['users', 'Channel users', o.users],
  ];
  show($('overview-cards'), ...cards.map(([key, label, value]) =>
    el('div', { class: 'card', dataset: { stat: key } }, el('div', { class: 'value' }, value), el('div', { class: 'label' }, label))));
  const transports = Object.entries(o.connections.byTransport);
  show($('overview-transports'), table(['transport', 'open'], transports.map(([t, n]) => el('tr', {}, el('td', {}, t), el('td', { class: 'num' }, n))), 'No open consumer connections.'));
}

// ---- topics ---------------------------------------------------------------------------------

async function loadTopics() {
  const { topics } = await api('topics');
  show($('topics-list'), table(['topic', 'last offset', 'kept', 'history size', 'live consumers'], topics.map((t) =>
    el('tr', { class: 'clickable', dataset: { topic: t.topic }, onclick: () => openTopic(t.topic) },
      el('td', {}, el('a', { href: '#topics', onclick: (e) => { e.preventDefault(); openTopic(t.topic); } }, t.topic)),
      el('td', { class: 'num' }, t.last), el('td', { class: 'num' }, t.kept), el('td', { class: 'num' }, t.historySize),
      el('td', { class: 'num' }, t.consumers))), 'No topics yet: publish a message.'));
}

async function openTopic(topic) {
  const t = await api(`topics/${encodeURIComponent(topic)}?limit=50`);
  const detail = $('topic-detail');
  const subs = t.consumers.websub;
  show(detail,
    el('h3', {}, 'Topic ', el('code', {}, t.topic)),
    el('p', {}, `offsets ${t.first}–${t.last} · ${t.consumers.live} live consumer(s) (stream, SSE, channel) · ${subs.length} WebSub subscription(s)`,
      t.channel ? ' · also a browser channel' : ''),
    subs.length ? table(['callback', 'state', 'lease ends'], subs.map((s) => el('tr', {}, el('td', {}, s.callback), el('td', {}, badge(s.state)), el('td', {}, time(s.leaseExpiresAt))))) : null,
    el('h4', {}, 'History (newest first)'),
    table(['offset', 'time', 'content type', 'data'], t.messages.slice().reverse().map((m) =>
      el('tr', { class: 'message' }, el('td', { class: 'num' }, m.offset), el('td', {}, time(m.time)), el('td', {}, m.contentType),
        el('td', {}, el('pre', {}, pretty(m.data)), m.encoding ? badge(m.encoding, 'muted') : null))), 'No messages kept.'));
  detail.hidden = false;
  detail.scrollIntoView({ block: 'nearest' });
}

// ---- channels -------------------------------------------------------------------------------

async function loadChannels() {
  const { channels } = await api('channels');
  show($('channels-list'), table(['channel', 'users', 'connections', 'history', 'flags'], channels.map((c) =>
    el('tr', { class: 'clickable', onclick: () => openChannel(c.name) },
      el('td', {}, el('a', { href: '#channels', onclick: (e) => { e.preventDefault(); openChannel(c.name); } }, c.name)),
      el('td', { class: 'num' }, c.users), el('td', { class: 'num' }, c.connections), el('td', { class: 'num' }, c.historyEntries),
      el('td', {}, c.persistent ? badge('persistent', 'muted') : null, c.presenceful ? badge('presence', 'muted') : null, c.polling ? badge('polling', 'muted') : null))),
  'No browser channels.'));
}

async function openChannel(name) {
  const c = await api(`channels/${encodeURIComponent(name)}`);
  const detail = $('channel-detail');
  const editor = el('textarea', { id: 'channel-options', rows: 16, spellcheck: 'false' }, JSON.stringify(c.options, null, 2));
  const status = el('span', { class: 'status', role: 'status' });
  const save = async () => {
    let options;
    try { options = JSON.parse(editor.value); } catch { status.textContent = 'not valid JSON'; status.className = 'status error'; return; }
    try {
      await api(`channels/${encodeURIComponent(name)}/options`, { json: options });
      status.textContent = 'saved';
      status.className = 'status ok';
      loadChannels().catch(() => {});
    } catch (err) {
      status.textContent = err.message;
      status.className = 'status error';
    }
  };
  show(detail,
    el('h3', {}, 'Channel ', el('code', {}, c.name)),
    el('h4', {}, 'Members'),
    table(['user', 'connections'], c.members.map((m) => el('tr', {}, el('td', {}, m.name), el('td', { class: 'num' }, m.connections.length))), 'No subscribers.'),
    el('h4', {}, 'State'), el('pre', {}, pretty(c.state)),
    el('h4', {}, 'History'),
    table(['kind', 'user', 'time', 'payload'], c.history.slice().reverse().map(([kind, a]) =>
      el('tr', {}, el('td', {}, kind), el('td', {}, a.user ?? '—'), el('td', {}, time(a.datetime)), el('td', {}, 'payload' in a ? el('pre', {}, pretty(a.payload)) : ''))), 'No history (history_size 0?).'),
    el('h4', {}, 'Options'),
    editor,
    el('div', { class: 'actions' }, el('button', { type: 'button', id: 'channel-save', onclick: save }, 'Save options'), status));
  detail.hidden = false;
}

// ---- users ----------------------------------------------------------------------------------

async function loadUsers() {
  const { users } = await api('users');
  show($('users-list'), table(['user', 'connections', 'channels', ''], users.map((u) =>
    el('tr', {},
      el('td', {}, u.name),
      el('td', {}, u.connections.map((c) => badge(c.transport, 'muted'))),
      el('td', {}, u.channels.join(', ')),
      el('td', {}, el('button', { type: 'button', class: 'danger', onclick: () => kick(u.name) }, 'Kick')))),
  'No connected users.'));
}

async function kick(name) {
  if (!confirm(`Disconnect every connection of ${name}?`)) return;
  try {
    await api(`users/${encodeURIComponent(name)}/kick`, { method: 'POST' });
    notice(`${name} kicked`, 'ok');
  } catch (err) {
    notice(err.message);
  }
  await loadUsers();
}

// ---- deliveries -----------------------------------------------------------------------------

/** The page of the log shown: undefined for the newest, else the cursor of an older page. */
let deliveriesCursor;

function deliveryQuery() {
  const q = new URLSearchParams({ limit: '100' });
  const add = (name, value) => { if (value) q.set(name, value); };
  add('status', $('delivery-status').value);
  add('id', $('delivery-id').value.trim());
  add('endpoint', $('delivery-endpoint').value.trim());
  // datetime-local is local time without a zone: as an ISO time in UTC.
  for (const name of ['since', 'until']) {
    const v = $(`delivery-${name}`).value;
    if (v) add(name, new Date(v).toISOString());
  }
  add('cursor', deliveriesCursor);
  return q.toString();
}

async function loadDeliveries() {
  const { deliveries, next_cursor: next } = await api(`deliveries?${deliveryQuery()}`);
  const older = $('deliveries-older');
  older.hidden = !next;
  older.dataset.cursor = next || '';
  $('deliveries-newest').hidden = deliveriesCursor === undefined;
  // A refresh re-renders the table: the attempt lists the reader opened stay open.
  const opened = new Set([...document.querySelectorAll('#deliveries-list tr[data-id] details[open]')].map((d) => d.closest('tr').dataset.id));
  show($('deliveries-list'), table(['created', 'url', 'status', 'attempts', 'last attempt', ''], deliveries.map((d) => {
    const last = d.attempts[d.attempts.length - 1];
    const attempts = el('details', { open: opened.has(d.id) }, el('summary', {}, `${d.attempts.length} / ${d.max_attempts}`),
      el('ol', {}, d.attempts.map((a) => el('li', {}, `${time(a.at)} — ${a.status ?? 'no answer'} in ${a.duration_ms} ms`, a.error ? ` — ${a.error}` : '',
        a.response ? el('pre', {}, a.response) : null))));
    return el('tr', { dataset: { id: d.id } },
      el('td', {}, time(d.created_at)),
      el('td', { class: 'url' }, `${d.method} ${d.url}`, el('div', { class: 'muted' }, d.id)),
      el('td', {}, badge(d.status), d.parked ? badge('parked', 'muted') : null, d.held ? badge('held', 'muted') : null),
      el('td', {}, attempts),
      el('td', {}, last ? `${last.status ?? last.error ?? ''}` : '—'),
      el('td', {}, el('button', { type: 'button', onclick: () => resend(d.id) }, 'Resend')));
  }), 'No deliveries.'));
}

async function resend(id) {
  try {
    await api(`deliveries/${encodeURIComponent(id)}/retry`, { method: 'POST' });
    notice(`delivery ${id} queued again`, 'ok');
  } catch (err) {
    notice(err.message);
  }
  await loadDeliveries();
}

// ---- endpoints ------------------------------------------------------------------------------

const percent = (rate) => (rate === null ? '—' : `${Math.round(rate * 1000) / 10}%`);
const limitText = (l) => [l.concurrency ? `${l.concurrency} at once` : null, l.rate ? `${l.rate}/s (burst ${l.burst})` : null].filter(Boolean).join(', ') || 'none';

async function loadEndpoints() {
  const { endpoints } = await api('endpoints?limit=1000');
  show($('endpoints-list'), table(['endpoint', 'state', 'success rate', 'mean latency', 'attempts', 'limits', ''], endpoints.map((e) => {
    const path = `endpoints/${encodeURIComponent(e.id)}`;
    return el('tr', { dataset: { endpoint: e.id } }, el('td', { class: 'url' }, e.id, e.kind === 'prefix' ? badge('prefix', 'muted') : null),
      el('td', {}, badge(e.state, { closed: 'ok', open: 'failed', half_open: 'pending', disabled: 'failed' }[e.state]),
        e.disabled ? el('span', { class: 'muted' }, ` ${e.disabled.reason}`) : null),
      el('td', { class: 'num' }, percent(e.recent.success_rate)), el('td', { class: 'num' }, `${e.recent.mean_latency_ms} ms`),
      el('td', { class: 'num' }, e.recent.attempts), el('td', {}, limitText(e.limits)),
      el('td', {},
        e.state === 'disabled'
          ? el('button', { type: 'button', class: 'enable', onclick: () => act(`${path}/enable`, `${e.id} enabled`) }, 'Enable')
          : el('button', { type: 'button', class: 'danger disable', onclick: () => act(`${path}/disable`, `${e.id} disabled`) }, 'Disable'),
        el('button', { type: 'button', onclick: () => act(`${path}/replay?status=failed`, 'failed deliveries queued again') }, 'Replay failed'),
        el('button', { type: 'button', onclick: () => act(`${path}/replay?status=parked`, 'parked deliveries released') }, 'Release parked'),
        el('button', { type: 'button', onclick: () => editEndpoint(e) }, 'Edit')));
  }), 'No endpoints yet: they appear after their first attempt, or when defined below.'));
}

async function act(path, done) {
  try {
    const r = await api(path, { method: 'POST' });
    notice(r.queued !== undefined ? `${done}: ${r.queued}` : done, 'ok');
  } catch (err) {
    notice(err.message);
  }
  await loadEndpoints();
}

async function replay(event) {
  event.preventDefault();
  const q = new URLSearchParams({ status: $('replay-status').value });
  for (const name of ['since', 'until']) {
    const v = $(`replay-${name}`).value;
    if (v) q.set(name, new Date(v).toISOString());
  }
  await act(`endpoints/${encodeURIComponent($('replay-endpoint').value)}/replay?${q}`, 'deliveries queued again');
}

function editEndpoint(e) {
  $('replay-endpoint').value = e.id;
  $('endpoint-id').value = e.id;
  for (const key of ['concurrency', 'rate', 'burst']) $(`endpoint-${key}`).value = e.settings[key] ?? '';
}

async function saveEndpoint(event) {
  event.preventDefault();
  const settings = {};
  for (const key of ['concurrency', 'rate', 'burst']) {
    const v = $(`endpoint-${key}`).value;
    if (v !== '') settings[key] = Number(v);
  }
  try {
    await api(`endpoints/${encodeURIComponent($('endpoint-id').value)}`, { method: 'PUT', json: settings });
    notice('endpoint saved', 'ok');
  } catch (err) {
    notice(err.message);
  }
  await loadEndpoints();
}

// ---- WebSub and callbacks -------------------------------------------------------------------

async function loadSubscriptions() {
  const { subscriptions } = await api('subscriptions');
  show($('subscriptions-list'), table(['topic', 'callback', 'state', 'lease ends', 'last delivery'], subscriptions.map((s) =>
    el('tr', {}, el('td', {}, s.topic), el('td', { class: 'url' }, s.callback), el('td', {}, badge(s.state), s.pendingRequest ? badge(`${s.pendingRequest}?`, 'muted') : null),
      el('td', {}, time(s.leaseExpiresAt)),
      el('td', {}, s.lastDelivery ? `${time(s.lastDelivery.at)} — ${s.lastDelivery.ok ? 'ok' : (s.lastDelivery.error ?? s.lastDelivery.status)}` : '—'))),
  'No WebSub subscriptions.'));
}

async function loadCallbacks() {
  const { enabled, callbacks } = await api('callbacks');
  show($('callbacks-list'),
    enabled ? null : el('p', { class: 'muted' }, 'No application configured (--cb-url / --cb-single-url): every action is allowed.'),
    table(['time', 'action', 'outcome', 'ms', 'message'], callbacks.map((c) =>
      el('tr', {}, el('td', {}, time(c.at)), el('td', {}, c.action), el('td', {}, badge(c.ok ? 'ok' : 'refused', c.ok ? 'succeeded' : 'failed')),
        el('td', { class: 'num' }, c.ms), el('td', {}, c.msg ?? ''))), 'No callbacks yet.'));
}

// ---- publish --------------------------------------------------------------------------------

async function publish(event) {
  event.preventDefault();
  const result = $('publish-result');
  const topic = $('publish-topic').value;
  try {
    const r = await api('publish', { json: { topic, contentType: $('publish-type').value, body: $('publish-body').value } });
    show(result, `Published to ${r.topic} at offset ${r.offset}. `,
      // The link changes the fragment (the Topics tab, a history entry); the topic's detail opens below it.
      el('a', { href: '#topics', id: 'publish-view', onclick: () => { openTopic(r.topic).catch((e) => notice(e.message)); } }, 'View topic history'));
    result.className = 'ok';
  } catch (err) {
    show(result, err.message);
    result.className = 'error';
  }
}

// ---- tabs -----------------------------------------------------------------------------------

const loaders = {
  overview: loadOverview,
  topics: loadTopics,
  channels: loadChannels,
  users: loadUsers,
  deliveries: loadDeliveries,
  endpoints: loadEndpoints,
  subscriptions: loadSubscriptions,
  callbacks: loadCallbacks,
  publish: async () => {},
};

let current = 'overview';
/** The tab's refresh in flight, if any: the timer does not start another on top of it. */
let loading;

function refresh(tab) {
  loading = loaders[tab]().then(() => { if ($('notice').className === 'error') notice(''); }, (err) => notice(err.message))
    .finally(() => { loading = undefined; });
  return loading;
}

/** Shows the tab named by the URL's #fragment (clicks, links, Back and Forward all change the fragment). */
function select(tab) {
  if (!(tab in loaders)) {
    // An unknown or missing fragment: the overview, without a history entry of its own.
    tab = 'overview';
    history.replaceState(null, '', '#overview');
  }
  current = tab;
  for (const button of document.querySelectorAll('#tabs button')) button.classList.toggle('active', button.dataset.tab === tab);
  for (const name of Object.keys(loaders)) $(name).hidden = name !== tab;
  return refresh(tab);
}

/** Every tab keeps itself current: the overview every 2 s, the lists every 5 s (not while hidden). */
const REFRESH_MS = { overview: 2000 };
const REFRESH_DEFAULT_MS = 5000;
let lastRefresh = 0;
function tick() {
  if (document.hidden || loading || current === 'publish') return;
  if (Date.now() - lastRefresh < (REFRESH_MS[current] || REFRESH_DEFAULT_MS)) return;
  lastRefresh = Date.now();
  void refresh(current);
}

document.addEventListener('DOMContentLoaded', () => {
  // A tab is a #fragment: clicking one adds a history entry, Back and Forward (hashchange) return to it.
  for (const button of document.querySelectorAll('#tabs button')) {
    button.addEventListener('click', () => {
      if (location.hash === `#${button.dataset.tab}`) void refresh(button.dataset.tab);
      else location.hash = button.dataset.tab;
    });
  }
  window.addEventListener('hashchange', () => { lastRefresh = Date.now(); void select(location.hash.slice(1)); });
  for (const input of document.querySelectorAll('input[type=datetime-local]')) input.title = `local time (UTC${zone(new Date())})`;
  for (const span of document.querySelectorAll('.tz')) span.textContent = `(local, UTC${zone(new Date())})`;
  for (const button of document.querySelectorAll('button[data-refresh]')) button.addEventListener('click', () => refresh(button.dataset.refresh));
  const fromNewest = () => { deliveriesCursor = undefined; return refresh('deliveries'); };
  $('delivery-status').addEventListener('change', fromNewest);
  $('delivery-search').addEventListener('submit', (event) => { event.preventDefault(); void fromNewest(); });
  $('deliveries-newest').addEventListener('click', fromNewest);
  $('deliveries-older').addEventListener('click', () => { deliveriesCursor = $('deliveries-older').dataset.cursor || undefined; void refresh('deliveries'); });
  $('publish-form').addEventListener('submit', publish);
  $('endpoint-form').addEventListener('submit', saveEndpoint);
  $('replay-form').addEventListener('submit', replay);
  lastRefresh = Date.now();
  select(location.hash.slice(1));
  setInterval(tick, 500);
});
