// Line charts in SVG for the had web console: no chart library, the nodes
// have no internet. chart() draws series of [ms, value|null] points; null or
// a jump of more than 3.5 s breaks the line (the peer was silent).

const esc = (s) => String(s ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c]));
const pad = (n) => String(n).padStart(2, '0');
function clock(ms, secs) {
  const d = new Date(ms);
  return pad(d.getHours()) + ':' + pad(d.getMinutes()) + (secs ? ':' + pad(d.getSeconds()) : '');
}

// niceStep is 1, 2 or 5 times a power of ten, about span/n.
function niceStep(span, n) {
  const raw = span / n, p = Math.pow(10, Math.floor(Math.log10(raw)));
  return [1, 2, 5, 10].map((k) => k * p).find((s) => s >= raw) || 10 * p;
}

const X_STEPS = [10e3, 15e3, 30e3, 60e3, 120e3, 300e3, 600e3, 900e3, 1800e3, 3600e3];

// chart draws series into svg and their latest values into legend.
// A series is {name, cls (colour class c0…c5), dash, pts: [[ms, v|null]…]};
// one without a name joins the legend entry before it ("in / out").
// Options: span [t0, t1] in ms (null: nothing to draw yet), fmt (values),
// legendFmt, tick (axis labels), min, max, log (log scale when the values
// spread over more than 20×), shade (sample times to shade), shadeLabel.
export function chart(svg, legend, series, o) {
  const items = [];
  for (const s of series) {
    const last = [...s.pts].reverse().find((p) => p[1] != null);
    const sw = `<i class="sw ${s.cls}${s.dash ? ' dash' : ''}"></i>`, val = last ? (o.legendFmt || o.fmt)(last[1]) : '–';
    if (s.name == null && items.length) {
      items[items.length - 1].sw += sw;
      items[items.length - 1].vals.push(val);
    } else items.push({ sw, name: s.name, vals: [val] });
  }
  legend.innerHTML = (o.note ? `<span class="muted">${esc(o.note)}</span>` : '') +
    items.map((i) => `<span>${i.sw}${esc(i.name)} <b>${esc(i.vals.join(' / '))}</b></span>`).join('');
  const W = svg.clientWidth || 600, H = svg.clientHeight || 170;
  svg.setAttribute('viewBox', `0 0 ${W} ${H}`);
  if (!o.span || !(o.span[1] > o.span[0])) {
    svg.innerHTML = `<text class="empty" x="${W / 2}" y="${H / 2}" text-anchor="middle">collecting samples…</text>`;
    return;
  }
  const ml = 52, mr = 8, mt = 8, mb = 20, pw = W - ml - mr, ph = H - mt - mb;
  const t1 = o.span[1], t0 = Math.min(o.span[0], t1 - 60e3);
  const x = (t) => ml + ((t - t0) / (t1 - t0)) * pw;
  const vals = series.flatMap((s) => s.pts.map((p) => p[1]).filter((v) => v != null && isFinite(v)));
  let lo = o.min ?? 0, hi = o.max ?? Math.max(...vals, 0);
  let log = false;
  const pos = vals.filter((v) => v > 0);
  if (o.log && pos.length && Math.max(...pos) / Math.min(...pos) > 20) {
    log = true;
    legend.insertAdjacentHTML('afterbegin', '<span class="muted">log scale</span>');
    lo = Math.pow(10, Math.floor(Math.log10(Math.min(...pos))));
    hi = Math.pow(10, Math.ceil(Math.log10(Math.max(...pos))));
  }
  let ticks;
  if (log) {
    ticks = [];
    for (let v = lo; v <= hi * 1.0001; v *= 10) ticks.push(v);
  } else {
    if (!(hi > lo)) hi = lo + 1;
    const step = niceStep(hi - lo, 4);
    hi = Math.ceil(hi / step) * step;
    ticks = [];
    for (let v = lo; v <= hi + step / 2; v += step) ticks.push(v);
  }
  const y = log
    ? (v) => mt + ph - ((Math.log10(v) - Math.log10(lo)) / (Math.log10(hi) - Math.log10(lo))) * ph
    : (v) => mt + ph - ((v - lo) / (hi - lo)) * ph;
  const parts = [];
  // shaded spans, e.g. when the peer was silent
  if (o.shade && o.shade.length) {
    let start = null, prev = null;
    const flush = () => {
      if (start == null) return;
      const x0 = x(start), w = Math.max(2, x(prev + 1000) - x0);
      parts.push(`<rect class="gap" x="${x0.toFixed(1)}" y="${mt}" width="${w.toFixed(1)}" height="${ph}"><title>${esc(o.shadeLabel)}</title></rect>`);
      if (w > 70 && o.shadeLabel) parts.push(`<text class="gap-label" x="${(x0 + w / 2).toFixed(1)}" y="${mt + 14}" text-anchor="middle">${esc(o.shadeLabel)}</text>`);
    };
    for (const t of o.shade) {
      if (prev == null || t - prev > 2500) { flush(); start = t; }
      prev = t;
    }
    flush();
  }
  for (const v of ticks) {
    const yy = y(v).toFixed(1);
    parts.push(`<line class="grid" x1="${ml}" x2="${W - mr}" y1="${yy}" y2="${yy}"/><text x="${ml - 6}" y="${yy}" dy="0.32em" text-anchor="end">${esc((o.tick || o.fmt)(v))}</text>`);
  }
  const xs = X_STEPS.find((s) => (t1 - t0) / s <= Math.max(3, Math.floor(pw / 90))) || 3600e3;
  for (let t = Math.ceil(t0 / xs) * xs; t <= t1; t += xs) {
    const xx = x(t), label = clock(t, xs < 60e3);
    if (xx + label.length * 3.5 > W) continue; // would be cut at the right edge
    parts.push(`<line class="axis" x1="${xx.toFixed(1)}" x2="${xx.toFixed(1)}" y1="${mt + ph}" y2="${mt + ph + 4}"/><text x="${xx.toFixed(1)}" y="${H - 4}" text-anchor="middle">${label}</text>`);
  }
  parts.push(`<line class="axis" x1="${ml}" x2="${W - mr}" y1="${mt + ph + 0.5}" y2="${mt + ph + 0.5}"/>`);
  for (const s of series) {
    let d = '', prevT = null;
    for (const [t, v] of s.pts) {
      if (v == null || !isFinite(v) || (log && v <= 0)) { prevT = null; continue; }
      const yy = y(Math.min(Math.max(v, lo), hi));
      d += (prevT == null || t - prevT > 3500 ? 'M' : 'L') + x(t).toFixed(1) + ' ' + yy.toFixed(1);
      prevT = t;
    }
    if (d) parts.push(`<path class="line ${s.cls}${s.dash ? ' dash' : ''}" d="${d}"><title>${esc(s.name || '')}</title></path>`);
  }
  svg.innerHTML = parts.join('');
}
