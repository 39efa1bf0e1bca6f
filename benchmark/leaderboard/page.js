// ULVR-Bench leaderboard: renders the embedded JSON (benchmark/leaderboard/model.py) into
// sortable, filterable tables, SVG plots and per-sequence drill-downs. No network, no libraries.
"use strict";
const DATA = JSON.parse(document.getElementById("data").textContent);
const state = {dataset: "all", metric: null, rate: DATA.rate, hiddenKinds: new Set(), causal: "all",
               anchors: {}, sort: {}, open: {}, target: {}};
const el = (tag, attrs = {}, ...kids) => {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") node.className = v;
    else if (k === "text") node.textContent = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v);
  }
  kids.flat().forEach(k => node.append(k));
  return node;
};
const NS = "http://www.w3.org/2000/svg";
const sv = (tag, attrs = {}) => {
  const node = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  return node;
};
const fmt = v => v === null || v === undefined ? "--"
  : Math.abs(v) >= 1000 || (Math.abs(v) < 0.001 && v !== 0) ? v.toExponential(3)
  : Number(v.toPrecision(4)).toString();
const better = m => (DATA.metrics[m] || {}).lower_is_better ? "min" : "max";
const arrow = m => better(m) === "min" ? "\u2193 lower is better" : "\u2191 higher is better";

// ---------- filters ----------
function entryVisible(ds, name) {
  const e = DATA.datasets[ds].entries[name];
  if (!e) return true;
  if (state.hiddenKinds.has(e.kind)) return false;
  if (state.causal === "causal" && !e.causal) return false;
  if (state.causal === "non-causal" && e.causal) return false;
  return true;
}

// ---------- sortable tables ----------
// columns: [{key, label, num, metric, cls}], rows: [{cells:{key: value}, entry, extra}]
function table(id, ds, columns, rows, opts = {}) {
  const sort = state.sort[id];
  const visible = rows.filter(r => !r.entry || entryVisible(ds, r.entry));
  if (sort) {
    const col = columns[sort.col];
    visible.sort((a, b) => {
      const x = a.cells[col.key], y = b.cells[col.key];
      if (x === null || x === undefined) return (y === null || y === undefined) ? 0 : 1;
      if (y === null || y === undefined) return -1;
      const c = col.num ? x - y : String(x).localeCompare(String(y));
      return sort.dir === "asc" ? c : -c;
    });
  }
  const best = {};
  columns.forEach((c, i) => {
    if (!c.best) return;
    const vals = visible.map(r => r.cells[c.key]).filter(v => v !== null && v !== undefined);
    if (vals.length > 1) best[i] = c.best === "min" ? Math.min(...vals) : Math.max(...vals);
  });
  const head = el("tr", {}, columns.map((c, i) => {
    const th = el("th", {class: (c.cls || "") + (sort && sort.col === i ? ` sorted-${sort.dir}` : ""),
                         "data-col": i, title: c.title || "click to sort", text: c.label});
    th.addEventListener("click", () => {
      const same = sort && sort.col === i;
      const first = c.best === "max" ? "desc" : "asc";   // best first; else ascending
      state.sort[id] = {col: i, dir: same ? (sort.dir === "asc" ? "desc" : "asc") : first};
      render();
    });
    return th;
  }));
  const body = visible.map(r => {
    const tr = el("tr", {"data-entry": r.entry || ""});
    const e = r.entry && DATA.datasets[ds].entries[r.entry];
    if (e) {
      tr.dataset.kind = e.kind;
      tr.dataset.causal = e.causal ? "causal" : "non-causal";
      if (e.proposed) tr.classList.add("proposed");
    }
    columns.forEach((c, i) => {
      const v = r.cells[c.key];
      const td = el("td", {class: c.cls || ""});
      td.textContent = c.num ? fmt(v) : (v ?? "--");
      if (best[i] !== undefined && v === best[i]) td.classList.add("best");
      if (i === 0 && r.warnings && r.warnings.length) td.append(warnBox(r.warnings));
      tr.append(td);
    });
    return tr;
  });
  return el("div", {class: "scroll"}, el("table", {id, "data-table": opts.kind || id},
            el("thead", {}, head), el("tbody", {}, body)));
}

function warnBox(lines) {
  return el("details", {class: "warn"}, el("summary", {text: `\u26A0 ${lines.length}`}),
            el("ul", {}, lines.map(l => el("li", {text: l}))));
}

