// The dashboard's page script: filters the embedded per-trial dataset, counts it and draws the
// charts with Plotly (inlined above). The counting mirrors the warehouse views: a trial counts in
// a modality group when trial_report_groups lists it there, follow-up (per group) and expanded
// access are left out unless switched on, a trial lacking the basis year is not counted, and a
// trial counts once per country, sponsor, area, target and product it names (the dataset holds
// distinct values, with the views' defaults 'unknown' and 'Not named' already applied).
"use strict";

// Plotly's bundle is embedded gzipped (base64): unpack it and run it as a script of the page.
async function loadPlotly() {
  if (window.Plotly) return;
  const text = document.getElementById("tt-plotly").textContent.trim();
  const raw = atob(text);
  const bytes = new Uint8Array(raw.length);
  for (let i = 0; i < raw.length; i++) bytes[i] = raw.charCodeAt(i);
  const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("gzip"));
  const code = await new Response(stream).text();
  window.ttUnpacked = performance.now();
  // A blob: URL rather than inline text lets the browser compile the 4.8 MB off the main thread.
  const url = URL.createObjectURL(new Blob([code], { type: "text/javascript" }));
  await new Promise((resolve, reject) => {
    const script = document.createElement("script");
    script.onload = resolve;
    script.onerror = () => reject(new Error("Plotly's bundle did not load"));
    script.src = url;
    document.head.appendChild(script);
  });
  URL.revokeObjectURL(url);
}

const ttStarted = performance.now();
loadPlotly().then(() => { window.ttPlotlyReady = performance.now(); main(); }, (error) => {
  document.getElementById("count").textContent = "This browser cannot open the dashboard";
  document.getElementById("what").textContent = `(it needs DecompressionStream: a 2023 or newer browser). ${error}`;
  throw error;
});

