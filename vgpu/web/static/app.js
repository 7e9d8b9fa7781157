/* vgpu explorer: the page's logic.  Talks only to this server (same origin): /examples, /compile, /run,
   /gpus..., /events.  No framework, no build step. */
"use strict";
const $ = (s) => document.querySelector(s);
const $$ = (s) => Array.from(document.querySelectorAll(s));
const esc = VK.esc;
const PALETTE = ["#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1", "#ff9da7",
  "#9c755f", "#8cd17d", "#499894", "#d37295", "#a0cbe8", "#ffbe7d", "#86bcb6", "#f1ce63"];

const S = {            // page state
  examples: [], compiled: null, run: null, npy: {}, argText: {}, constants: {}, selLine: null, step: null,
  eventsSince: 0, events: [], dashTimer: null,
};

function status(text, error) {
  const el = $("#status");
  el.textContent = text;
  el.classList.toggle("error", !!error);
}

async function api(method, path, body) {
  const opt = { method, headers: {} };
  if (body !== undefined) { opt.headers["content-type"] = "application/json"; opt.body = JSON.stringify(body); }
  const r = await fetch(path, opt);
  let data = null;
  try { data = await r.json(); } catch (e) { data = { detail: r.statusText }; }
  if (!r.ok) {
    const d = data && data.detail;
    throw new Error(typeof d === "string" ? d : JSON.stringify(d));
  }
  return data;
}

/* ---------------- the editor ---------------- */
function renderEditor() {
  const text = $("#source").value;
  const rows = VK.html(text);
  const diags = (S.compiled && S.compiled.diagnostics) || [];
  const errLines = new Map();
  for (const d of diags) if (d.line > 0 && d.file === (S.compiled.file)) errLines.set(d.line, d);
  $("#highlight").innerHTML = rows.map((h, i) =>
    `<span class="line${errLines.has(i + 1) ? " err" : ""}" data-line="${i + 1}">${h || " "}</span>`).join("");
  const heat = lineHeat();
  const max = Math.max(1, ...Object.values(heat));
  $("#gutter").innerHTML = rows.map((_, i) => {
    const n = i + 1, w = heat[n];
    const bg = w ? `background:rgba(230,60,40,${(0.12 + 0.75 * w / max).toFixed(3)})` : "";
    const d = errLines.get(n);
    return `<div class="gl" data-line="${n}"><span class="heat" data-warps="${w || 0}" style="${bg}">${w ? w.toLocaleString("en-US") : ""}</span>` +
      `<span class="mark" title="${d ? esc(d.message) : ""}">${d ? "●" : ""}</span><span class="ln">${n}</span></div>`;
  }).join("");
  const lines = text.split("\n");
  $("#source").style.height = `calc(${lines.length} * var(--lh) + 8px)`;
  $("#source").style.width = `calc(${Math.max(40, ...lines.map(l => l.length)) + 4}ch + 16px)`;
  $("#inline-diags").innerHTML = [...errLines.values()].map(d => {
    const len = (lines[d.line - 1] || "").length;
    return `<div class="idiag ${d.severity}" style="top:calc(${d.line - 1} * var(--lh) + 4px);left:calc(${len + 3}ch + 8px)">${esc(d.severity)}: ${esc(d.message)}</div>`;
  }).join("");
  if (S.selLine) highlightLine(S.selLine);
}

function lineHeat() {
  const out = {};
  const p = S.run && S.run.profile;
  if (!p) return out;
  for (const l of p.lines) if (l.file === p.file) out[l.line] = l.warps;
  return out;
}

function editorLineAt(ev) {
  const box = $("#source").getBoundingClientRect();
  const lh = parseFloat(getComputedStyle($("#highlight")).lineHeight) || 18;
  const n = Math.floor((ev.clientY - box.top - 4) / lh) + 1;
  return n >= 1 ? n : null;
}

/* ---------------- linking source, IR and assembly ---------------- */
function highlightLine(n) {
  $$(".hl").forEach(e => e.classList.remove("hl"));
  if (!n) return;
  document.querySelectorAll(`#highlight .line[data-line="${n}"], #gutter .gl[data-line="${n}"]`).forEach(e => e.classList.add("hl"));
  const m = S.compiled && S.compiled.source_map[String(n)];
  if (!m) return [];
  const els = [];
  for (const i of m.ir) { const e = $(`#ir .l[data-i="${i}"]`); if (e) { e.classList.add("hl"); els.push(e); } }
  for (const i of m.asm) { const e = $(`#asm .l[data-i="${i}"]`); if (e) { e.classList.add("hl"); els.push(e); } }
  return els;
}

