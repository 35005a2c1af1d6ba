// The specmock console: plain JavaScript over the admin API (/__admin), no build step. Swagger UI
// renders each API's published document; everything else is read from /__admin/apis,
// /__admin/requests (and its live NDJSON feed), /__admin/scenarios, /__admin/data and
// /__admin/health.
"use strict";

const ADMIN = "/__admin";
const state = {
  catalogue: { apis: [], identities: [] },
  api: null, // the API shown in the docs
  ui: null, // its Swagger UI
  token: null, // the token Try-it calls with
  requests: [], // journal entries, newest first
  seen: new Set(),
  selected: null,
  skipped: 0, // rows the live feed left out under heavy traffic
  scenarios: [],
  data: { api: null, collection: null, offset: 0, limit: 25, q: "" },
};
const MAX_ROWS = 500;

// ---- small helpers -------------------------------------------------------------------------

const $ = (id) => document.getElementById(id);

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else if (name === "text") node.textContent = value;
    else node.setAttribute(name, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child !== null && child !== undefined) node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

function adminToken() {
  return sessionStorage.getItem("specmock-admin-token");
}

// A call to the admin API, with the admin token when one was given; a 401 asks for it once.
async function admin(path, options = {}) {
  const headers = Object.assign({}, options.headers || {});
  const token = adminToken();
  if (token) headers.Authorization = `Bearer ${token}`;
  if (options.body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(ADMIN + path, Object.assign({}, options, { headers }));
  if (response.status === 401 && !options.retried) {
    await askForToken();
    return admin(path, Object.assign({}, options, { retried: true }));
  }
  return response;
}

async function adminJson(path, options) {
  const response = await admin(path, options);
  const body = response.status === 204 ? null : await response.json();
  if (!response.ok) throw new Error(body && body.error ? body.error : `${path}: ${response.status}`);
  return body;
}

let tokenAsked = null;
function askForToken() {
  if (tokenAsked) return tokenAsked;
  tokenAsked = new Promise((resolve) => {
    const dialog = $("token-dialog");
    $("token-form").addEventListener(
      "submit",
      () => {
        sessionStorage.setItem("specmock-admin-token", $("token-input").value.trim());
        tokenAsked = null;
        resolve();
      },
      { once: true },
    );
    dialog.showModal();
  });
  return tokenAsked;
}

function statusClass(status) {
  return `s${String(status)[0]}`;
}

function time(text) {
  return text ? text.slice(11, 23) : "";
}

// ---- views ---------------------------------------------------------------------------------

function show(view) {
  const name = ["apis", "requests", "scenarios", "data", "health"].includes(view) ? view : "apis";
  for (const section of document.querySelectorAll(".view")) section.hidden = section.id !== `view-${name}`;
  for (const link of document.querySelectorAll("header nav a")) link.classList.toggle("active", link.dataset.view === name);
  if (name === "health") loadHealth();
  if (name === "scenarios") loadScenarios();
  if (name === "data" && !state.data.collection) {
    const first = state.catalogue.apis.find((a) => a.collections.length);
    if (first) openCollection(first.name, first.collections[0].name);
  }
}

window.addEventListener("hashchange", () => show(location.hash.slice(1)));

// ---- APIs: Swagger UI, prefilled -----------------------------------------------------------

function renderApiChoice() {
  const choice = $("api-choice");
  choice.replaceChildren(
    ...state.catalogue.apis.map((api) =>
      el("button", {
        type: "button",
        class: state.api && state.api.name === api.name ? "active" : null,
        "data-api": api.name,
        text: api.title || api.name,
        onclick: () => openApi(api.name),
      }),
    ),
  );
}

function renderIdentities() {
  $("identity-rows").replaceChildren(
    ...state.catalogue.identities.map((identity) =>
      el(
        "tr",
        { class: identity.token === state.token ? "selected" : null },
        el("td", {}, el("button", { type: "button", text: identity.token === state.token ? "In use" : "Use", onclick: () => useToken(identity.token) })),
        el("td", {}, el("code", { text: identity.token })),
        el("td", { text: identity.description || "" }),
        el("td", { text: identity.permissions.join(", ") || "none" }),
        el("td", { class: "wrap", text: identity.tenants.join(", ") || "none" }),
      ),
    ),
  );
}

function useToken(token) {
  state.token = token;
  authorize();
  renderIdentities();
}

// Every security scheme of the shown document gets the token, so Try-it sends it.
function authorize() {
  if (!state.ui || !state.token) return;
  const schemes = (state.ui.spec().toJS().json.components || {}).securitySchemes || {};
  for (const name of Object.keys(schemes)) state.ui.preauthorizeApiKey(name, state.token);
}

// The published document with each path parameter's example set to a value that answers 200
// (from /__admin/apis), so Swagger UI's Try-it is prefilled with what works.
function prefilled(doc, api) {
  const resolve = (param) => {
    if (!param.$ref) return param;
    const name = param.$ref.split("/").pop();
    return ((doc.components || {}).parameters || {})[name] || param;
  };
  for (const op of api.operations) {
    const item = (doc.paths || {})[op.path];
    const operation = item && item[op.method.toLowerCase()];
    if (!operation) continue;
    const own = (operation.parameters || []).map(resolve);
    const names = new Set(own.map((p) => `${p.in}:${p.name}`));
    const inherited = (item.parameters || []).map(resolve).filter((p) => !names.has(`${p.in}:${p.name}`));
    operation.parameters = own.concat(inherited).map((param) => {
      const value = param.in === "path" ? op.tryIt[param.name] : undefined;
      if (value !== undefined) {
        const copy = Object.assign({}, param, { example: value });
        delete copy.examples;
        return copy;
      }
      if (param.required) return param;
      // Swagger UI fills every input from its example; an optional one left empty cannot turn
      // the first call into a 400 (an example written for another resource, say).
      const copy = Object.assign({}, param);
      delete copy.example;
      delete copy.examples;
      if (copy.schema && copy.schema.example !== undefined) {
        copy.schema = Object.assign({}, copy.schema);
        delete copy.schema.example;
      }
      return copy;
    });
  }
  return doc;
}

async function openApi(name) {
  const api = state.catalogue.apis.find((a) => a.name === name);
  if (!api) return;
  state.api = api;
  if (!state.token) state.token = api.token;
  renderApiChoice();
  renderIdentities();
  $("api-links").replaceChildren(
    el("a", { href: api.document, text: "openapi.json" }),
    el("a", { href: api.document.replace(/\.json$/, ".yaml"), text: "openapi.yaml" }),
  );
  const doc = await (await fetch(api.document)).json();
  state.ui = SwaggerUIBundle({
    spec: prefilled(doc, api),
    domNode: $("swagger"),
    validatorUrl: null,
    tryItOutEnabled: true,
    deepLinking: false,
    docExpansion: "list",
    defaultModelsExpandDepth: 0,
    displayRequestDuration: true,
    onComplete: authorize,
  });
}

// ---- requests: the journal, live ------------------------------------------------------------

function addRequests(entries, atTop) {
  const fresh = entries.filter((e) => e.seq && !state.seen.has(e.seq));
  for (const entry of fresh) state.seen.add(entry.seq);
  state.requests = atTop ? fresh.concat(state.requests) : state.requests.concat(fresh);
  state.requests.sort((a, b) => b.seq - a.seq);
  for (const gone of state.requests.splice(MAX_ROWS)) state.seen.delete(gone.seq);
  const operations = new Set(state.requests.map((e) => e.operation).filter(Boolean));
  const select = $("filter-operation");
  const known = new Set([...select.options].map((o) => o.value));
  for (const op of operations) if (!known.has(op)) select.append(el("option", { value: op, text: op }));
  renderRequests();
}

function visibleRequests() {
  const status = $("filter-status").value;
  const operation = $("filter-operation").value;
  const text = $("filter-text").value.toLowerCase();
  return state.requests.filter(
    (e) =>
      (!status || String(e.status)[0] === status) &&
      (!operation || e.operation === operation) &&
      (!text || `${e.method} ${e.url} ${e.userAgent || ""} ${e.operation || ""}`.toLowerCase().includes(text)),
  );
}

function renderRequests() {
  const rows = visibleRequests().map((e) =>
    el(
      "tr",
      { class: state.selected === e.seq ? "selected" : null, "data-seq": e.seq, onclick: () => showExchange(e.seq) },
      el("td", { text: time(e.time) }),
      el("td", { text: e.method }),
      el("td", { class: "wrap", text: e.url }),
      el("td", { class: statusClass(e.status), text: e.status }),
      el("td", { text: e.durationMs.toFixed(1) }),
      el("td", { class: "agent", text: e.userAgent || "", title: e.userAgent || "" }),
      el("td", { class: "operation", text: e.operation || e.error || "", title: e.operation || e.error || "" }),
      el("td", {}, e.findings.length ? el("span", { class: "finding", text: `${e.findings.length} ⚠`, title: e.findings.map((f) => f.message).join("\n") }) : ""),
    ),
  );
  $("request-rows").replaceChildren(...rows);
  $("request-count").textContent = state.requests.length ? `(${state.requests.length})` : "";
  $("request-count").title = state.skipped ? `${state.skipped} requests came too fast to show live; reload the page to list the newest from the journal` : "";
}

function headerTable(headers) {
  return el(
    "table",
    {},
    el("tbody", {}, headers.map((h) => el("tr", {}, el("th", { text: h.name }), el("td", { class: "wrap", text: h.value })))),
  );
}

function pretty(body) {
  if (body === null || body === undefined) return "(empty)";
  try {
    return JSON.stringify(JSON.parse(body), null, 2);
  } catch (_) {
    return body;
  }
}

// The live feed sends rows without headers and bodies; the whole exchange is read on a click.
async function showExchange(seq) {
  state.selected = seq;
  renderRequests();
  let e = state.requests.find((r) => r.seq === seq);
  if (!e) return;
  if (!e.responseHeaders) {
    const response = await admin(`/requests/${seq}`);
    if (!response.ok) {
      $("exchange").replaceChildren(el("p", { class: "error", text: (await response.json()).error }));
      return;
    }
    e = Object.assign(e, await response.json());
  }
  if (state.selected !== seq) return;
  $("exchange").replaceChildren(el("div", {},
    el("h3", { text: `${e.method} ${e.url}` }),
    el("p", {}, el("span", { class: statusClass(e.status), text: e.status }), ` in ${e.durationMs.toFixed(2)} ms · ${e.operation || "no operation"} · ${e.time}`),
    e.error ? el("p", { class: "error", text: e.error }) : null,
    e.findings.length ? el("h3", { text: "Findings" }) : null,
    e.findings.map((f) => el("p", { class: "finding", text: `${f.pointer || "(whole)"}: ${f.message} (${f.rule})` })),
    el("h3", { text: "Request headers" }),
    headerTable(e.requestHeaders || []),
    el("h3", { text: "Request body" }),
    el("pre", { class: "json", text: pretty(e.requestBody) }),
    el("h3", { text: "Response headers" }),
    headerTable(e.responseHeaders || []),
    el("h3", { text: "Response body" }),
    el("pre", { class: "json", text: pretty(e.responseBody) }),
  ));
}

// New entries as NDJSON over fetch (which, unlike EventSource, sends the admin token in a
// header); reconnects when the stream ends.
async function follow() {
  const live = $("live-state");
  for (let wait = 500; ; wait = Math.min(wait * 2, 8000)) {
    try {
      const response = await admin("/requests/live");
      if (!response.ok) throw new Error(`live feed: ${response.status}`);
      live.textContent = "● live";
      live.classList.add("on");
      wait = 500;
      const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffered = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffered += value;
        const lines = buffered.split("\n");
        buffered = lines.pop();
        const parsed = lines.filter(Boolean).map((line) => JSON.parse(line));
        // Under heavy traffic the feed sends the newest rows and counts the rest.
        state.skipped += parsed.reduce((n, e) => n + (e.skipped || 0), 0);
        const entries = parsed.filter((e) => e.seq);
        if (entries.length) {
          addRequests(entries, true);
          if (state.scenarios.length) scheduleScenarioRefresh();
        }
      }
    } catch (_) {
      // The server went away or restarted: say so, and try again.
    }
    live.textContent = "○ reconnecting";
    live.classList.remove("on");
    await new Promise((r) => setTimeout(r, wait));
  }
}