// ---------- SVG plots ----------
function ticksLog(lo, hi) {
  const out = [];
  for (let e = Math.floor(Math.log10(lo)); e <= Math.ceil(Math.log10(hi)); e++) {
    for (const m of (Math.log10(hi / lo) < 1.5 ? [1, 2, 5] : [1])) {
      const v = m * 10 ** e;
      if (v >= lo * 0.999 && v <= hi * 1.001) out.push(v);
    }
  }
  return out.length ? out : [lo, hi];
}
function ticksLin(lo, hi) {
  const step0 = (hi - lo) / 5 || 1, mag = 10 ** Math.floor(Math.log10(step0));
  const step = [1, 2, 5, 10].map(m => m * mag).find(s => s >= step0);
  const out = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + 1e-12; v += step) out.push(v);
  return out;
}
function plot(series, {xlabel, ylabel, xlog = true, title = "", width = 600, height = 330}) {
  const pts = series.flatMap(s => s.points).filter(p => p[1] !== null && (!xlog || p[0] > 0));
  const svg = sv("svg", {class: "plot", width, height, viewBox: `0 0 ${width} ${height}`,
                         role: "img", "aria-label": title});
  if (!pts.length) {
    const t = sv("text", {x: 20, y: 30});
    t.textContent = `no values of ${ylabel}`;
    svg.append(t);
    return svg;
  }
  const L = 58, R = 200, T = 22, B = 38, W = width - L - R, H = height - T - B;
  let [x0, x1] = [Math.min(...pts.map(p => p[0])), Math.max(...pts.map(p => p[0]))];
  let [y0, y1] = [Math.min(...pts.map(p => p[1])), Math.max(...pts.map(p => p[1]))];
  if (x0 === x1) { x0 = xlog ? x0 / 2 : x0 - 1; x1 = xlog ? x1 * 2 : x1 + 1; }
  if (y0 === y1) { y0 -= Math.abs(y0) * 0.05 || 1; y1 += Math.abs(y1) * 0.05 || 1; }
  const pad = (y1 - y0) * 0.05; y0 -= pad; y1 += pad;
  const fx = xlog ? v => L + W * Math.log(v / x0) / Math.log(x1 / x0)
                  : v => L + W * (v - x0) / (x1 - x0);
  const fy = v => T + H * (1 - (v - y0) / (y1 - y0));
  for (const v of (xlog ? ticksLog(x0, x1) : ticksLin(x0, x1))) {
    svg.append(sv("line", {class: "grid", x1: fx(v), x2: fx(v), y1: T, y2: T + H}));
    const t = sv("text", {x: fx(v), y: T + H + 14, "text-anchor": "middle"});
    t.textContent = fmt(v); svg.append(t);
  }
  for (const v of ticksLin(y0, y1)) {
    svg.append(sv("line", {class: "grid", x1: L, x2: L + W, y1: fy(v), y2: fy(v)}));
    const t = sv("text", {x: L - 4, y: fy(v) + 4, "text-anchor": "end"});
    t.textContent = fmt(v); svg.append(t);
  }
  svg.append(sv("rect", {class: "axis", x: L, y: T, width: W, height: H, fill: "none"}));
  const labels = [[xlabel, L + W / 2, height - 6, 0], [ylabel, 12, T + H / 2, -90],
                  [title, L + W / 2, 14, 0]];
  for (const [text, x, y, rot] of labels) {
    const t = sv("text", {x, y, "text-anchor": "middle",
                          transform: rot ? `rotate(${rot} ${x} ${y})` : ""});
    t.textContent = text; svg.append(t);
  }
  series.forEach((s, i) => {
    const good = s.points.filter(p => p[1] !== null && (!xlog || p[0] > 0));
    if (!good.length) return;
    const d = good.map((p, j) => `${j ? "L" : "M"}${fx(p[0]).toFixed(1)},${fy(p[1]).toFixed(1)}`);
    svg.append(sv("path", {d: d.join(""), fill: "none", stroke: s.colour,
                           "stroke-width": s.bold ? 2.6 : 1.4}));
    for (const p of good) {
      const c = sv("circle", {cx: fx(p[0]), cy: fy(p[1]), r: s.bold ? 3.6 : 2.6, fill: s.colour});
      const tip = sv("title");
      tip.textContent = `${s.name}${p[2] ? " " + p[2] : ""}: ${fmt(p[0])}, ${fmt(p[1])}`;
      c.append(tip); svg.append(c);
    }
    const y = T + 6 + i * 14;
    svg.append(sv("line", {x1: L + W + 10, x2: L + W + 26, y1: y, y2: y, stroke: s.colour,
                           "stroke-width": 2}));
    const t = sv("text", {x: L + W + 30, y: y + 4});
    t.textContent = s.name; svg.append(t);
  });
  return svg;
}

