// had web console: polls the admin server's console API (docs/console-api.md)
// every second and draws the pair, its paths, agents, resources and plots.
// No libraries: the machines it runs on have no internet.
import { chart } from './plot.js';

const API = '/v1/';
const TOKEN_KEY = 'had-token';
const POLL_MS = 1000;
const FETCH_TIMEOUT_MS = 8000; // a status read; admin POSTs wait for had2 up to 30 s
const CONFIRM_MS = 10000;
const WORDS = { N: 'normal', T: 'takeover: serving both groups', R: 'recovering', D: 'down or standing by', '?': 'unknown' };

const $ = (id) => document.getElementById(id);
const esc = (s) => String(s ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c]));

let token = sessionStorage.getItem(TOKEN_KEY) || '';
let samples = []; // history, oldest first, each with _t (ms)
let windowMs = 600e3;
let names = { local: 'local', peer: 'peer' };
let timer = 0, inflight = false, again = false;
let busy = false, confirming = 0, answered = false, rendered = false;

class HTTPError extends Error {
  constructor(status, msg) { super(msg); this.status = status; }
}
class NetError extends Error {}

// api calls the console API with the token; it throws HTTPError for a
// non-2xx answer and NetError when no answer came.
async function api(path, method = 'GET', timeout = FETCH_TIMEOUT_MS) {
  const ctl = new AbortController();
  const t = setTimeout(() => ctl.abort(), timeout);
  try {
    let r;
    try {
      r = await fetch(API + path, { method, headers: { Authorization: 'Bearer ' + token }, signal: ctl.signal, cache: 'no-store' });
    } catch (e) {
      throw new NetError(e.name === 'AbortError' ? `no answer in ${timeout / 1000} s` : e.message);
    }
    let body = null;
    try { body = await r.json(); } catch (e) { /* not JSON: use the status text */ }
    if (!r.ok) throw new HTTPError(r.status, (body && body.error) || r.statusText || 'error');
    return body;
  } finally {
    clearTimeout(t);
  }
}

// ---- polling ----

function kick() {
  if (inflight) { again = true; return; }
  clearTimeout(timer);
  poll();
}

async function poll() {
  inflight = true;
  try {
    const last = samples.length ? samples[samples.length - 1].t : '';
    const [st, hist] = await Promise.all([api('status'), api('history' + (last ? '?since=' + encodeURIComponent(last) : ''))]);
    addSamples(hist, !last);
    render(st);
    banner('');
    if (!rendered) { rendered = true; performance.mark('had-first-render'); }
  } catch (e) {
    if (e.status === 401) { signOut('The admin server refused this token.'); return; }
    if (e instanceof NetError) banner(`Cannot reach the admin server (${e.message}). Retrying every second…`);
    else if (e instanceof HTTPError) banner(`The admin server answered ${e.status}: ${e.message}`);
    else { banner('Display error: ' + e.message); console.error(e); }
  } finally {
    inflight = false;
    if (token) timer = setTimeout(poll, again ? 0 : POLL_MS);
    again = false;
  }
}

function banner(msg) {
  const b = $('banner');
  b.textContent = msg;
  b.hidden = !msg;
  document.body.classList.toggle('stale', !!msg && rendered);
}

function addSamples(hist, full) {
  const got = ((hist && hist.samples) || []).map((s) => Object.assign(s, { _t: Date.parse(s.t) }));
  if (full) {
    samples = got;
    if (got.length > 1) windowMs = Math.max(600e3, got[got.length - 1]._t - got[0]._t);
  } else {
    const lastT = samples.length ? samples[samples.length - 1]._t : -Infinity;
    for (const s of got) if (s._t > lastT) samples.push(s);
  }
  if (samples.length) {
    const from = samples[samples.length - 1]._t - windowMs;
    let i = 0;
    while (i < samples.length && samples[i]._t < from) i++;
    if (i) samples = samples.slice(i);
  }
}

// ---- sign in and out ----

function signIn(t) {
  token = t;
  sessionStorage.setItem(TOKEN_KEY, t);
  samples = [];
  rendered = false;
  $('login').hidden = true;
  $('app').hidden = false;
  $('signout').hidden = false;
  kick();
}

function signOut(msg) {
  token = '';
  sessionStorage.removeItem(TOKEN_KEY);
  clearTimeout(timer);
  banner('');
  $('app').hidden = true;
  $('signout').hidden = true;
  $('login').hidden = false;
  $('login-error').textContent = msg || '';
  $('token').value = '';
  $('token').focus();
}

// ---- admin requests ----

const OPS = {
  takeover: { btn: 'btn-takeover', doing: 'asking had2 to take over' },
  standby: { btn: 'btn-standby', doing: 'asking had2 to stand by' },
  recover: { btn: 'btn-recover', doing: 'asking had2 to recover' },
};