async function loadRequests() {
  const page = await adminJson("/requests?limit=200");
  addRequests(page.requests, false);
}

// ---- scenarios -----------------------------------------------------------------------------

function operationById(id) {
  for (const api of state.catalogue.apis) {
    const op = api.operations.find((o) => o.id === id);
    if (op) return op;
  }
  return null;
}

function renderScenarioForm() {
  const select = $("sc-operation");
  select.replaceChildren(
    ...state.catalogue.apis.map((api) =>
      el("optgroup", { label: api.title || api.name }, api.operations.map((op) => el("option", { value: op.id, text: `${op.method} ${op.path} (${op.id})` }))),
    ),
  );
  renderStatusChoice();
}

function renderStatusChoice() {
  const op = operationById($("sc-operation").value);
  if (!op) return;
  $("sc-status").replaceChildren(el("option", { value: "", text: "as normal" }), ...op.statuses.map((s) => el("option", { value: s, text: s })));
  renderExampleChoice();
}

function renderExampleChoice() {
  const op = operationById($("sc-operation").value);
  const status = $("sc-status").value;
  const named = op ? op.examples.filter((x) => !status || String(x.status) === status) : [];
  $("sc-example").replaceChildren(
    el("option", { value: "", text: named.length ? "first documented" : "none named" }),
    ...named.map((x) => el("option", { value: x.name, text: `${x.name} (${x.status})` })),
  );
}