function reveal(n) {
  S.selLine = n;
  highlightLine(n);
  const m = S.compiled && S.compiled.source_map[String(n)];
  if (!m) return;
  for (const [pane, list] of [["#ir", m.ir], ["#asm", m.asm]]) {
    const e = list.length && $(`${pane} .l[data-i="${list[0]}"]`);
    if (e) e.parentElement.scrollTop = e.offsetTop - e.parentElement.offsetTop - 40;
  }
  const g = $(`#gutter .gl[data-line="${n}"]`);
  const ed = $("#editor");
  if (g && (g.offsetTop < ed.scrollTop || g.offsetTop > ed.scrollTop + ed.clientHeight - 20)) ed.scrollTop = g.offsetTop - 40;
}

function listingHtml(text, srcLines, kind) {
  const heat = {};
  if (kind === "asm" && S.run && S.run.profile && S.compiled) {
    for (const ins of S.run.profile.instructions) heat[ins.pc] = (heat[ins.pc] || 0) + ins.warps;
  }
  return text.split("\n").map((t, i) => {
    const src = srcLines[i];
    let body = esc(t);
    if (/^\s*(\/\/|;)/.test(t)) body = `<span class="com">${body}</span>`;
    else if (/^\s*[\w$.]+:\s*$/.test(t)) body = `<span class="lab">${body}</span>`;
    else body = body.replace(/^(\s*)(@!?%\w+\s+)?([a-z][\w.]*)/, (m, a, g, op) => `${a}${g || ""}<span class="op">${op}</span>`);
    let h = "";
    if (kind === "asm") {
      const pc = S.compiled.asm_pcs[i];
      const w = pc && S.run && S.run.kernel === pc[0] ? heat[pc[1]] : undefined;
      h = `<span class="h" data-warps="${w || 0}">${w ? w.toLocaleString("en-US") : ""}</span>`;
    }
    return `<div class="l${src != null ? " src" : ""}" data-i="${i}"${src != null ? ` data-src="${src}"` : ""}>${h}<span class="t">${body || " "}</span></div>`;
  }).join("");
}

function renderListings() {
  const c = S.compiled;
  if (!c) return;
  $("#ir").innerHTML = listingHtml(c.ir, c.ir_lines, "ir");
  $("#asm").innerHTML = listingHtml(c.asm, c.asm_lines, "asm");
}

/* ---------------- compile ---------------- */
async function compile() {
  status("compiling…");
  const source = $("#source").value;
  try {
    S.compiled = await api("POST", "/compile", { source, filename: S.filename || "kernel.vk" });
  } catch (e) {
    status(e.message, true);
    return null;
  }
  S.run = null;
  $("#results").classList.add("hidden");
  const c = S.compiled;
  $("#diagnostics").innerHTML = c.diagnostics.map(d =>
    `<div data-line="${d.line}">${esc(d.text)}</div>`).join("");
  renderEditor();
  renderListings();
  if (c.ok) {
    const ks = c.kernels.map(k => k.name);
    const want = S.wantKernel && ks.includes(S.wantKernel) ? S.wantKernel : ($("#kernel").value && ks.includes($("#kernel").value) ? $("#kernel").value : ks[0]);
    S.wantKernel = null;
    $("#kernel").innerHTML = ks.map(k => `<option${k === want ? " selected" : ""}>${esc(k)}</option>`).join("");
    renderArgs();
    status(`compiled: ${ks.length} kernel${ks.length === 1 ? "" : "s"} (${ks.join(", ")})`);
  } else {
    status(`${c.diagnostics.length} diagnostic${c.diagnostics.length === 1 ? "" : "s"}`, true);
  }
  return c;
}

/* ---------------- arguments ---------------- */
function specText(v) {
  if (typeof v === "number") return String(v);
  if (!v || typeof v !== "object") return "";
  for (const k of ["random", "arange", "zeros"]) if (k in v) {
    let s = `${k} ${v[k]}`;
    if (v.seed !== undefined) s += ` seed=${v.seed}`;
    if (v.dtype) s += ` dtype=${v.dtype}`;
    return s;
  }
  return "";
}