// ---------- sections ----------
function metricOf(view) {
  return view.metrics.includes(state.metric) ? state.metric : view.metrics[0];
}

function matchedSection(ds, view, metric) {
  const values = view.matched[metric] || {};
  const cols = [{key: "entry", label: "method", cls: "name"},
                {key: "kind", label: "kind"}, {key: "causal", label: "causal"},
                ...DATA.targets.map((t, i) => ({key: `t${i}`, label: `${t} bpp`, num: true,
                                                best: better(metric)}))];
  const d = DATA.datasets[ds];
  const rows = Object.keys(d.entries).sort().map(name => {
    const cells = {entry: name, kind: d.entries[name].kind,
                   causal: d.entries[name].causal ? "yes" : "no"};
    DATA.targets.forEach((t, i) => { cells[`t${i}`] = (values[name] || [])[i] ?? null; });
    return {entry: name, cells, warnings: view.warnings[name] || []};
  });
  return [el("h3", {}, `Matched-rate table: ${metric} `,
             el("span", {class: "sub", text: `(${arrow(metric)}; pchip in log-bpp, never ` +
                                             "extrapolated; \u2605 best shown)"})),
          view.dataset_warnings.length ? el("p", {class: "note"}, warnBox(view.dataset_warnings),
                                            " caveats that concern every entry") : "",
          table(`matched-${ds}`, ds, cols, rows, {kind: "matched"})];
}

function rdPlot(ds, points, metric, title) {
  const d = DATA.datasets[ds];
  const series = Object.keys(points).filter(n => entryVisible(ds, n)).sort().map(n => ({
    name: n, colour: (d.entries[n] || {}).colour || "#555", bold: (d.entries[n] || {}).proposed,
    points: points[n].map(p => [p.bpp, p[metric] ?? null, p.rate_point])}));
  return plot(series, {xlabel: `${DATA.x_axis} (${state.rate})`, ylabel: metric, title});
}

function bdSection(ds, view, metric) {
  const anchors = Object.keys(view.bd);
  if (!anchors.length) return [el("h3", {text: "BD table"}),
    el("p", {class: "note", text: "No entry has enough rate points on every sequence to anchor a BD table."})];
  let anchor = state.anchors[ds] || DATA.anchor;
  if (!anchors.includes(anchor)) anchor = anchors[0];
  const select = el("select", {id: `anchor-${ds}`, onchange: e => {
    state.anchors[ds] = e.target.value; render(); }},
    anchors.map(a => el("option", {value: a, text: a})));
  select.value = anchor;
  const rows = view.bd[anchor].map(r => ({entry: r.entry, warnings: [], cells: {
    entry: r.entry, rate: (r[metric] || [null])[0], delta: (r[metric] || [null, null])[1],
    overlap: r.overlap, note: (r[metric] || [null, null, ""])[2]}}));
  const cols = [{key: "entry", label: "method", cls: "name"},
                {key: "rate", label: `BD-rate ${metric} (%)`, num: true, best: "min"},
                {key: "delta", label: `BD-${metric}`, num: true, best: better(metric)},
                {key: "overlap", label: "rate overlap (%)", num: true,
                 title: "share of the joint log-rate range both curves cover (mean over sequences)"},
                {key: "note", label: "note", cls: "name"}];
  return [el("h3", {}, "BD table against ", select, " ",
             el("span", {class: "sub", text: `(per sequence then averaged; ${DATA.bd_method}; ` +
                         "BD-rate < 0: fewer bits for the same quality)"})),
          table(`bd-${ds}`, ds, cols, rows, {kind: "bd"})];
}

function rdSection(ds, view, metric) {
  const cols = [{key: "entry", label: "method", cls: "name"}, {key: "rate_point", label: "rate point"},
                {key: "jobs", label: "jobs"}, {key: "bpp", label: "bpp", num: true},
                {key: "kbps", label: "kbps", num: true},
                ...view.metrics.map(m => ({key: m, label: m, num: true, best: better(m),
                                           cls: m === metric ? "sel" : ""}))];
  const rows = view.rd.map(r => ({entry: r.entry, cells: r, warnings: []}));
  return [el("h3", {}, "RD table ", el("span", {class: "sub", text: "(frame-weighted means over sequences)"})),
          table(`rd-${ds}`, ds, cols, rows, {kind: "rd"})];
}

