// ULVR-Bench leaderboard: renders the embedded JSON (benchmark/leaderboard/model.py) into
// sortable, filterable tables, SVG plots and per-sequence drill-downs. No network, no libraries.
"use strict";
const DATA = JSON.parse(document.getElementById("data").textContent);
const state = {dataset: "all", metric: null, rate: DATA.rate, hiddenKinds: new Set(), causal: "all",
               anchors: {}, sort: {}, open: {}, target: {}, regime: "all"};
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
// numbers for people: 4 significant digits, thousands as digits (FVD 2014, not 2.014e+3),
// only tiny values (bpp 8.6e-4 stays 0.0008634) in exponent form below 1e-5
const fmt = v => v === null || v === undefined ? "--"
  : Math.abs(v) >= 1000 ? Math.round(v).toLocaleString("en-US")
  : (Math.abs(v) < 1e-5 && v !== 0) ? v.toExponential(3)
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
  // "best" marks come with the data, decided by one rule (benchmark/analysis/marks.py): a
  // column's mark names its best entries, or says why it marks none
  const head = el("tr", {}, columns.map((c, i) => {
    const why = c.mark && !c.mark.best.length ? c.mark.why : "";
    const th = el("th", {class: (c.cls || "") + (sort && sort.col === i ? ` sorted-${sort.dir}` : "")
                         + (why ? " unmarked" : ""),
                         "data-col": i, title: why || c.title || "click to sort", text: c.label});
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
      if (e.role === "receiver") tr.classList.add("receiver");
    }
    columns.forEach((c, i) => {
      const v = r.cells[c.key];
      const td = el("td", {class: c.cls || ""});
      td.textContent = (c.num ? fmt(v) : (v ?? "--")) + ((r.annot || {})[c.key] || "");
      if (c.mark && r.entry && c.mark.best.includes(r.entry)) td.classList.add("best");
      if (i === 0 && e && e.role === "receiver") {
        td.append(el("span", {class: "tag", text: `receiver of ${e.receiver_of}'s streams`}));
      }
      if (i === 0 && e && e.proposed) td.append(el("span", {class: "tag proposed", text: "proposed"}));
      if (i === 0 && r.warnings && r.warnings.length) td.append(warnBox(r.warnings));
      tr.append(td);
    });
    return tr;
  });
  const unmarked = columns.filter(c => c.mark && !c.mark.best.length)
    .map(c => `${c.label.split(" (")[0]}: ${c.mark.why}`);
  return el("div", {class: "scroll"}, el("table", {id, "data-table": opts.kind || id},
            el("thead", {}, head), el("tbody", {}, body)),
            unmarked.length ? el("p", {class: "note unmarked-note", text: "\u2605 marks the best only where " +
              "every entry has a value at full coverage (against an anchor: beats it). Unmarked: " +
              unmarked.join("; ") + "."}) : "");
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
const MARKERS = {o: "circle", s: "square", D: "diamond", "^": "up", v: "down", "<": "left",
                 ">": "right", p: "diamond", P: "square", "*": "up", X: "down", h: "circle"};