function parseSpec(name, text, pointer) {
  text = text.trim();
  if (!pointer) {
    if (text === "" || isNaN(Number(text))) throw new Error(`argument ${name}: give a number`);
    return Number(text);
  }
  if (text.startsWith("npy")) {
    if (!S.npy[name]) throw new Error(`argument ${name}: choose a .npy file`);
    return { npy: S.npy[name] };
  }
  const m = text.match(/^(random|arange|zeros)\s+(\d+)((?:\s+\w+=\S+)*)$/);
  if (!m) throw new Error(`argument ${name}: write random N, arange N or zeros N (optionally seed=S dtype=T)`);
  const spec = { [m[1]]: Number(m[2]) };
  for (const kv of m[3].trim().split(/\s+/).filter(Boolean)) {
    const [k, v] = kv.split("=");
    spec[k] = k === "seed" ? Number(v) : v;
  }
  return spec;
}

function currentKernel() {
  return S.compiled && S.compiled.kernels.find(k => k.name === $("#kernel").value);
}

function renderArgs() {
  const k = currentKernel();
  if (!k) { $("#args").innerHTML = ""; return; }
  $("#args").innerHTML = k.params.map(p => {
    const def = S.argText[p.name] !== undefined ? S.argText[p.name] : (p.pointer ? "random 1024" : "1024");
    return `<span class="arg"><label for="arg-${esc(p.name)}">${esc(p.type || "")}${p.pointer ? "*" : ""} ${esc(p.name)}</label>` +
      `<input type="text" id="arg-${esc(p.name)}" data-name="${esc(p.name)}" data-pointer="${p.pointer}" value="${esc(def)}">` +
      (p.pointer ? `<input type="file" accept=".npy" data-npy="${esc(p.name)}" title="upload a .npy file">` : "") + `</span>`;
  }).join("");
  $$("#args input[type=text]").forEach(i => i.addEventListener("change", () => { S.argText[i.dataset.name] = i.value; }));
  $$("#args input[type=file]").forEach(f => f.addEventListener("change", async () => {
    const file = f.files[0];
    if (!file) return;
    const buf = new Uint8Array(await file.arrayBuffer());
    let bin = "";
    for (let i = 0; i < buf.length; i += 0x8000) bin += String.fromCharCode.apply(null, buf.subarray(i, i + 0x8000));
    S.npy[f.dataset.npy] = btoa(bin);
    const t = $(`#arg-${f.dataset.npy}`);
    t.value = `npy ${file.name}`;
    S.argText[f.dataset.npy] = t.value;
  }));
}

function dimsOf(text, what) {
  const parts = text.split(",").map(s => s.trim()).filter(Boolean).map(Number);
  if (!parts.length || parts.length > 3 || parts.some(x => !Number.isInteger(x))) throw new Error(`${what}: write X, X,Y or X,Y,Z`);
  return parts.length === 1 ? parts[0] : parts;
}

function runRequest() {
  const k = currentKernel();
  if (!k) throw new Error("compile first: no kernel");
  const args = {};
  for (const i of $$("#args input[type=text]")) args[i.dataset.name] = parseSpec(i.dataset.name, i.value, i.dataset.pointer === "true");
  const wb = dimsOf($("#warp-block").value, "divergence block");
  const check = $("#check").value;
  return {
    source: $("#source").value, filename: S.filename || "kernel.vk", kernel: k.name,
    grid: dimsOf($("#grid").value, "grid"), block: dimsOf($("#block").value, "block"), args,
    constants: S.constants || {}, check: check ? [check] : null,
    warp_block: Array.isArray(wb) ? wb : [wb], warp: Number($("#warp").value) || 0,
    timing: $("#timing-preset").value || null,
  };
}

/* ---------------- run ---------------- */
async function run() {
  if (!S.compiled || !S.compiled.ok || S.compiledSource !== $("#source").value) {
    S.compiledSource = $("#source").value;
    const c = await compile();
    if (!c || !c.ok) return;
  }
  let req;
  try { req = runRequest(); } catch (e) { status(e.message, true); return; }
  status("running…");
  try {
    S.run = await api("POST", "/run", req);
  } catch (e) {
    status(e.message, true);
    return;
  }
  renderResults();
  renderEditor();
  renderListings();
  if (S.selLine) highlightLine(S.selLine);
  renderDivergence();
  S.memDevice = S.run.device.id;
  const r = S.run;
  status(r.fault ? `device fault: ${r.fault.type}` : `ran ${r.kernel}: ${(r.counters.warp_instructions || 0).toLocaleString("en-US")} warp instructions`, !!r.fault);
}