function closestJob(jobs, target) {
  const key = state.rate === "payload" ? "bpp_payload" : "bpp";
  let best = null;
  for (const j of jobs) {
    const gap = Math.abs(Math.log(j[key] / target));
    if (!best || gap < best[0]) best = [gap, j];
  }
  return best && best[1];
}

function drill(ds, seq, view, metric) {
  const d = DATA.datasets[ds];
  const jobs = d.jobs[seq] || {};
  const target = state.target[ds] ?? DATA.targets[0];
  const pick = el("select", {id: `target-${ds}`, onchange: e => {
    state.target[ds] = Number(e.target.value); render(); }},
    DATA.targets.map(t => el("option", {value: t, text: `${t} bpp`})));
  pick.value = String(target);
  const names = Object.keys(jobs).filter(n => entryVisible(ds, n)).sort();
  const chosen = names.map(n => [n, closestJob(jobs[n], target)]).filter(x => x[1]);
  const key = state.rate === "payload" ? "bpp_payload" : "bpp";
  const frameSeries = chosen.map(([n, j]) => ({
    name: `${n} (${fmt(j[key])})`, colour: d.entries[n].colour, bold: d.entries[n].proposed,
    points: (j.per_frame[metric] || []).map((v, i) => [i, v])}));
  const ref = d.reference_previews[seq];
  const figures = [];
  if (ref) figures.push(frameFigure("reference", ref));
  for (const [n, j] of chosen) {
    if (j.preview) figures.push(frameFigure(`${n}: ${j.rate_point}, ${fmt(j[key])} bpp`, j.preview));
  }
  return el("div", {class: "drill", id: `drill-${ds}-${seq}`, "data-sequence": seq},
    el("h3", {}, `${seq}: drill-down `, el("button", {class: "close", text: "close", onclick: () => {
      delete state.open[ds]; render(); }})),
    el("div", {class: "plots"},
       rdPlot(ds, view.sequences[seq] || {}, metric, `${seq}: ${metric} (${arrow(metric)})`),
       plot(frameSeries, {xlabel: "frame", ylabel: metric, xlog: false,
                          title: `${seq}: ${metric} per frame near ${target} bpp`})),
    el("p", {}, "Rate for the per-frame curves and the grid: each method's job closest to ", pick),
    figures.length ? el("div", {class: "grid"}, figures)
                   : el("p", {class: "note", text: "No preview frames embedded for this sequence."}));
}

function frameFigure(caption, uri) {
  const fig = el("figure", {});
  const img = el("img", {src: uri, alt: caption});
  const frame = el("div", {class: "frame"}, img);
  const zoom = el("div", {class: "zoom"});
  img.addEventListener("load", () => {
    const w = img.naturalWidth, h = img.naturalHeight, shown = img.clientWidth / w;
    const cw = Math.max(8, Math.round(w / 4)), ch = Math.max(8, Math.round(h / 4));
    const x0 = Math.floor((w - cw) / 2), y0 = Math.floor((h - ch) / 2);
    const box = el("div", {class: "box"});
    Object.assign(box.style, {left: `${x0 * shown}px`, top: `${y0 * shown}px`,
                              width: `${cw * shown}px`, height: `${ch * shown}px`});
    frame.append(box);
    const z = Math.max(1, Math.floor(Math.min(320, 4 * cw) / cw));
    Object.assign(zoom.style, {width: `${cw * z}px`, height: `${ch * z}px`,
      backgroundImage: `url(${uri})`, backgroundSize: `${w * z}px ${h * z}px`,
      backgroundPosition: `-${x0 * z}px -${y0 * z}px`});
  });
  fig.append(frame, zoom, el("figcaption", {text: caption}));
  return fig;
}