function marker(shape, x, y, r, colour, faint) {
  const kind = MARKERS[shape] || "circle";
  const attrs = {fill: colour, "fill-opacity": faint ? 0.25 : 1, stroke: faint ? colour : "none",
                 "stroke-opacity": faint ? 0.5 : 1, "data-marker": kind};
  if (kind === "circle") return sv("circle", {cx: x, cy: y, r, ...attrs});
  const d = {square: [[-1, -1], [1, -1], [1, 1], [-1, 1]], diamond: [[0, -1.3], [1.3, 0], [0, 1.3], [-1.3, 0]],
             up: [[0, -1.3], [1.2, 1], [-1.2, 1]], down: [[0, 1.3], [1.2, -1], [-1.2, -1]],
             left: [[-1.3, 0], [1, -1.2], [1, 1.2]], right: [[1.3, 0], [-1, -1.2], [-1, 1.2]]}[kind];
  return sv("path", {d: "M" + d.map(([a, b]) => `${(x + a * r).toFixed(1)},${(y + b * r).toFixed(1)}`).join("L") + "Z",
                     ...attrs});
}
function plot(series, {xlabel, ylabel, xlog = true, title = "", width = 600, height = 330,
                       xrange = null, caveat = ""}) {
  const inRange = p => !xrange || (p[0] >= xrange[0] && p[0] <= xrange[1]);
  const pts = series.flatMap(s => s.points.concat(s.faint || []))
    .filter(p => p[1] !== null && (!xlog || p[0] > 0) && inRange(p));
  const svg = sv("svg", {class: "plot", width, height, viewBox: `0 0 ${width} ${height}`,
                         role: "img", "aria-label": title});
  if (!pts.length) {
    const t = sv("text", {x: 20, y: 30});
    t.textContent = `no values of ${ylabel}`;
    svg.append(t);
    return svg;
  }
  const L = 58, R = 200, T = 22, B = 38, W = width - L - R, H = height - T - B;
  let [x0, x1] = xrange ? [xrange[0], xrange[1]]
                        : [Math.min(...pts.map(p => p[0])), Math.max(...pts.map(p => p[0]))];
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
  const clip = `clip${Math.random().toString(36).slice(2)}`;
  const cp = sv("clipPath", {id: clip});
  cp.append(sv("rect", {x: L, y: T, width: W, height: H}));
  svg.append(cp);
  const ordered = series.map((s, i) => [s, i]).sort((a, b) => (a[0].bold ? 1 : 0) - (b[0].bold ? 1 : 0));
  for (const [s, i] of ordered) {        // the proposed entry last: drawn on top
    const ok = p => p[1] !== null && (!xlog || p[0] > 0);
    const good = s.points.filter(ok);
    const group = sv("g", {"data-series": s.name, "clip-path": `url(#${clip})`});
    for (const p of (s.faint || []).filter(ok)) {
      const m = marker(s.marker, fx(p[0]), fy(p[1]), 2.6, s.colour, true);
      m.classList.add("dominated");
      const tip = sv("title");
      tip.textContent = `${s.name}${p[2] ? " " + p[2] : ""} (off its front): ${fmt(p[0])}, ${fmt(p[1])}`;
      m.append(tip); group.append(m);
    }
    if (good.length) {
      const d = good.map((p, j) => `${j ? "L" : "M"}${fx(p[0]).toFixed(1)},${fy(p[1]).toFixed(1)}`);
      group.append(sv("path", {d: d.join(""), fill: "none", stroke: s.colour,
                               "stroke-width": s.bold ? 3.2 : 1.4, class: s.bold ? "front proposed" : "front"}));
      for (const p of good) {
        const c = marker(s.marker, fx(p[0]), fy(p[1]), s.bold ? 4 : 2.8, s.colour, false);
        const tip = sv("title");
        tip.textContent = `${s.name}${p[2] ? " " + p[2] : ""}: ${fmt(p[0])}, ${fmt(p[1])}`;
        c.append(tip); group.append(c);
      }
    }
    svg.append(group);
  }
  // every rival's front markers once more, hollow, above the proposed curve: a rival's point
  // at the proposed rate is never hidden under it
  const onTop = sv("g", {class: "rival-markers", "clip-path": `url(#${clip})`});
  for (const s of series.filter(s => !s.bold)) {
    for (const p of s.points.filter(p => p[1] !== null && (!xlog || p[0] > 0))) {
      const m = marker(s.marker, fx(p[0]), fy(p[1]), 3.2, s.colour, false);
      m.setAttribute("fill", "none");
      m.setAttribute("stroke", s.colour);
      m.setAttribute("stroke-width", "1.2");
      onTop.append(m);
    }
  }
  svg.append(onTop);
  series.forEach((s, i) => {
    const y = T + 6 + i * 14;
    svg.append(sv("line", {x1: L + W + 10, x2: L + W + 26, y1: y, y2: y, stroke: s.colour,
                           "stroke-width": s.bold ? 3 : 2}));
    svg.append(marker(s.marker, L + W + 18, y, 3, s.colour, false));
    const t = sv("text", {x: L + W + 30, y: y + 4, "font-weight": s.bold ? "bold" : "normal"});
    t.textContent = s.name; svg.append(t);
  });
  if (series.some(s => (s.faint || []).length)) {   // the faint markers, explained
    const y = T + 6 + series.length * 14;
    svg.append(marker("o", L + W + 18, y, 2.6, "#777", true));
    const t = sv("text", {x: L + W + 30, y: y + 4, class: "faint-legend"});
    t.textContent = "faint: off its front (dominated)"; svg.append(t);
  }
  if (caveat) {
    const t = sv("text", {x: L + 4, y: T + 12, class: "caveat"});
    t.textContent = caveat; svg.append(t);
  }
  return svg;
}