function main() {
  const D = JSON.parse(document.getElementById("tt-data").textContent);
  const C = D.col;
  const K = D.dict;
  const N = C.id.length;
  const $ = (id) => document.getElementById(id);
  const many = (v) => (Array.isArray(v) ? v : [v]);
  const nct = (i) => "NCT" + String(C.id[i]).padStart(8, "0");
  const TOP = 15;
  const ROWS = 100;
  const COLORS = { "CAR-T": "#0072B2", "TCR-T": "#E69F00", "TIL": "#009E73", "NK": "#CC79A7", "ALL": "#333333" };
  const BAR = "#56B4E9";
  const GREY = "#BBBBBB";
  const PARTIAL = "#F0E442";
  const CONFIG = { displaylogo: false, responsive: true, modeBarButtonsToRemove: ["select2d", "lasso2d"] };

  // ---- filters --------------------------------------------------------------------------------
  let yearMin = Infinity;
  let yearMax = -Infinity;
  for (const basis of D.bases) {
    for (const y of C[basis]) {
      if (y) { yearMin = Math.min(yearMin, y); yearMax = Math.max(yearMax, y); }
    }
  }

  function fill(id, labels, values, anyLabel) {
    const select = $(id);
    const options = anyLabel === undefined ? [] : [["", anyLabel]];
    labels.forEach((label, i) => options.push([values ? String(values[i]) : label, label]));
    for (const [value, label] of options) {
      const option = document.createElement("option");
      option.value = value;
      option.textContent = label;
      select.appendChild(option);
    }
  }
  const indexes = (list) => list.map((_, i) => i);
  const countryLabels = K.country.map((code, i) => (code === "XX" ? "Not provided (no location)" : K.country_name[i]));
  const byName = (labels) => indexes(labels).sort((a, b) => labels[a].localeCompare(labels[b]));
  fill("f-group", D.groups);
  fill("f-basis", D.bases.map((b) => b.replace("_", " ")), D.bases);
  const years = [];
  for (let y = yearMin; y <= yearMax; y++) years.push(String(y));
  fill("f-from", years);
  fill("f-to", years);
  fill("f-area", K.area, indexes(K.area), "any");
  fill("f-target", K.target, indexes(K.target), "any");
  const countryOrder = byName(countryLabels);
  fill("f-country", countryOrder.map((i) => countryLabels[i]), countryOrder, "any");
  fill("f-stype", K.sponsor_type, indexes(K.sponsor_type), "any");
  fill("f-phase", K.phase, indexes(K.phase), "any");
  fill("f-cell", K.cell_source.map((c) => c.replace("_", " ")), indexes(K.cell_source), "any");

  const FILTERS = ["f-group", "f-basis", "f-from", "f-to", "f-area", "f-target", "f-country", "f-stype",
    "f-phase", "f-cell", "f-fu", "f-ea"];
  function reset() {
    $("f-group").value = "ALL";
    $("f-basis").value = "first_posted";
    // The default basis's own span (start dates run into planned years).
    const spans = C.first_posted.filter((y) => y);
    $("f-from").value = String(spans.reduce((a, b) => Math.min(a, b), yearMax));
    $("f-to").value = String(spans.reduce((a, b) => Math.max(a, b), yearMin));
    for (const id of ["f-area", "f-target", "f-country", "f-stype", "f-phase", "f-cell"]) $(id).value = "";
    $("f-fu").checked = false;
    $("f-ea").checked = false;
  }

  function readState() {
    const pick = (id) => ($(id).value === "" ? null : Number($(id).value));
    let from = Number($("f-from").value);
    let to = Number($("f-to").value);
    if (from > to) [from, to] = [to, from];
    return {
      group: $("f-group").value, basis: $("f-basis").value, from, to,
      area: pick("f-area"), target: pick("f-target"), country: pick("f-country"),
      sponsorType: pick("f-stype"), phase: pick("f-phase"), cell: pick("f-cell"),
      followUp: $("f-fu").checked, expandedAccess: $("f-ea").checked,
    };
  }

  // ---- selection and counts ----------------------------------------------------------------------
  function select(s) {
    const bit = 1 << D.groups.indexOf(s.group);
    const yearOf = C[s.basis];
    const has = (col, i, value) => value === null || many(C[col][i]).includes(value);
    const chosen = [];
    for (let i = 0; i < N; i++) {
      if (!(C.groups[i] & bit)) continue;
      if (!s.followUp && (C.follow_up[i] & bit)) continue;
      if (!s.expandedAccess && C.expanded_access[i]) continue;
      const y = yearOf[i];
      if (!y || y < s.from || y > s.to) continue;
      if (s.phase !== null && C.phase[i] !== s.phase) continue;
      if (s.cell !== null && C.cell_source[i] !== s.cell) continue;
      if (!has("area", i, s.area) || !has("target", i, s.target) || !has("country", i, s.country)) continue;
      if (!has("sponsor_type", i, s.sponsorType)) continue;
      chosen.push(i);
    }
    return chosen;
  }

  function tally(chosen, col, size) {
    const counts = new Array(size).fill(0);
    for (const i of chosen) for (const v of many(C[col][i])) counts[v] += 1;
    return counts;
  }

  function counts(s, chosen) {
    const byYear = {};
    for (let y = s.from; y <= s.to; y++) byYear[y] = 0;
    for (const i of chosen) byYear[C[s.basis][i]] += 1;
    const named = (col, labels) => {
      const out = {};
      tally(chosen, col, labels.length).forEach((n, v) => { if (n) out[labels[v]] = n; });
      return out;
    };
    return {
      trials: chosen.length,
      year: byYear,
      phase: named("phase", K.phase),
      country: named("country", K.country),
      sponsor: named("sponsor", K.sponsor),
      sponsor_type: named("sponsor_type", K.sponsor_type),
      area: named("area", K.area),
      target: named("target", K.target),
      product: named("product", K.product),
      cell_source: named("cell_source", K.cell_source),
    };
  }

  // ---- charts ------------------------------------------------------------------------------------
  const pct = (n, total) => {
    if (!total) return "";
    const share = (100 * n) / total;
    return ` (${share < 1 ? share.toFixed(1) : share.toFixed(0)}%)`;
  };
  // Long names (sponsors) are cut for the axis; the hover shows them whole.
  const short = (label) => (label.length > 38 ? label.slice(0, 36) + "…" : label);
  const font = { family: "system-ui, -apple-system, Segoe UI, Roboto, sans-serif", size: 11 };

  function layout(title, extra) {
    return Object.assign({
      title: { text: title, font: { size: 13 }, x: 0.01, xanchor: "left" },
      font, margin: { l: 10, r: 20, t: 40, b: 40 }, height: 330, showlegend: false,
      paper_bgcolor: "#fff", plot_bgcolor: "#fff",
    }, extra || {});
  }

  // Horizontal bars, largest on top, each labelled "n (x%)"; `rest` rows (e.g. Not provided) go
  // last in grey. `slots` fixes the height so that the two charts of a row line up.
  function hbar(id, title, items, total, rest, slots) {
    const rows = items.concat(rest || []);
    const labels = rows.map((r) => r[0]);
    const values = rows.map((r) => r[1]);
    const colors = rows.map((r, k) => (k >= items.length ? GREY : BAR));
    const trace = {
      type: "bar", orientation: "h", x: values.slice().reverse(), y: labels.map(short).reverse(),
      customdata: labels.slice().reverse(), marker: { color: colors.slice().reverse() },
      text: rows.map((r) => r[1] + pct(r[1], total)).reverse(),
      textposition: "outside", cliponaxis: false, hovertemplate: "%{customdata}: %{x}<extra></extra>",
    };
    const height = 80 + 22 * Math.max(rows.length, slots || 0, 3);
    // Room on the right for the "n (x%)" label of the longest bar.
    const most = Math.max(1, ...values);
    // A left margin sized from the longest label: Plotly's automargin would draw every chart twice.
    const left = 12 + 6 * Math.max(4, ...labels.map((l) => short(l).length));
    Plotly.react($(id), [trace], layout(title, {
      height, margin: { l: left, r: 20, t: 40, b: 45 },
      xaxis: { title: { text: "trials" }, range: [0, most * 1.28] },
      yaxis: { type: "category", tickfont: { size: 10 } },
      annotations: rows.length ? [] : [{ text: "no trials in the selection", showarrow: false, xref: "paper", yref: "paper", x: 0.5, y: 0.5 }],
    }), CONFIG);
  }

  function top(countsByValue, labels, skip) {
    return Object.entries(countsByValue)
      .filter(([v]) => !skip || !skip.includes(v))
      .sort((a, b) => b[1] - a[1] || String(labels(a[0])).localeCompare(String(labels(b[0]))))
      .slice(0, TOP)
      .map(([v, n]) => [labels(v), n]);
  }

  // The filters beyond group, basis and years, in words ("site in China", "target CD19").
  function narrowing(s) {
    const parts = [];
    const add = (value, label) => { if (value !== null) parts.push(label(value)); };
    add(s.area, (v) => K.area[v]);
    add(s.target, (v) => `target ${K.target[v]}`);
    add(s.country, (v) => `site in ${countryLabels[v]}`);
    add(s.sponsorType, (v) => `${K.sponsor_type[v]} lead sponsor`);
    add(s.phase, (v) => K.phase[v]);
    add(s.cell, (v) => `${K.cell_source[v].replace("_", " ")} cells`);
    return parts;
  }

  function describe(s) {
    const parts = [`${s.group} trials`, `${s.basis.replace("_", " ")} ${s.from}–${s.to}`, ...narrowing(s)];
    const left = [];
    if (!s.followUp) left.push("follow-up");
    if (!s.expandedAccess) left.push("expanded-access");
    return parts.join(", ") + (left.length ? `; ${left.join(" and ")} studies excluded` : "");
  }

  // The charts above the fold are drawn at once; the others one per task after it, so the page
  // answers input between them. A newer selection drops what an older one had queued.
  let queue = [];
  let generation = 0;
  const later = (task) => queue.push(task);
  function drain(mine) {
    if (mine !== generation) return;
    const task = queue.shift();
    if (task) {
      task();
      setTimeout(() => drain(mine), 0);
      return;
    }
    window.ttDashboard.pending = 0;
    if (!window.ttTimings.complete) window.ttTimings.complete = performance.now();
  }

  function drawCharts(s, n) {
    const total = n.trials;
    const basis = s.basis.replace("_", " ");
    const yearsShown = Object.keys(n.year).map(Number);
    const partial = (y) => y === D.partial_year;
    Plotly.react($("chart-trend"), [{
      type: "bar", x: yearsShown, y: yearsShown.map((y) => n.year[y]),
      marker: { color: yearsShown.map((y) => (partial(y) ? PARTIAL : COLORS[s.group])),
        line: { color: yearsShown.map((y) => (partial(y) ? "#9a8a00" : COLORS[s.group])), width: 1 } },
      text: yearsShown.map((y) => String(n.year[y])), textposition: "outside", cliponaxis: false,
      hovertemplate: "%{x}: %{y} trials<extra></extra>",
    }], layout(`${s.group} trials per year (${basis} basis)` + narrowing(s).map((p) => `, ${p}`).join("") + (yearsShown.some(partial) ? ` — ${D.partial_year} is partial (data to ${D.data_to})` : ""), {
      xaxis: { tickmode: "linear", dtick: yearsShown.length > 20 ? 2 : 1, title: { text: `${basis} year` } },
      yaxis: { title: { text: "trials" }, rangemode: "tozero" }, margin: { l: 50, r: 20, t: 40, b: 50 },
    }), CONFIG);
    const scope = [`${s.group}, ${s.from}–${s.to}`, ...narrowing(s)].join(", ");
    const phases = K.phase.filter((p) => n.phase[p]).map((p) => [p, n.phase[p]]);
    const types = K.sponsor_type.filter((t) => n.sponsor_type[t]).map((t) => [t, n.sponsor_type[t]]);
    const small = Math.max(K.phase.length, K.sponsor_type.length);
    hbar("chart-phase", `Phase, ${scope}`, phases, total, [], small);
    hbar("chart-stype", `Lead-sponsor type, ${scope}`, types, total, [], small);
    const areas = K.area.filter((a) => a !== "unknown" && n.area[a]).map((a) => [a, n.area[a]]);
    const cells = K.cell_source.filter((c) => n.cell_source[c]).map((c) => [c.replace("_", " "), n.cell_source[c]]);
    const pair = Math.max(K.area.length, K.cell_source.length);
    later(() => hbar("chart-area", `Disease area, ${scope} (a trial in two areas counts in both)`, areas, total,
      n.area.unknown ? [["unknown", n.area.unknown]] : [], pair));
    later(() => hbar("chart-cell", `Cell source, ${scope}`, cells, total, [], pair));
    const countryName = (code) => K.country_name[K.country.indexOf(code)];
    later(() => hbar("chart-country", `Top countries, ${scope} (a site there)`, top(n.country, countryName, ["XX"]), total,
      n.country.XX ? [["Not provided", n.country.XX]] : [], TOP + 1));
    later(() => hbar("chart-target", `Top targets, ${scope} (each target of a trial)`, top(n.target, (v) => v, ["Not named"]),
      total, n.target["Not named"] ? [["Not named", n.target["Not named"]]] : [], TOP + 1));
    const productName = (id) => K.product_name[K.product.indexOf(id)];
    later(() => hbar("chart-sponsor", `Top lead sponsors, ${scope}`, top(n.sponsor, (v) => v), total, [], TOP));
    later(() => hbar("chart-product", `Top products named, ${scope}`, top(n.product, productName), total, [], TOP));
  }

  // ---- trial table and CSV -------------------------------------------------------------------------
  let shownRows = ROWS;
  const readable = (code) => code.charAt(0) + code.slice(1).toLowerCase().replace(/_/g, " ");
  const join = (col, i, label) => many(C[col][i]).map(label).join(", ");
  function rowValues(i, s) {
    return {
      nct_id: nct(i), title: C.title[i], year: C[s.basis][i], phase: K.phase[C.phase[i]],
      status: K.status[C.status[i]], lead_sponsor: join("sponsor", i, (v) => K.sponsor[v]),
      countries: join("country", i, (v) => countryLabels[v]), targets: join("target", i, (v) => K.target[v]),
      cell_source: K.cell_source[C.cell_source[i]].replace("_", " "),
      cell_source_basis: K.cell_source_basis[C.cell_source_basis[i]],
    };
  }
  function ordered(chosen, s) {
    return chosen.slice().sort((a, b) => C[s.basis][b] - C[s.basis][a] || C.id[b] - C.id[a]);
  }

  function drawTable(s, chosen) {
    const body = document.querySelector("#trials tbody");
    const rows = ordered(chosen, s).slice(0, shownRows);
    const fragment = document.createDocumentFragment();
    for (const i of rows) {
      const v = rowValues(i, s);
      const tr = document.createElement("tr");
      const link = document.createElement("a");
      link.href = `https://clinicaltrials.gov/study/${v.nct_id}`;
      link.textContent = v.nct_id;
      link.target = "_blank";
      link.rel = "noopener";
      const first = document.createElement("td");
      first.appendChild(link);
      tr.appendChild(first);
      for (const key of ["title", "year", "phase", "status", "lead_sponsor", "countries", "targets", "cell_source"]) {
        const td = document.createElement("td");
        // Registry codes (NOT_YET_RECRUITING) read as words in the table; the CSV keeps the codes.
        td.textContent = key === "status" ? readable(v[key]) : String(v[key]);
        if (key === "cell_source" && v.cell_source_basis) td.textContent += ` (${v.cell_source_basis})`;
        if (key === "year") td.className = "num";
        tr.appendChild(td);
      }
      fragment.appendChild(tr);
    }
    body.replaceChildren(fragment);
    $("trials-title").textContent = `The ${chosen.length.toLocaleString("en")} trials of the selection`;
    $("shown").textContent = `showing ${rows.length} of ${chosen.length}`;
    const more = $("more");
    more.hidden = rows.length >= chosen.length;
    more.textContent = `Show all ${chosen.length}`;
  }

  // A cell a spreadsheet would run as a formula (= + - @, or a tab or carriage return that some
  // readers strip before one) gets a leading apostrophe; then CSV quoting.
  function csvCell(value) {
    let text = value === null || value === undefined ? "" : String(value);
    if (/^[=+\-@\t\r]/.test(text)) text = "'" + text;
    return /[",\n\r]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
  }

  function filterText(s) {
    const any = (v, label) => (v === null ? "any" : label(v));
    return [
      `modality=${s.group}`, `basis=${s.basis}`, `years=${s.from}-${s.to}`,
      `disease_area=${any(s.area, (v) => K.area[v])}`, `target=${any(s.target, (v) => K.target[v])}`,
      `country=${any(s.country, (v) => K.country[v])}`,
      `lead_sponsor_type=${any(s.sponsorType, (v) => K.sponsor_type[v])}`,
      `phase=${any(s.phase, (v) => K.phase[v])}`, `cell_source=${any(s.cell, (v) => K.cell_source[v])}`,
      `follow_up=${s.followUp ? "included" : "excluded"}`,
      `expanded_access=${s.expandedAccess ? "included" : "excluded"}`,
    ].join("; ");
  }

  function csvText(s, chosen) {
    const run = D.run;
    const header = [
      "# trialtrends dashboard selection",
      `# run_id: ${run.run_id || ""}`,
      `# data_timestamp: ${run.data_timestamp || ""}`,
      `# classifier_version: ${run.classifier_version || ""}`,
      `# filters: ${filterText(s)}`,
      `# trials: ${chosen.length}`,
    ];
    const columns = ["nct_id", "url", "title", "year", "basis", "phase", "status", "lead_sponsor", "countries",
      "targets", "cell_source", "cell_source_basis"];
    const lines = header.map(csvCell);
    lines.push(columns.join(","));
    for (const i of ordered(chosen, s)) {
      const v = rowValues(i, s);
      v.url = `https://clinicaltrials.gov/study/${v.nct_id}`;
      v.basis = s.basis;
      lines.push(columns.map((c) => csvCell(v[c])).join(","));
    }
    return lines.join("\r\n") + "\r\n";
  }

  function download() {
    const s = readState();
    const blob = new Blob(["\ufeff" + csvText(s, select(s))], { type: "text/csv;charset=utf-8" });
    const a = document.createElement("a");
    a.href = URL.createObjectURL(blob);
    a.download = `trialtrends-${s.group.toLowerCase()}-${s.basis}-${s.from}-${s.to}.csv`;
    document.body.appendChild(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(a.href), 1000);
  }

  // ---- flow, methods, provenance ----------------------------------------------------------------------
  function drawFlow(s) {
    const flow = D.flows[`${s.basis}|${s.followUp ? 1 : 0}|${s.expandedAccess ? 1 : 0}`];
    // PRISMA layout: stages down the left, each stage's exclusions beside the arrow to the next.
    const box = $("flow");
    box.replaceChildren();
    let exits = null;
    let previous = null;
    for (const b of flow.boxes) {
      const div = document.createElement("div");
      div.className = b.kind + (b.kind === "excluded" && !b.trials ? " zero" : "");
      div.dataset.key = b.key;
      const n = document.createElement("b");
      n.textContent = b.trials.toLocaleString("en");
      div.append(n, (b.kind === "excluded" ? "excluded: " : "") + b.label);
      if (b.kind === "excluded") {
        if (!exits) {
          // The arrow from the stage above, with this stage's exclusions beside it.
          const arrow = document.createElement("div");
          arrow.className = "arrow";
          arrow.textContent = "↓";
          exits = document.createElement("div");
          exits.className = "exits";
          box.append(arrow, exits);
        }
        exits.appendChild(div);
      } else {
        if (previous === "stage") {
          const arrow = document.createElement("div");
          arrow.className = "arrow";
          arrow.textContent = "↓";
          box.append(arrow, document.createElement("div"));
        }
        box.append(div, document.createElement("div"));
        exits = null;
      }
      previous = b.kind;
    }
    $("flow-title").textContent = `Flow of trials to the counted set (all groups, ${s.basis.replace("_", " ")} basis, all years)`;
    $("methods").textContent = flow.methods;
  }

  const run = D.run;
  $("provenance").textContent = `Registry data ${run.data_timestamp || "(no timestamp)"} · run ${run.run_id} (${run.kind}, ${run.mode || "full"}) · classifier ${run.classifier_version} · built ${D.generated_at} by trialtrends ${D.trialtrends_version}`;
  $("footer").textContent = "Source: ClinicalTrials.gov. ClinicalTrials.gov undercounts Chinese cell therapy trials: since 2018 about half of them are registered only in ChiCTR, which is not included. Counts follow the warehouse views (yearly_counts, phase_distribution, country_table, sponsor_table and sponsor_type_table with role lead, disease_area_table, target_table, product_table).";

  // ---- wiring -------------------------------------------------------------------------------------------
  function render() {
    const s = readState();
    const chosen = select(s);
    const n = counts(s, chosen);
    $("count").textContent = chosen.length.toLocaleString("en");
    $("what").textContent = describe(s);
    const partial = $("partial");
    partial.hidden = !(D.partial_year && s.from <= D.partial_year && D.partial_year <= s.to);
    partial.textContent = `${D.partial_year} is partial: the registry data run to ${D.data_to}, so its counts are not comparable with complete years.`;
    generation += 1;
    queue = [];
    drawCharts(s, n);
    drawTable(s, chosen);
    drawFlow(s);
    window.ttDashboard.pending = queue.length;
    const mine = generation;
    setTimeout(() => drain(mine), 0);
    window.ttDashboard.state = s;
    window.ttDashboard.counts = n;
    window.ttDashboard.trials = ordered(chosen, s).map(nct);
  }

  window.ttTimings = {};
  window.ttDashboard = { render, csvCell, csvText: () => { const s = readState(); return csvText(s, select(s)); } };
  for (const id of FILTERS) $(id).addEventListener("change", () => { shownRows = ROWS; render(); });
  $("f-reset").addEventListener("click", () => { reset(); shownRows = ROWS; render(); });
  $("more").addEventListener("click", () => { shownRows = Infinity; drawTable(readState(), select(readState())); });
  $("csv").addEventListener("click", download);
  reset();
  render();
  // Milliseconds since navigation: when the page script started, Plotly ran, and the first view was drawn.
  // ready: the first view is on screen and the page answers input; complete (set when the queue
  // drains): every chart drawn.
  Object.assign(window.ttTimings, {
    script: ttStarted, unpacked: window.ttUnpacked, plotly: window.ttPlotlyReady, ready: performance.now(),
  });
  window.ttReady = performance.now();
  document.body.dataset.ready = "1";
}