async function addScenario(event) {
  event.preventDefault();
  const number = (id) => ($(id).value === "" ? undefined : Number($(id).value));
  const body = {
    operation: $("sc-operation").value,
    status: number("sc-status"),
    example: $("sc-example").value || undefined,
    delayMs: number("sc-delay") || 0,
    failRate: number("sc-fail") || 0,
    times: number("sc-times"),
    seconds: number("sc-seconds"),
  };
  try {
    await adminJson("/scenarios", { method: "POST", body: JSON.stringify(body) });
    $("sc-error").textContent = "";
  } catch (e) {
    $("sc-error").textContent = e.message;
  }
  loadScenarios();
}

function describe(s) {
  const parts = [];
  if (s.status) parts.push(String(s.status));
  if (s.example) parts.push(`example ${s.example}`);
  return parts.join(", ") || "as normal";
}

async function loadScenarios() {
  const body = await adminJson("/scenarios");
  state.scenarios = body.scenarios;
  const badge = $("scenario-badge");
  badge.hidden = !state.scenarios.length;
  badge.textContent = `${state.scenarios.length} in force`;
  $("scenario-rows").replaceChildren(
    ...state.scenarios.map((s) =>
      el(
        "tr",
        { "data-scenario": s.id },
        el("td", { text: s.operation }),
        el("td", { text: describe(s) }),
        el("td", { text: s.delayMs ? `${s.delayMs} ms` : "" }),
        el("td", { text: s.failRate ? `${Math.round(s.failRate * 100)}%` : "" }),
        el("td", { text: s.calls }),
        el("td", { text: [s.times ? `${s.times} calls` : "", s.secondsLeft !== undefined ? `${Math.ceil(s.secondsLeft)} s left` : ""].filter(Boolean).join(", ") || "until cleared" }),
        el("td", {}, el("button", { type: "button", text: "Clear", onclick: () => clearScenario(s.id) })),
      ),
    ),
  );
  if (!state.scenarios.length) $("scenario-rows").append(el("tr", {}, el("td", { colspan: 7, class: "hint", text: "No scenario is in force: every operation answers as normal." })));
}