const KEY_COUNTERS = ["warp_instructions", "thread_instructions", "simt_efficiency_lanes", "branches", "divergent_branches",
  "branch_efficiency", "global_load_requests", "global_load_sectors", "global_store_requests", "global_store_sectors",
  "shared_load_requests", "shared_load_bank_conflicts", "shared_store_bank_conflicts", "steps", "waves"];

function fmt(v) {
  if (v === null || v === undefined) return "–";
  if (typeof v === "number") return Number.isInteger(v) ? v.toLocaleString("en-US") : v.toFixed(3);
  return esc(String(v));
}

/* The timing model's report (docs/timing.md) in a few lines: time, cycles, what bounds it, top stalls. */
function timingSummary(t) {
  const pct = x => `${(100 * x).toFixed(0)}%`;
  const stalls = Object.entries(t.stall_fractions || {}).slice(0, 3).map(([k, v]) => `${k} ${pct(v)}`).join(", ");
  const lines = [`${t.preset}: ${(t.seconds * 1e6).toFixed(2)} µs (${Math.round(t.cycles).toLocaleString("en-US")} cycles), ` +
    `${t.bound}-bound; plus ${t.launch_us} µs launch`];
  if (stalls) lines.push(`stalls: ${stalls}`);
  if (t.occupancy) lines.push(`achieved occupancy ${pct(t.occupancy.achieved)} of ${pct(t.occupancy.theoretical)}`);
  lines.push(`L1 hit ${pct(t.l1_hit_rate)}, L2 hit ${pct(t.l2_hit_rate)}, ${fmt(t.hbm_bytes)} bytes from HBM`);
  return lines.join("\n");
}

function renderResults() {
  const r = S.run;
  $("#results").classList.remove("hidden");
  const c = r.counters || {};
  const keys = KEY_COUNTERS.filter(k => k in c).concat(Object.keys(c).filter(k => !KEY_COUNTERS.includes(k) && typeof c[k] === "number" && c[k]));
  $("#counters").innerHTML = keys.map(k => `<tr><td>${esc(k)}</td><td class="num" id="counter-${esc(k)}">${fmt(c[k])}</td></tr>`).join("");
  const o = r.occupancy || {};
  $("#occupancy").innerHTML = Object.entries(o).map(([k, v]) =>
    `<tr><td>${esc(k)}</td><td class="num">${typeof v === "object" && v !== null ? esc(JSON.stringify(v)) : fmt(v)}</td></tr>`).join("");
  $("#ran-on").textContent = r.ran_on ? `ran on: ${r.ran_on}` : "";
  $("#timing").textContent = r.timing ? timingSummary(r.timing) : "choose a timing model (above) for the modelled time on a real GPU";
  $("#outputs").innerHTML = r.outputs.map(o =>
    `<div class="out" id="out-${esc(o.name)}"><b>${esc(o.name)}</b> ${esc(o.dtype)}[${o.size}] min ${fmt(o.min)} max ${fmt(o.max)} mean ${fmt(o.mean)} sum ${fmt(o.sum)}` +
    ` <a href="#" data-mem="${o.offset}" data-n="${o.nbytes}" data-dt="${esc(o.dtype)}">memory</a>` +
    `<div class="first">${o.first.map(fmt).join(", ")}${o.size > o.first.length ? ", …" : ""}</div></div>`).join("");
  $$("#outputs a[data-mem]").forEach(a => a.addEventListener("click", (ev) => {
    ev.preventDefault();
    openMemory(S.run.device.id, "global", Number(a.dataset.mem), Math.min(Number(a.dataset.n), 1024), a.dataset.dt);
  }));
  $("#fault").textContent = r.fault ? `${r.fault.type}: ${r.fault.message}` : "";
  $("#reports").innerHTML = r.reports.map(x => `<pre>${esc(x.text)}</pre>`).join("");
  $("#printf").textContent = r.printf.join("");
}

/* ---------------- divergence ---------------- */
const CELL = 8, LANE_H = 9, TOP = 44;
function divColumns() { return (S.run && S.run.divergence && S.run.divergence.columns) || []; }

function lineColours(cols) {
  const lines = [...new Set(cols.map(c => c.line).filter(l => l !== null))].sort((a, b) => a - b);
  const col = {};
  lines.forEach((l, i) => { col[l] = PALETTE[i % PALETTE.length]; });
  return [lines, col];
}