// ---------- sections ----------
function metricOf(view) {
  return view.metrics.includes(state.metric) ? state.metric : view.metrics[0];
}

const notRun = cell => !cell || cell[3] === "not run";
const coverage = cell => notRun(cell) ? " (not run)" : ` (${cell[1]}/${cell[2]})`;
const whyMissing = (label, cell) => notRun(cell) ? `${label}: not run`
  : cell[0] === null ? `${label} ${cell[1]}/${cell[2]}` : "";

function ranked(ds, names, valuesOf, metric) {
  // the proposed entry first, then the rest by their mean rank over the columns where they
  // have a value under the selected metric (entries with none last, then by name)
  const d = DATA.datasets[ds];
  const cols = names.length ? valuesOf(names[0]).length : 0;
  const score = Object.fromEntries(names.map(n => [n, []]));
  for (let j = 0; j < cols; j++) {
    const have = names.filter(n => { const c = valuesOf(n)[j]; return c && c[0] !== null; });
    have.sort((a, b) => better(metric) === "min" ? valuesOf(a)[j][0] - valuesOf(b)[j][0]
                                                  : valuesOf(b)[j][0] - valuesOf(a)[j][0]);
    have.forEach((n, r) => score[n].push(r));
  }
  const mean = n => score[n].length ? score[n].reduce((a, b) => a + b, 0) / score[n].length : Infinity;
  const rest = names.filter(n => n !== d.proposed).sort((a, b) => mean(a) - mean(b) || a.localeCompare(b));
  return names.includes(d.proposed) ? [d.proposed, ...rest] : rest;
}

const kindOf = e => e.role === "receiver" ? `receiver of ${e.receiver_of}'s streams` : (e.kind || "");

function entryRows(ds, names, view, valueCells) {
  // rows of a values table: numbers to sort and mark, their coverage, and why a cell is --
  return names.map(name => {
    const e = DATA.datasets[ds].entries[name] || {};
    const cells = {entry: name, kind: kindOf(e), causal: e.causal ? "yes" : "no"}, annot = {};
    const why = [];
    valueCells(name).forEach(([key, label, cell]) => {
      cells[key] = cell ? cell[0] : null;
      annot[key] = coverage(cell);
      const w = whyMissing(label, cell);
      if (w) why.push(w);
    });
    cells.why = why.length ? "its front covers only: " + why.join(", ") +
      " sequences (never extrapolated)" : "";
    return {entry: name, cells, annot, warnings: view.warnings[name] || []};
  });
}

function caveatNote(view, metric) {
  // a caveat that concerns this metric's numbers, shown in the open above its table
  const text = (view.caveats || {})[metric];
  const set = (DATA.metrics[metric] || {}).set_level ? view.dataset_warnings : [];
  const all = [text, ...set].filter(Boolean);
  return all.length ? el("p", {class: "caveat-note", text: "Caveat: " + all.join("; ") + "."}) : "";
}

function proposedSection(ds, view, metric) {
  const d = DATA.datasets[ds];
  const p = view.proposed && view.proposed[metric];
  if (!p) return [el("h3", {text: "Quality at the proposed method's rates"}),
    el("p", {class: "note", id: `no-proposed-${ds}`, text: `No table: ${view.proposed_note || "no values"}.`})];
  const cols = [{key: "entry", label: "method", cls: "name"}, {key: "kind", label: "kind"},
                ...p.columns.map((c, i) => ({key: `p${i}`, label: c, num: true, best: better(metric),
                                             mark: (p.marks || [])[i]})),
                {key: "why", label: "why --", cls: "name why"}];
  const names = ranked(ds, Object.keys(p.rows), n => p.rows[n] || [], metric);
  const rows = entryRows(ds, names, view, name => p.columns.map((c, i) =>
    [`p${i}`, c.split(" ")[0], (p.rows[name] || [])[i]]));
  return [el("h3", {}, `Quality at ${d.proposed}'s own rates: ${metric} `,
             el("span", {class: "sub", text: `(${arrow(metric)}; each rival's front interpolated at ` +
                         `${d.proposed}'s bpp on each sequence, pchip in log-bpp, never extrapolated; ` +
                         "mean over sequences only where all are covered (k/n); \u2605 best)"})),
          caveatNote(view, metric),
          table(`proposed-${ds}`, ds, cols, rows, {kind: "proposed"})];
}