function studySection() {
  const s = DATA.study;
  if (!s) return [];
  const cols = [{key: "dataset", label: "dataset", cls: "name"}, {key: "band_bpp", label: "band (bpp)", num: true},
                {key: "method", label: "method", cls: "name"}, {key: "score", label: "BT score", num: true, best: "max"},
                {key: "ci_low", label: "95% CI low", num: true}, {key: "ci_high", label: "95% CI high", num: true},
                {key: "wins", label: "wins", num: true}, {key: "losses", label: "losses", num: true},
                {key: "ties", label: "ties", num: true}];
  const rows = s.scores.map(r => ({cells: r, warnings: []}));
  return [el("section", {class: "dataset", id: "study"}, el("h2", {text: "Subjective study"}),
    el("p", {class: "note", text: `${s.observers} observers, ${s.votes} votes; ${s.dropped} ` +
             "observer(s) left out for failing an attention check. Bradley-Terry log-strengths " +
             "(choix), 95% bootstrap intervals over observers."}),
    table("study-scores", null, cols, rows, {kind: "study"}))];
}

// ---------- page ----------
function controls() {
  const names = Object.keys(DATA.datasets);
  const kinds = [...new Set(names.flatMap(n => Object.values(DATA.datasets[n].entries).map(e => e.kind)))].sort();
  const metrics = Object.keys(DATA.metrics);
  if (!state.metric) state.metric = metrics.includes("lpips-alex") ? "lpips-alex" : metrics[0];
  const sel = (id, values, current, on, labels = values) => {
    const s = el("select", {id, onchange: e => { on(e.target.value); render(); }},
                 values.map((v, i) => el("option", {value: v, text: labels[i]})));
    s.value = current; return s;
  };
  const box = el("div", {class: "controls"},
    el("label", {}, "Dataset ", sel("dataset", ["all", ...names], state.dataset, v => { state.dataset = v; })),
    el("label", {}, "Metric ", sel("metric", metrics, state.metric, v => { state.metric = v; },
                                   metrics.map(m => `${m} (${better(m) === "min" ? "\u2193" : "\u2191"})`))),
    el("label", {}, "Rate ", sel("rate", DATA.rates, state.rate, v => { state.rate = v; },
                                 DATA.rates.map(r => r === "payload" ? "payload (parameter sets out of band)" : "total (every bit)"))),
    el("label", {}, "Causal ", sel("causal", ["all", "causal", "non-causal"], state.causal, v => { state.causal = v; })),
    el("fieldset", {id: "kinds"}, "Kind ", kinds.map(k => {
      const cb = el("input", {type: "checkbox", value: k, "data-kind": k, onchange: e => {
        if (e.target.checked) state.hiddenKinds.delete(k); else state.hiddenKinds.add(k);
        render(); }});
      cb.checked = !state.hiddenKinds.has(k);
      return el("label", {}, cb, k);
    })));
  return box;
}

function render() {
  const scrollY = window.scrollY;
  const app = document.getElementById("app");
  document.getElementById("controls").replaceChildren(controls());
  const sections = [];
  for (const [ds, d] of Object.entries(DATA.datasets)) {
    const view = d.rates[state.rate];
    const metric = metricOf(view);
    const sec = el("section", {class: "dataset" + (state.dataset === "all" || state.dataset === ds ? "" : " hidden"),
                               "data-dataset": ds},
      el("h2", {}, ds, el("span", {class: "sub", text: `  ${d.sequences.length} sequence(s), ` +
                                   `${Object.keys(d.entries).length} entries, rate: ${state.rate}`})),
      ...matchedSection(ds, view, metric),
      el("div", {class: "plots"}, rdPlot(ds, Object.fromEntries(Object.keys(d.entries).map(n =>
        [n, view.rd.filter(r => r.entry === n)])), metric, `${ds}: ${metric} (${arrow(metric)})`)),
      el("h3", {text: "Sequences (click for RD curves, per-frame curves and frames)"}),
      el("div", {class: "seqs"}, d.sequences.map(seq => el("button", {
        class: state.open[ds] === seq ? "open" : "", "data-sequence": seq, text: seq,
        onclick: () => { state.open[ds] = state.open[ds] === seq ? undefined : seq; render(); }}))),
      state.open[ds] ? drill(ds, state.open[ds], view, metric) : "",
      ...bdSection(ds, view, metric), ...rdSection(ds, view, metric),
      d.notes.length ? el("details", {}, el("summary", {text: `Notes (${d.notes.length})`}),
                          el("pre", {text: d.notes.join("\n")})) : "");
    sections.push(sec);
  }
  app.replaceChildren(...sections, ...studySection(),
    el("section", {class: "dataset"}, el("h2", {text: "Provenance"}),
       el("pre", {id: "provenance", text: JSON.stringify(DATA.provenance, null, 1)})));
  window.scrollTo(0, scrollY);
  document.body.dataset.ready = String(Number(document.body.dataset.ready || 0) + 1);
}

render();