function answer(kind, text) {
  const a = $('answer');
  a.className = 'answer ' + kind;
  a.textContent = text;
  answered = true;
}

function setButtons() {
  for (const op of Object.values(OPS)) {
    const b = $(op.btn);
    b.disabled = busy;
    b.setAttribute('aria-busy', busy ? 'true' : 'false');
  }
  const s = $('btn-standby');
  s.textContent = confirming ? 'Confirm standby' : 'Standby';
  s.classList.toggle('danger', !!confirming);
  $('btn-cancel').hidden = !confirming;
}

function endConfirm() {
  clearTimeout(confirming);
  confirming = 0;
  setButtons();
}

async function act(op) {
  if (busy) return;
  if (op === 'standby' && !confirming) {
    // Standby hands the service away: ask once more.
    confirming = setTimeout(() => { endConfirm(); answer('', ''); }, CONFIRM_MS);
    setButtons();
    answer('busy', `Standby hands ${names.local}'s groups to ${names.peer}. Click “Confirm standby” to go ahead.`);
    return;
  }
  endConfirm();
  busy = true;
  setButtons();
  answer('busy', OPS[op].doing + '…');
  try {
    const r = await api(op, 'POST', 40000);
    answer(r.ok ? 'ok' : 'refused', (r.ok ? 'OK: ' : 'Refused: ') + r.text);
  } catch (e) {
    if (e.status === 401) { busy = false; signOut('The admin server refused this token.'); return; }
    if (e.status === 504) answer('refused', 'Timed out: had2 did not answer.');
    else answer('refused', 'Failed: ' + e.message);
  } finally {
    busy = false;
    setButtons();
    if (token) kick();
  }
}

// ---- formatting ----

const pad = (n) => String(n).padStart(2, '0');
function clock(ms, secs = true) {
  const d = new Date(ms);
  return pad(d.getHours()) + ':' + pad(d.getMinutes()) + (secs ? ':' + pad(d.getSeconds()) : '');
}
function when(iso) {
  const ms = Date.parse(iso);
  if (!isFinite(ms)) return '';
  const d = new Date(ms), now = new Date();
  const day = d.toDateString() === now.toDateString() ? '' : `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} `;
  return day + clock(ms);
}
function ago(s) {
  if (s == null || !isFinite(s)) return '–';
  if (s < 10) return s.toFixed(s < 1 ? 2 : 1) + ' s';
  if (s < 120) return Math.round(s) + ' s';
  if (s < 7200) return Math.round(s / 60) + ' min';
  return Math.round(s / 3600) + ' h';
}
function ms(v) {
  if (v == null || !isFinite(v)) return '–';
  return v < 1 ? v.toFixed(2) + ' ms' : v < 10 ? v.toFixed(1) + ' ms' : Math.round(v) + ' ms';
}
const num = (v, d = 0) => (v == null || !isFinite(v) ? '–' : v.toFixed(d));
const pill = (cls, text, title) => `<span class="pill ${cls}"${title ? ` title="${esc(title)}"` : ''}>${esc(text)}</span>`;
const table = (head, rows, empty) => rows.length
  ? '<thead><tr>' + head.map((h) => `<th${h.startsWith('#') ? ' class="num"' : ''}>${esc(h.replace(/^#/, ''))}</th>`).join('') + '</tr></thead><tbody>' + rows.join('') + '</tbody>'
  : `<tbody><tr><td class="muted">${esc(empty)}</td></tr></tbody>`;

// ---- rendering ----

function render(st) {
  const L = st.local, P = st.peer;
  const peerHeard = L.peer || {};
  names = { local: L.node.name || 'node ' + L.node.id, peer: (P && P.node.name) || peerHeard.name || 'peer' };
  const peerState = peerHeard.alive === false ? 'D' : ((P && P.node.state) || peerHeard.state || '?');

  // pair, node 1 first
  const first = L.node.id === 1 ? names.local : names.peer, second = L.node.id === 1 ? names.peer : names.local;
  $('pair-order').textContent = `(${first}, ${second})`;
  const m = /^\((.),(.)\)$/.exec(L.pair || '');
  $('pair').innerHTML = m ? `(<span class="s${m[1].replace('?', 'Q')}">${esc(m[1])}</span>,<span class="s${m[2].replace('?', 'Q')}">${esc(m[2])}</span>)` : esc(L.pair || '–');
  $('pair-text').textContent = pairText(L.node.state, names.local, peerState, names.peer);

  // nodes
  nodeCard('local', L.node, L.node.state, WORDS[L.node.state] || L.node.state, L.daemons,
    L.perf ? `CPU\u00a0${num(L.perf.cpu_percent)}% · memory\u00a0${num(L.perf.mem_percent)}% · load\u00a0${num(L.perf.load1, 2)}` : '');
  let extra;
  if (peerHeard.alive === false) extra = `silent for ${ago(peerHeard.last_heard_s)}: counted as down (last heard in ${peerHeard.state || '?'})`;
  else extra = `heard ${ago(peerHeard.last_heard_s)} ago · epoch ${peerHeard.epoch ?? '–'}` + (P && P.perf ? `\nCPU\u00a0${num(P.perf.cpu_percent)}% · memory\u00a0${num(P.perf.mem_percent)}%` : '');
  if (!P && st.peer_error) extra += `\nits admin server: ${st.peer_error}`;
  const pn = P ? P.node : peerHeard;
  nodeCard('peer', { id: pn.id, name: names.peer, held: pn.held, flags: pn.flags }, peerState,
    (WORDS[peerState] || peerState), P ? P.daemons : null, extra);
  $('actions-node').textContent = 'on ' + names.local;

  if (!answered && L.last_admin_reply) {
    const r = L.last_admin_reply;
    $('answer').className = 'answer muted';
    $('answer').textContent = `last answer (#${r.id}): ${r.ok ? 'OK' : 'refused'}: ${r.text}`;
  }

  renderPaths(L);
  renderAgents(L, P);
  renderResources(L, P);
  renderTransitions(L, P);
  drawPlots();
  $('updated').textContent = 'updated ' + when(L.taken);
}