function matchedSection(ds, view, metric) {
  const values = view.matched[metric] || {};
  const cols = [{key: "entry", label: "method", cls: "name"},
                {key: "kind", label: "kind"}, {key: "causal", label: "causal"},
                ...DATA.targets.map((t, i) => ({key: `t${i}`, label: `${t} bpp`, num: true,
                                                best: better(metric),
                                                mark: ((view.matched_marks || {})[metric] || [])[i]})),
                {key: "why", label: "why --", cls: "name why"}];
  const d = DATA.datasets[ds];
  const names = ranked(ds, Object.keys(d.entries), n => values[n] || DATA.targets.map(() => null), metric);
  const rows = entryRows(ds, names, view, name =>
    DATA.targets.map((t, i) => [`t${i}`, `${t} bpp`, (values[name] || [])[i]]));
  return [el("h3", {}, `Matched-rate table (fixed targets): ${metric} `,
             el("span", {class: "sub", text: `(${arrow(metric)}; pchip in log-bpp on each entry's front, never ` +
                                             "extrapolated; (k/n): sequences covered; \u2605 best shown)"})),
          caveatNote(view, metric),
          table(`matched-${ds}`, ds, cols, rows, {kind: "matched"})];
}

function series(ds, points, metric) {
  // per entry: its front for the metric as the curve, its dominated points as faint markers
  const d = DATA.datasets[ds];
  return Object.keys(points).filter(n => entryVisible(ds, n)).sort().map(n => {
    const e = d.entries[n] || {};
    const all = points[n].filter(p => p[metric] !== null && p[metric] !== undefined);
    const on = all.filter(p => !(p.off || []).includes(metric));
    const off = all.filter(p => (p.off || []).includes(metric));
    return {name: n + (e.proposed ? " (proposed)" : ""), colour: e.colour || "#555", marker: e.marker,
            bold: e.proposed, points: on.sort((a, b) => a.bpp - b.bpp).map(p => [p.bpp, p[metric], p.rate_point]),
            faint: off.map(p => [p.bpp, p[metric], p.rate_point])};
  });
}

function proposedRange(ds, view) {
  const name = DATA.datasets[ds].proposed;
  const bpps = view.rd.filter(r => r.entry === name && r.bpp).map(r => r.bpp);
  return bpps.length ? [Math.min(...bpps) / 1.5, Math.max(...bpps) * 1.5] : null;
}

function rdPlots(ds, view, points, metric, title) {
  const s = series(ds, points, metric);
  const info = DATA.metrics[metric] || {};
  const opts = {xlabel: `${DATA.x_axis} (${state.rate} rate)`, ylabel: info.axis || metric,
                caveat: info.set_level ? "few clips: FVD/KVD covariance is rank-deficient (see clip counts)" : ""};
  const range = proposedRange(ds, view);
  return [plot(s, {...opts, title: `${title}: all rates`}),
          range ? plot(s, {...opts, xrange: range, title: `${title}: ultra-low view (${DATA.datasets[ds].proposed}'s range)`})
                : ""];
}