function renderDivergence() {
  const cols = divColumns();
  const d = S.run && S.run.divergence;
  const cv = $("#div-canvas");
  const from = Math.max(0, Math.min(Number($("#div-from").value) || 0, Math.max(0, cols.length - 1)));
  const show = cols.slice(from, from + 400);
  const [lines, colour] = lineColours(cols);
  const maxDepth = Math.max(1, ...cols.map(c => c.depth));
  cv.width = Math.max(800, 60 + show.length * CELL + 20);
  cv.height = TOP + 32 * LANE_H + 40 + maxDepth * 4;
  const g = cv.getContext("2d");
  g.fillStyle = "#fff"; g.fillRect(0, 0, cv.width, cv.height);
  g.font = "10px monospace"; g.fillStyle = "#333";
  $("#div-title").textContent = d ? `kernel ${S.run.kernel}, block (${d.block.join(",")}) warp ${d.warp}: ${cols.length} instructions` +
    (d.truncated ? " (truncated)" : "") + (cols.length ? ` — showing ${from}..${from + show.length - 1}` : " — the warp did not run") : "run a kernel first";
  g.fillText("stack depth", 2, 12);
  for (let lane = 0; lane < 32; lane += 4) g.fillText(`lane ${lane}`, 2, TOP + lane * LANE_H + 8);
  show.forEach((c, i) => {
    const x = 60 + i * CELL;
    g.fillStyle = "#555";
    const dh = c.depth * 4;
    g.fillRect(x, TOP - 8 - dh, CELL - 1, dh + 1);
    for (let lane = 0; lane < 32; lane++) {
      const on = (c.mask >>> lane) & 1, alive = (c.alive >>> lane) & 1;
      if (on) g.fillStyle = colour[c.line] || "#333";
      else if (!alive) g.fillStyle = "#ddd";
      else continue;
      g.fillRect(x, TOP + lane * LANE_H, CELL - 1, LANE_H - 1);
    }
    if (S.step === from + i) {
      g.strokeStyle = "#000"; g.lineWidth = 2;
      g.strokeRect(x - 1, TOP - 2, CELL + 1, 32 * LANE_H + 3);
    }
  });
  g.fillStyle = "#333";
  show.forEach((c, i) => {
    if (i === 0 || c.line !== show[i - 1].line) g.fillText(String(c.line ?? "-"), 60 + i * CELL, TOP + 32 * LANE_H + 12 + (i % 2) * 10);
  });
  const src = $("#source").value.split("\n");
  $("#div-legend").innerHTML = lines.map(l => `<div><span class="sw" style="background:${colour[l]}"></span>line ${l}: ${esc((src[l - 1] || "").trim().slice(0, 80))}</div>`).join("");
  renderStack();
}

function bits(mask) {
  let s = "";
  for (let lane = 0; lane < 32; lane++) s += ((mask >>> lane) & 1) ? "■" : "·";
  return s;
}

function renderStack() {
  const cols = divColumns();
  const c = S.step !== null ? cols[S.step] : null;
  if (!c) { $("#div-stack").innerHTML = "<em>click a column to see the SIMT stack at that step</em>"; return; }
  const hex = (m) => "0x" + (m >>> 0).toString(16).padStart(8, "0");
  const rows = (c.stack || []).map((e, i) =>
    `<tr><td>${i === 0 ? "top" : i}</td><td class="num">${e[0]}</td><td class="num">${e[1] < 0 ? "exit" : e[1]}</td><td>${hex(e[2])}</td><td class="bits">${bits(e[2])}</td></tr>`).join("");
  $("#div-stack").innerHTML = `<div id="stack-step">instruction ${S.step} at step ${c.step}: pc ${c.pc}, line ${c.line ?? "-"}: <b>${esc(c.text)}</b></div>` +
    `<div>active ${hex(c.mask)} <span class="bits">${bits(c.mask)}</span> (${popcount(c.mask)} lanes), stack depth ${c.depth}</div>` +
    `<table id="stack-table"><tr><th>entry</th><th>pc</th><th>reconverge</th><th>mask</th><th>lanes 0..31</th></tr>${rows}</table>`;
}

function popcount(m) { let n = 0; m >>>= 0; while (m) { n += m & 1; m >>>= 1; } return n; }

/* ---------------- memory ---------------- */
async function refreshGpus(sel) {
  const gpus = await api("GET", "/gpus");
  const cur = sel !== undefined && sel !== null ? sel : Number($("#mem-gpu").value);
  $("#mem-gpu").innerHTML = gpus.map(g => `<option value="${g.id}"${g.id === cur ? " selected" : ""}>${esc(g.name)} (id ${g.id})</option>`).join("");
  return gpus;
}