function pairText(ls, ln, ps, pn) {
  if (ls === 'N' && ps === 'N') return 'both nodes serve their own groups';
  const say = (s, n) => ({ T: `${n} serves every group`, R: `${n} is recovering`, D: `${n} is down or standing by`, N: `${n} is normal` }[s] || `${n} is ${s}`);
  return say(ls, ln) + ' · ' + say(ps, pn);
}

function nodeCard(which, n, state, word, daemons, extra) {
  $(which + '-name').textContent = `${n.name} · node ${n.id ?? '?'}`;
  const s = $(which + '-state');
  s.textContent = state;
  s.className = 'state s-' + ('NTRD'.includes(state) && state ? state : 'unknown');
  $(which + '-word').textContent = word;
  $(which + '-held').innerHTML = !n.held || n.held === 'none' || n.held === '?' ? '<span class="muted">holds no group</span>' : 'holds <b>' + esc(n.held) + '</b>';
  $(which + '-flags').innerHTML = (n.flags || '').split(',').filter(Boolean).map((f) => pill('flag', f)).join('');
  $(which + '-extra').textContent = extra || '';
  $(which + '-daemons').innerHTML = (daemons || []).map((d) => pill(d.alive ? 'up' : 'down', d.role + (d.restarts ? ` ↻${d.restarts}` : ''),
    `pid ${d.pid} · ${d.phase} · updated ${ago(d.updated_s)} ago · restarted ${d.restarts || 0}× by had1`)).join('');
}

function renderPaths(L) {
  const rows = (L.paths || []).map((p) => `<tr><td><b>${esc(p.name)}</b></td><td>${pill(p.up ? 'up' : 'down', p.up ? 'up' : 'down')}</td>` +
    `<td class="num">${ago(p.last_heard_s)}</td><td class="num">${ms(p.rtt_ms)}</td><td class="num">${ms(p.max_gap_ms)}</td>` +
    `<td class="num" title="${esc(num(p.lost))} frames missed in all">${num(p.loss_percent, p.loss_percent > 0 && p.loss_percent < 10 ? 1 : 0)} %</td><td class="num">${num(p.late)}</td><td class="num">${num(p.downs)}</td></tr>`);
  $('paths').innerHTML = table(['path', 'state', '#last heard', '#rtt', '#max gap', '#loss', '#late', '#downs'], rows, 'no heartbeat path configured');
  const d = L.drops || {};
  const bad = Object.entries(d).filter(([, v]) => v > 0).map(([k, v]) => `${k.replace('_', ' ')} ${v}`);
  $('drops').textContent = `as ${L.node.name} hears ${names.peer} · ` + (bad.length ? 'refused frames: ' + bad.join(', ') : 'no refused frames');
}

function renderAgents(L, P) {
  const rows = [];
  for (const [node, S] of [[names.local, L], [names.peer, P]]) {
    if (!S) continue;
    for (const a of S.agents || []) {
      const tags = [a.critical ? 'critical' : '', a.service ? 'service' : '', a.restarts ? `restarted ${a.restarts}×` : ''].filter(Boolean).join(' · ');
      rows.push(`<tr><td class="muted">${esc(node)}</td><td><b>${esc(a.name)}</b>${tags ? `<div class="muted">${esc(tags)}</div>` : ''}</td>` +
        `<td>${pill('v-' + (a.value || 'none'), a.value || 'none')}</td><td class="msg">${esc(a.message)}</td><td class="num">${ago(a.age_s)}</td></tr>`);
    }
  }
  $('agents').innerHTML = table(['node', 'agent', 'value', 'message', '#age'], rows, 'no agents');
}