function bdSection(ds, view, metric) {
  const regimes = Object.keys(DATA.regimes);
  const regime = state.regime || "all";
  const byAnchor = (view.bd[regime] || {});
  const anchors = Object.keys(byAnchor);
  const missing = (view.bd_missing[regime] || {});
  if (!anchors.length) return [el("h3", {text: "BD table"}),
    el("p", {class: "note", text: "No BD table: " + (Object.entries(missing).map(([a, w]) => `${a}: ${w}`).join("; ")
                                                    || "no anchor has results") + "."})];
  let anchor = state.anchors[ds] || DATA.anchor;
  if (!anchors.includes(anchor)) anchor = anchors[0];
  const select = el("select", {id: `anchor-${ds}`, onchange: e => {
    state.anchors[ds] = e.target.value; render(); }},
    anchors.map(a => el("option", {value: a, text: a})));
  select.value = anchor;
  const rsel = el("select", {id: `regime-${ds}`, onchange: e => { state.regime = e.target.value; render(); }},
    regimes.map(r => el("option", {value: r, text: DATA.regimes[r] ? `${r} (${DATA.regimes[r][0]}-${DATA.regimes[r][1]} bpp)` : "all rates"})));
  rsel.value = regime;
  const rows = byAnchor[anchor].map(r => {
    const c = r[metric] || [null, null, "", "", null, null, null, null, ""];
    return {entry: r.entry, warnings: [], cells: {
      entry: r.entry, rate: c[0], delta: c[1], share: c[4], share_m: c[5],
      ci: c[6] === null || c[6] === undefined ? "" : `[${fmt(c[6])}, ${fmt(c[7])}]`, wins: c[8],
      why: [c[2], c[3]].filter(Boolean).join("; ")}};
  });
  const cols = [{key: "entry", label: "method", cls: "name"},
                {key: "rate", label: `BD-rate ${metric} (%)`, num: true, best: "min",
                 mark: (((view.bd_marks[regime] || {})[anchor] || {})[metric] || {}).rate},
                {key: "ci", label: "95% CI over sequences",
                 title: "percentile bootstrap interval of the mean BD-rate over sequences"},
                {key: "wins", label: "wins", title: "sequences on which the BD-rate is below 0"},
                {key: "delta", label: `BD-${metric}`, num: true, best: better(metric),
                 mark: (((view.bd_marks[regime] || {})[anchor] || {})[metric] || {}).delta},
                {key: "share", label: "quality share (%)", num: true,
                 title: "share of the shorter front's quality range that both fronts cover (smallest over sequences)"},
                {key: "share_m", label: "rate share (%)", num: true,
                 title: "share of the shorter front's log-rate range that both fronts cover (smallest over sequences)"},
                {key: "why", label: "why --", cls: "name why"}];
  return [el("h3", {}, "BD table against ", select, " over ", rsel, " ",
             el("span", {class: "sub", text: `(per sequence on fronts, then the mean; ${DATA.bd_method} over the ` +
                         "interval both fronts cover; BD-rate < 0: fewer bits for the same quality)"})),
          table(`bd-${ds}`, ds, cols, rows, {kind: "bd"})];
}

function rdSection(ds, view, metric) {
  const cols = [{key: "entry", label: "method", cls: "name"}, {key: "rate_point", label: "rate point"},
                {key: "jobs", label: "jobs"}, {key: "bpp", label: "bpp", num: true},
                {key: "kbps", label: "kbps", num: true},
                ...view.metrics.map(m => ({key: m, label: m, num: true, best: better(m),
                                           cls: m === metric ? "sel" : ""})),
                {key: "offtext", label: "off front", cls: "name"}];
  const rows = view.rd.map(r => ({entry: r.entry, cells: {...r, offtext: (r.off || []).join(", ")},
                                  warnings: []}));
  return [el("h3", {}, "RD table ", el("span", {class: "sub", text: "(frame-weighted means over sequences; " +
             "`off front`: metrics for which the point is dominated, drawn faint)"})),
          table(`rd-${ds}`, ds, cols, rows, {kind: "rd"})];
}