async function loadAllocations() {
  const id = $("#mem-gpu").value;
  if (id === "") return;
  const allocs = await api("GET", `/gpus/${id}/allocations`);
  $("#mem-allocs").innerHTML = "<tr><th>space</th><th>offset</th><th>bytes</th><th>label</th></tr>" + allocs.map(a =>
    `<tr data-space="${a.space}" data-offset="${a.offset}" data-size="${a.size}"><td>${a.space}</td><td class="num">${a.offset}</td><td class="num">${a.size}</td><td>${esc(a.label || runLabel(id, a) || "")}</td></tr>`).join("");
  $$("#mem-allocs tr[data-space]").forEach(tr => tr.addEventListener("click", () => {
    $("#mem-space").value = tr.dataset.space;
    $("#mem-offset").value = tr.dataset.offset;
    $("#mem-size").value = Math.min(Number(tr.dataset.size), 1024);
    readMemory();
  }));
}

function runLabel(gpu, a) {
  const r = S.run;
  if (!r || String(r.device.id) !== String(gpu) || a.space !== "global") return "";
  const o = r.outputs.find(o => o.offset === a.offset);
  return o ? `${o.name} (argument of ${r.kernel})` : "";
}

async function readMemory() {
  const id = $("#mem-gpu").value, space = $("#mem-space").value;
  const q = `offset=${encodeURIComponent($("#mem-offset").value)}&size=${encodeURIComponent($("#mem-size").value)}&dtype=${$("#mem-dtype").value}`;
  $("#mem-error").textContent = "";
  try {
    const m = await api("GET", `/gpus/${id}/${space}_mem?${q}`);
    const lines = [];
    for (let i = 0; i < m.size; i += 16) {
      const hex = m.data.slice(2 * i, 2 * i + 32).match(/../g) || [];
      const ascii = hex.map(h => { const c = parseInt(h, 16); return c >= 32 && c < 127 ? String.fromCharCode(c) : "."; }).join("");
      lines.push(`${(m.offset + i).toString(16).padStart(8, "0")}  ${hex.join(" ").padEnd(48)}  ${ascii}`);
    }
    $("#mem-hex").textContent = lines.join("\n");
    $("#mem-values").innerHTML = `<table>${m.values.map((v, i) => `<tr><td>[${i}]</td><td class="num">${fmt(v)}</td></tr>`).join("")}</table>`;
  } catch (e) {
    $("#mem-error").textContent = e.message;
  }
}

async function openMemory(gpu, space, offset, size, dtype) {
  showView("memory");
  await refreshGpus(gpu);
  $("#mem-space").value = space; $("#mem-offset").value = offset; $("#mem-size").value = size;
  if ([...$("#mem-dtype").options].some(o => o.value === dtype)) $("#mem-dtype").value = dtype;
  await loadAllocations();
  await readMemory();
}