async function clearScenario(id) {
  await admin(`/scenarios/${id}`, { method: "DELETE" });
  loadScenarios();
}

let scenarioTimer = null;
function scheduleScenarioRefresh() {
  clearTimeout(scenarioTimer);
  scenarioTimer = setTimeout(loadScenarios, 300);
}

// ---- data ----------------------------------------------------------------------------------

function renderCollections() {
  $("collections").replaceChildren(
    ...state.catalogue.apis.map((api) => [
      el("h4", { text: api.title || api.name }),
      api.collections.map((c) =>
        el("button", {
          type: "button",
          "data-collection": `${api.name}/${c.name}`,
          class: state.data.api === api.name && state.data.collection === c.name ? "active" : null,
          text: `${c.name} (${c.records})`,
          onclick: () => openCollection(api.name, c.name),
        }),
      ),
    ]).flat(2),
  );
}

function openCollection(api, collection) {
  Object.assign(state.data, { api, collection, offset: 0 });
  renderCollections();
  loadRecords();
}

async function loadRecords() {
  const d = state.data;
  const query = new URLSearchParams({ offset: d.offset, limit: d.limit });
  if (d.q) query.set("q", d.q);
  const page = await adminJson(`/data/${encodeURIComponent(d.api)}/${encodeURIComponent(d.collection)}?${query}`);
  $("data-title").textContent = `${d.api} / ${d.collection}`;
  const last = Math.min(page.offset + page.records.length, page.matched);
  $("data-range").textContent = page.matched ? `${page.offset + 1}–${last} of ${page.matched}${page.matched !== page.total ? ` (of ${page.total})` : ""}` : "no records";
  $("data-prev").disabled = page.offset === 0;
  $("data-next").disabled = last >= page.matched;
  const columns = [];
  for (const record of page.records) {
    for (const [name, value] of Object.entries(record)) {
      if (columns.length < 6 && !columns.includes(name) && (value === null || typeof value !== "object")) columns.push(name);
    }
  }
  $("data-head").replaceChildren(el("tr", {}, columns.map((c) => el("th", { text: c }))));
  $("data-rows").replaceChildren(
    ...page.records.map((record) =>
      el(
        "tr",
        { onclick: (event) => showRecord(event.currentTarget, record) },
        columns.map((c) => el("td", { class: "wrap", text: record[c] === undefined ? "" : String(record[c]) })),
      ),
    ),
  );
  $("record-json").textContent = "";
}