function closestJob(jobs, target, front) {
  // the entry's front point (for the metric, on this sequence) nearest the target in log rate
  const key = state.rate === "payload" ? "bpp_payload" : "bpp";
  const onFront = front ? jobs.filter(j => front.has(j.rate_point)) : jobs;
  let best = null;
  for (const j of (onFront.length ? onFront : jobs)) {
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
  const seqPoints = view.sequences[seq] || {};
  const frontOf = n => new Set((seqPoints[n] || []).filter(p => p[metric] !== null &&
    !(p.off || []).includes(metric)).map(p => p.rate_point));
  const chosen = names.map(n => [n, closestJob(jobs[n], target, frontOf(n))]).filter(x => x[1]);
  const key = state.rate === "payload" ? "bpp_payload" : "bpp";
  const frameSeries = chosen.map(([n, j]) => ({
    name: `${n} (${fmt(j[key])} bpp)`, colour: d.entries[n].colour, bold: d.entries[n].proposed,
    marker: d.entries[n].marker,
    points: (j.per_frame[metric] || []).map((v, i) => [i, v])}));
  const ref = d.reference_previews[seq];
  const figures = [];
  if (ref) figures.push(frameFigure("reference", ref));
  for (const [n, j] of chosen) {
    if (j.preview) figures.push(frameFigure(`${n}: ${j.rate_point}, ${fmt(j[key])} bpp`, j.preview));
  }
  // a set metric (FVD, KVD) is computed over a dataset's clips: no per-sequence RD points and
  // no per-frame values; the panels say so instead of drawing empty axes
  const setLevel = (DATA.metrics[metric] || {}).set_level;
  const why = el("p", {class: "note empty-panel", text: `${metric} is computed over all clips of ` +
    "the dataset together (a set metric): it has no per-sequence or per-frame values. Choose a " +
    "per-frame metric (LPIPS, DISTS, PSNR) above to see this sequence's curves."});
  return el("div", {class: "drill", id: `drill-${ds}-${seq}`, "data-sequence": seq},
    el("h3", {}, `${seq}: drill-down `, el("button", {class: "close", text: "close", onclick: () => {
      delete state.open[ds]; render(); }})),
    setLevel ? why : el("div", {class: "plots"},
       rdPlots(ds, view, seqPoints, metric, `${seq}: ${metric}`)[0],
       plot(frameSeries, {xlabel: "frame", ylabel: (DATA.metrics[metric] || {}).axis || metric, xlog: false,
                          title: `${seq}: ${metric} per frame near ${target} bpp`})),
    el("p", {}, "Rate for the per-frame curves and the grid: each method's front point (for " +
       `${metric}, on ${seq}) closest to `, pick, " (its rate in each caption)"),
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
  fig.append(frame, el("figcaption", {text: caption}), zoom);
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

function headlineBlock(ds, view) {
  // the report's headline (report/headline.md), at the top of each dataset
  const h = view.headline || {};
  const lines = h.lines || [];
  if (!lines.length) return "";
  return el("div", {class: "headline", id: `headline-${ds}`},
    el("strong", {class: "title", text: "Headline"}),
    el("p", {class: "lead", text: lines[0]}),
    el("ul", {}, lines.slice(1).map(line => el("li", {class: line.trim().startsWith("caveat:") ? "caveat" : "",
                                                  text: line.trim()}))));
}

function provenanceTable(prov) {
  // what produced the numbers, one row per item (versions, weights, metric protocols)
  const text = v => Array.isArray(v) ? v.join("; ")
    : v && typeof v === "object" ? Object.entries(v).map(([k, x]) => `${k}: ${text(x)}`).join("; ")
    : String(v ?? "");
  const rows = [];
  for (const [group, items] of Object.entries(prov || {})) {
    if (items && typeof items === "object" && !Array.isArray(items)) {
      for (const [k, v] of Object.entries(items)) rows.push([group, k, text(v)]);
    } else rows.push([group, "", text(items)]);
  }
  return el("table", {id: "provenance", class: "provenance"},
    el("thead", {}, el("tr", {}, ["what", "item", "value"].map(h => el("th", {text: h})))),
    el("tbody", {}, rows.map(r => el("tr", {}, r.map(c => el("td", {text: c}))))));
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
      headlineBlock(ds, view),
      ...proposedSection(ds, view, metric),
      ...matchedSection(ds, view, metric),
      ...bdSection(ds, view, metric),
      el("div", {class: "plots"}, rdPlots(ds, view, Object.fromEntries(Object.keys(d.entries).map(n =>
        [n, view.rd.filter(r => r.entry === n)])), metric, `${ds}: ${metric}`)),
      el("h3", {text: "Sequences (click for RD curves, per-frame curves and frames)"}),
      el("div", {class: "seqs"}, d.sequences.map(seq => el("button", {
        class: state.open[ds] === seq ? "open" : "", "data-sequence": seq, text: seq,
        onclick: () => { state.open[ds] = state.open[ds] === seq ? undefined : seq; render(); }}))),
      state.open[ds] ? drill(ds, state.open[ds], view, metric) : "",
      ...rdSection(ds, view, metric),
      d.notes.length ? el("details", {}, el("summary", {text: `Notes (${d.notes.length})`}),
                          el("pre", {text: d.notes.join("\n")})) : "");
    sections.push(sec);
  }
  app.replaceChildren(...sections, ...studySection(),
    el("section", {class: "dataset"}, el("h2", {text: "Provenance"}), provenanceTable(DATA.provenance)));
  window.scrollTo(0, scrollY);
  document.body.dataset.ready = String(Number(document.body.dataset.ready || 0) + 1);
}

render();