function renderResources(L, P) {
  const rows = [];
  for (const [node, S] of [[names.local, L], [names.peer, P]]) {
    if (!S) continue;
    for (const g of S.resources || []) {
      const entries = (g.entries || []).map((e) => `<span class="k">${esc(e.kind)}</span> ${esc(e.name)}`).join('<br>');
      rows.push(`<tr><td class="muted">${esc(node)}</td><td><b>${esc(g.group)}</b></td><td title="${esc(g.file)}">${esc((g.table || '').toUpperCase())}</td>` +
        `<td>${pill(g.held ? 'up' : 'off', g.held ? 'held' : 'not held')}</td><td class="entries">${entries}</td></tr>`);
    }
  }
  $('resources').innerHTML = table(['node', 'group', 'table', 'now', 'entries (in start order)'], rows, 'no resources reported');
}

function renderTransitions(L, P) {
  const all = [];
  for (const [node, S] of [[names.local, L], [names.peer, P]]) {
    if (S) for (const t of S.transitions || []) all.push({ node, ...t, _t: Date.parse(t.time) });
  }
  all.sort((a, b) => b._t - a._t);
  const rows = all.slice(0, 10).map((t) => `<tr><td class="time">${esc(when(t.time))}</td><td class="muted">${esc(t.node)}</td>` +
    `<td class="trans"><span class="s${esc(t.from)}">${esc(t.from)}</span> → <span class="s${esc(t.to)}">${esc(t.to)}</span></td>` +
    `<td class="msg">${esc(why(t.text))}</td></tr>`);
  $('transitions').innerHTML = table(['time', 'node', 'change', 'why'], rows, 'no transitions yet');
}

// why turns had2's "state N → T (active), holding g1,g2" into "active ·
// holding g1,g2": the change column shows the states already.
function why(text) {
  return (text || '').replace(/^state \S+ → \S+ ?/, '').replace(/^\(([^)]*)\),?\s*/, (m, r) => r + ' · ').replace(/ · $/, '');
}

// ---- plots ----

function draw(id, series, o) {
  const span = samples.length > 1 ? [samples[0]._t, samples[samples.length - 1]._t] : null;
  chart($('plot-' + id), $('legend-' + id), series, { ...o, span });
}

function drawPlots() {
  const paths = [];
  for (const s of samples) for (const p of s.paths || []) if (!paths.includes(p.name)) paths.push(p.name);
  const silent = samples.filter((s) => (s.paths || []).length && s.paths.every((p) => !p.up)).map((s) => s._t);
  const rtt = paths.map((name, i) => ({
    name, cls: 'c' + (i + 2),
    pts: samples.map((s) => { const p = (s.paths || []).find((q) => q.name === name); return [s._t, p && p.up && p.rtt_ms > 0 ? p.rtt_ms : null]; }),
  }));
  draw('rtt', rtt, { log: true, fmt: ms, tick: (v) => +v.toPrecision(2) + ' ms', shade: silent, shadeLabel: `${names.peer} silent` });
  const perf = (node, f) => samples.map((s) => [s._t, s[node] ? s[node][f] : null]);
  const pct = (v) => num(v) + '%';
  const two = (f) => [{ name: names.local, cls: 'c0', pts: perf('local', f) }, { name: names.peer, cls: 'c1', pts: perf('peer', f) }];
  draw('cpu', two('cpu_percent'), { max: 100, fmt: pct, shade: silent });
  draw('mem', two('mem_percent'), { max: 100, fmt: pct, shade: silent });
  // in solid, out dashed; an unnamed series joins the legend entry before it
  draw('net', [
    { name: names.local, cls: 'c0', pts: perf('local', 'net_packets_in_per_s') },
    { cls: 'c0', dash: true, pts: perf('local', 'net_packets_out_per_s') },
    { name: names.peer, cls: 'c1', pts: perf('peer', 'net_packets_in_per_s') },
    { cls: 'c1', dash: true, pts: perf('peer', 'net_packets_out_per_s') },
  ], { fmt: (v) => num(v) + '/s', legendFmt: (v) => num(v), shade: silent });
}

// ---- wiring ----

$('login-form').addEventListener('submit', (e) => {
  e.preventDefault();
  const t = $('token').value.trim();
  if (t) signIn(t);
});
$('signout').addEventListener('click', () => signOut(''));
for (const [op, o] of Object.entries(OPS)) $(o.btn).addEventListener('click', () => act(op));
$('btn-cancel').addEventListener('click', () => { endConfirm(); answer('', 'Standby cancelled.'); });
let resizeTimer = 0;
window.addEventListener('resize', () => { clearTimeout(resizeTimer); resizeTimer = setTimeout(drawPlots, 100); });

if (token) signIn(token); else signOut('');