function showRecord(row, record) {
  for (const r of row.parentNode.children) r.classList.toggle("selected", r === row);
  $("record-json").textContent = JSON.stringify(record, null, 2);
}

// ---- health --------------------------------------------------------------------------------

function card(title, ...lines) {
  return el("div", { class: "card" }, el("h3", { text: title }), lines.map((l) => el("div", {}, l)));
}

async function loadHealth() {
  const h = await adminJson("/health");
  $("health-cards").replaceChildren(
    card("Status", h.status),
    ...h.apis.map((a) => card(a.title || a.name, `${a.operations} operations`, `${a.records} records`, a.fromSnapshot ? "store read from the snapshot" : "store built from the fixtures")),
    card("Loaded", `at ${h.loaded.at}`, `in ${h.loaded.ms} ms`, `${h.reloads} reloads since start`),
    card("Last reload attempt", `at ${h.lastAttempt.at}`, h.lastAttempt.refused ? el("span", { class: "error", text: `refused: ${h.lastAttempt.refused}` }) : "accepted"),
    card("Journal", `${h.journal.entries} entries`, `${Math.round(h.journal.bytes / 1024)} KiB of ${Math.round(h.journal.maxBytes / 1024)} KiB`),
    card("Connections", ...Object.entries(h.connections).map(([k, v]) => `${k}: ${v}`)),
  );
  $("health-json").textContent = JSON.stringify(h, null, 2);
}

async function reload() {
  const response = await admin("/reset", { method: "POST", body: "" });
  const body = await response.json();
  $("reload-result").textContent = response.ok ? "reloaded" : body.error;
  $("reload-result").className = response.ok ? "" : "error";
  loadHealth();
}

// ---- start ---------------------------------------------------------------------------------

async function start() {
  // Health is open: it says whether the other routes need the token, so the console asks for
  // it before its first call rather than after a refusal.
  const health = await (await fetch(`${ADMIN}/health`)).json();
  if (health.adminTokenRequired && !adminToken()) await askForToken();
  state.catalogue = await adminJson("/apis");
  renderScenarioForm();
  renderCollections();
  $("sc-operation").addEventListener("change", renderStatusChoice);
  $("sc-status").addEventListener("change", renderExampleChoice);
  $("scenario-form").addEventListener("submit", addScenario);
  $("sc-clear-all").addEventListener("click", async () => {
    await admin("/scenarios", { method: "DELETE" });
    loadScenarios();
  });
  for (const id of ["filter-status", "filter-operation", "filter-text"]) $(id).addEventListener("input", renderRequests);
  $("clear-requests").addEventListener("click", async () => {
    await admin("/requests", { method: "DELETE" });
    state.requests = [];
    state.seen.clear();
    renderRequests();
  });
  let typing = null;
  $("data-filter").addEventListener("input", () => {
    clearTimeout(typing);
    typing = setTimeout(() => {
      Object.assign(state.data, { q: $("data-filter").value, offset: 0 });
      loadRecords();
    }, 250);
  });
  $("data-prev").addEventListener("click", () => {
    state.data.offset = Math.max(0, state.data.offset - state.data.limit);
    loadRecords();
  });
  $("data-next").addEventListener("click", () => {
    state.data.offset += state.data.limit;
    loadRecords();
  });
  $("reload").addEventListener("click", reload);
  follow();
  await loadRequests();
  await loadScenarios();
  if (state.catalogue.apis.length) await openApi(state.catalogue.apis[0].name);
  show(location.hash.slice(1));
}

start().catch((e) => {
  document.querySelector("main").prepend(el("p", { class: "error", text: `The console could not start: ${e.message}` }));
});