/* ---------------- dashboard ---------------- */
async function refreshDashboard() {
  let gpus;
  try { gpus = await api("GET", "/gpus"); } catch (e) { return; }
  const states = await Promise.all(gpus.map(g => api("GET", `/gpus/${g.id}/state`).catch(() => null)));
  $("#dash-gpus").innerHTML = states.filter(Boolean).map(s => {
    const pct = s.global_memory.size ? 100 * s.global_memory.used / s.global_memory.size : 0;
    return `<div class="gpu-card" data-gpu="${s.id}"><h4>${esc(s.name)} <span class="hint">id ${s.id}</span></h4>` +
      `<div>${s.num_sms} SMs · ${s.launches} launches · ${s.transfers} transfers · ${s.allocations.length} allocations</div>` +
      `<div class="hint">memory ${s.global_memory.used.toLocaleString("en-US")} of ${s.global_memory.size.toLocaleString("en-US")} bytes</div>` +
      `<div class="bar"><div style="width:${Math.max(pct, 0.5).toFixed(2)}%"></div></div>` +
      `<div class="sms">${s.sms.map(sm => `<div class="sm${sm.blocks_last_launch ? " busy" : ""}" data-gpu="${s.id}" data-sm="${sm.id}" title="blocks of the last launch: ${sm.blocks_last_launch}">SM${sm.id}<br>${sm.blocks_last_launch}</div>`).join("")}</div></div>`;
  }).join("") || "<em>no live GPUs</em>";
  $$("#dash-gpus .sm").forEach(el => el.addEventListener("click", async () => {
    const d = await api("GET", `/gpus/${el.dataset.gpu}/sm/${el.dataset.sm}`);
    $("#dash-sm").textContent = `GPU ${d.gpu} SM ${d.id}: ${d.status}; last launch ${d.last_launch ? d.last_launch.kernel : "none"}; ` +
      `blocks ${d.blocks.map(b => "(" + b.block_idx.join(",") + ")").slice(0, 40).join(" ")}${d.blocks.length > 40 ? " …" : ""} (${d.assignment})`;
  }));
  const launches = states.filter(Boolean).flatMap(s => s.kernel_log.map(r => ({ ...r, gpu: s.name })));
  $("#dash-launches").innerHTML = "<tr><th>GPU</th><th>kernel</th><th>grid</th><th>block</th><th>warp inst</th><th>ms</th><th>ran on</th></tr>" +
    launches.slice(-30).reverse().map(r => `<tr><td>${esc(r.gpu)}</td><td>${esc(r.kernel)}</td><td>${r.grid.join("×")}</td><td>${r.block.join("×")}</td><td class="num">${r.instructions.toLocaleString("en-US")}</td><td class="num">${(1000 * r.seconds).toFixed(1)}</td><td class="hint">${esc(r.ran_on || "")}</td></tr>`).join("");
  const transfers = states.filter(Boolean).flatMap(s => s.transfer_log.map(t => ({ ...t, gpu: s.name })));
  $("#dash-transfers").innerHTML = "<tr><th>kind</th><th>from</th><th>to</th><th>bytes</th><th>link</th><th>modelled µs</th></tr>" +
    transfers.slice(-30).reverse().map(t => `<tr><td>${t.kind}</td><td>${esc(t.src)}</td><td>${esc(t.dst)}</td><td class="num">${t.bytes.toLocaleString("en-US")}</td><td>${esc(t.link)}</td><td class="num">${(1e6 * t.modelled_seconds).toFixed(2)}</td></tr>`).join("");
  try {
    const ev = await api("GET", `/events?since=${S.eventsSince}&limit=200`);
    S.events = S.events.concat(ev.events).slice(-300);
    S.eventsSince = ev.next;
  } catch (e) { /* keep the old feed */ }
  $("#dash-events").innerHTML = S.events.slice().reverse().map(e =>
    `<div>#${e.id} ${esc(e.kind)} ${esc(e.gpu_name || (e.gpu !== undefined ? "gpu " + e.gpu : ""))} ${esc(e.kernel || e.file || "")}${e.bytes !== undefined ? " " + e.bytes + " B" : ""}</div>`).join("");
}

/* ---------------- views, share link, examples ---------------- */
function showView(v) {
  $$("#tabs button").forEach(b => b.classList.toggle("active", b.dataset.view === v));
  $$(".view").forEach(s => s.classList.toggle("active", s.id === `view-${v}`));
  clearInterval(S.dashTimer);
  if (v === "dashboard") { refreshDashboard(); S.dashTimer = setInterval(refreshDashboard, 2000); }
  if (v === "memory") refreshGpus(S.memDevice).then(loadAllocations).catch(() => {});
  if (v === "divergence") renderDivergence();
}

function b64encode(text) {
  const bytes = new TextEncoder().encode(text);
  let bin = "";
  for (let i = 0; i < bytes.length; i += 0x8000) bin += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
  return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function b64decode(s) {
  const bin = atob(s.replace(/-/g, "+").replace(/_/g, "/"));
  return new TextDecoder().decode(Uint8Array.from(bin, c => c.charCodeAt(0)));
}

function shareState() {
  const args = {};
  $$("#args input[type=text]").forEach(i => { args[i.dataset.name] = i.value; });
  return { source: $("#source").value, filename: S.filename, kernel: $("#kernel").value, grid: $("#grid").value,
    block: $("#block").value, args, constants: S.constants, check: $("#check").value, warp_block: $("#warp-block").value,
    warp: $("#warp").value, timing: $("#timing-preset").value };
}

function share() {
  const url = location.origin + location.pathname + "#s=" + b64encode(JSON.stringify(shareState()));
  history.replaceState(null, "", url);
  $("#share-url").value = url;
  $("#share-url").select();
  status("share link: the URL holds the source and settings");
}

function applyState(st) {
  $("#source").value = st.source || "";
  S.filename = st.filename || "kernel.vk";
  S.wantKernel = st.kernel || null;
  $("#grid").value = st.grid ?? "1"; $("#block").value = st.block ?? "32";
  S.argText = st.args || {};
  S.constants = st.constants || {};
  $("#check").value = st.check || ""; $("#warp-block").value = st.warp_block ?? "0"; $("#warp").value = st.warp ?? "0";
  $("#timing-preset").value = st.timing || "";
  S.compiled = null; S.run = null; S.selLine = null; S.step = null;
  renderEditor();
}

function loadExample(name) {
  const ex = S.examples.find(e => e.name === name);
  if (!ex) return;
  const args = {};
  for (const [k, v] of Object.entries(ex.args)) args[k] = specText(v);
  applyState({ source: ex.source, filename: ex.name, kernel: ex.kernel, grid: String(ex.grid), block: String(ex.block),
    args, constants: ex.constants });
  S.compiledSource = ex.source;
  return compile();
}

async function init() {
  $$("#tabs button").forEach(b => b.addEventListener("click", () => showView(b.dataset.view)));
  const src = $("#source");
  src.addEventListener("input", () => { S.compiled && (S.compiled.diagnostics = []); renderEditor(); });
  src.addEventListener("keydown", (ev) => {
    if (ev.key === "Tab") {
      ev.preventDefault();
      const s = src.selectionStart;
      src.setRangeText("    ", s, src.selectionEnd, "end");
      renderEditor();
    } else if (ev.key === "Enter" && ev.ctrlKey) { ev.preventDefault(); S.compiledSource = src.value; compile(); }
    else if (ev.key === "Enter" && ev.shiftKey) { ev.preventDefault(); run(); }
  });
  src.addEventListener("mousemove", (ev) => highlightLine(editorLineAt(ev)));
  src.addEventListener("mouseleave", () => highlightLine(S.selLine));
  src.addEventListener("click", () => reveal(src.value.slice(0, src.selectionStart).split("\n").length));
  $("#gutter").addEventListener("mouseover", (ev) => { const g = ev.target.closest(".gl"); if (g) highlightLine(Number(g.dataset.line)); });
  $("#gutter").addEventListener("click", (ev) => { const g = ev.target.closest(".gl"); if (g) reveal(Number(g.dataset.line)); });
  $("#gutter").addEventListener("mouseleave", () => highlightLine(S.selLine));
  for (const pane of ["#ir", "#asm"]) {
    $(pane).addEventListener("mouseover", (ev) => { const l = ev.target.closest(".l[data-src]"); if (l) highlightLine(Number(l.dataset.src)); });
    $(pane).addEventListener("click", (ev) => { const l = ev.target.closest(".l[data-src]"); if (l) reveal(Number(l.dataset.src)); });
    $(pane).addEventListener("mouseleave", () => highlightLine(S.selLine));
  }
  $("#diagnostics").addEventListener("click", (ev) => { const d = ev.target.closest("[data-line]"); if (d) reveal(Number(d.dataset.line)); });
  $("#compile").addEventListener("click", () => { S.compiledSource = src.value; compile(); });
  $("#run").addEventListener("click", run);
  $("#share").addEventListener("click", share);
  $("#kernel").addEventListener("change", renderArgs);
  $("#div-from").addEventListener("change", renderDivergence);
  $("#div-canvas").addEventListener("click", (ev) => {
    const r = ev.target.getBoundingClientRect();
    const i = Math.floor((ev.clientX - r.left - 60) / CELL);
    const from = Number($("#div-from").value) || 0;
    if (i >= 0 && from + i < divColumns().length) { S.step = from + i; renderDivergence(); }
  });
  $("#mem-read").addEventListener("click", readMemory);
  $("#mem-gpu").addEventListener("change", loadAllocations);
  try { S.examples = await api("GET", "/examples"); } catch (e) { status(e.message, true); }
  $("#examples").innerHTML = `<option value="">(choose)</option>` + S.examples.map(e => `<option value="${esc(e.name)}">${esc(e.title)}</option>`).join("");
  $("#examples").addEventListener("change", () => loadExample($("#examples").value));
  if (location.hash.startsWith("#s=")) {
    try {
      applyState(JSON.parse(b64decode(location.hash.slice(3))));
      S.compiledSource = $("#source").value;
      await compile();
      status("loaded from the share link");
    } catch (e) { status("the share link is damaged: " + e.message, true); }
  } else if (S.examples.length) {
    $("#examples").value = "saxpy.vk";
    await loadExample("saxpy.vk");
  }
  document.body.dataset.ready = "1";
}
init();
