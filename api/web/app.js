// hemtid's pages for caseworkers and provider admins: a small single-page
// app over the REST API (no build step, no dependencies). Texts are
// Swedish; charts are SVG drawn here.
"use strict";

const S = {
  token: sessionStorage.getItem("hemtid.token"),
  me: null,
  stream: null,
};

const KIND_SV = {
  outside_band: "Utanför toleransen",
  follow_up_recommended: "Uppföljning rekommenderas",
  exceeds_granted: "Över beviljad tid",
  pace_warning: "Takten avviker",
  missing_visits: "Färre besök än beställt",
  visit_open_too_long: "Besök öppet för länge",
  care_plan_missing: "Genomförandeplan saknas",
  care_plan_missing_escalated: "Genomförandeplan saknas (påminnelse)",
  care_plan_follow_up_due: "Planen ska följas upp",
  individual_follow_up_due: "Individuell uppföljning",
  contact_person_missing: "Kontaktperson saknas",
  visit_late: "Sent besök",
  visit_missed: "Missat besök",
  visit_not_acknowledged: "Missat besök utan kvittens",
};
const PLAN_STATE_SV = { waiting: "Väntar", in_progress: "Pågår", done: "Utfört", late: "Sent", missed: "Missat" };
// The planned visits' alerts the provider's day shows and follows live.
const VISIT_KINDS = ["visit_late", "visit_missed"];
const STATE_SV = { open: "Ny", acknowledged: "Kvitterad", resolved: "Åtgärdad" };
const STATUS_SV = { within_band: "Inom toleransen", under: "Under", over: "Över" };
const ROLE_SV = {
  caseworker: "Handläggare", provider_admin: "Enhetschef", fee_admin: "Avgiftshandläggare",
  admin: "Administratör", staff: "Omsorgspersonal", auditor: "Granskare",
};
const CAUSE_SV = {
  declined_visits: "Avböjda besök", absence: "Frånvaro",
  temporarily_changed_needs: "Tillfälligt ändrade behov",
  permanently_changed_needs: "Varaktigt ändrade behov", other: "Annat",
};

// ---------- helpers ----------

function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else if (k === "text") e.textContent = v;
    else e.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return e;
}

function hm(minutes) {
  if (minutes === null || minutes === undefined) return "–";
  const sign = minutes < 0 ? "−" : "";
  const m = Math.abs(Math.round(minutes));
  return `${sign}${Math.floor(m / 60)}:${String(m % 60).padStart(2, "0")}`;
}

function pct(bp) {
  if (bp === null || bp === undefined) return "–";
  const v = (bp / 100).toFixed(1).replace(".", ",");
  return (bp > 0 ? "+" : bp < 0 ? "−" : "") + v.replace("-", "") + " %";
}

// The API's texts cite the rules they apply ("(R8)"); the caseworker reads
// the text without them, and the rules as a small reference beside it.
function withoutRuleIds(text) {
  return String(text || "").replace(/\s*\(R\d+(?:\s*[,–-]\s*R?\d+)*\)/g, "");
}

function thisMonth(offset = 0) {
  const d = new Date();
  const t = new Date(d.getFullYear(), d.getMonth() + offset, 1);
  return `${t.getFullYear()}-${String(t.getMonth() + 1).padStart(2, "0")}`;
}

function monthSv(m) {
  const names = ["januari", "februari", "mars", "april", "maj", "juni", "juli", "augusti",
    "september", "oktober", "november", "december"];
  const [y, mm] = m.split("-").map(Number);
  return `${names[mm - 1]} ${y}`;
}

function when(iso) {
  if (!iso) return "";
  return new Date(iso).toLocaleString("sv-SE", { timeZone: "Europe/Stockholm",
    dateStyle: "short", timeStyle: "short" });
}

function say(text) {
  document.getElementById("live").textContent = text;
}

class ApiError extends Error {
  constructor(status, body) {
    super((body && (body.detail || body.title)) || `HTTP ${status}`);
    this.status = status;
    this.body = body;
  }
}

// Keeps the sign-in going: the access token is renewed with the refresh
// token shortly before it expires and on a 401; when the refresh token is
// refused (the sign-in ended: logout elsewhere, a new password, an
// account disabled) the page signs out. One refresh at a time.
let refreshing = null;
let refreshTimer = null;

function keep(t) {
  S.token = t.access_token;
  sessionStorage.setItem("hemtid.token", S.token);
  sessionStorage.setItem("hemtid.refresh", t.refresh_token);
  clearTimeout(refreshTimer);
  const ahead = Math.max(5, (t.expires_in || 900) - 60);
  refreshTimer = setTimeout(() => { refresh().catch(() => {}); }, ahead * 1000);
}

function refresh() {
  if (refreshing) return refreshing;
  const token = sessionStorage.getItem("hemtid.refresh");
  refreshing = (async () => {
    if (!token) return false;
    const r = await fetch("/api/v1/auth/refresh", { method: "POST",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify({ refresh_token: token }) });
    if (!r.ok) return false;
    keep(await r.json());
    return true;
  })().catch(() => false).finally(() => { refreshing = null; });
  return refreshing;
}

async function api(method, path, body, retried = false) {
  const headers = { Accept: "application/json" };
  if (S.token) headers.Authorization = `Bearer ${S.token}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const r = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  if (r.status === 401 && !path.startsWith("/api/v1/auth/")) {
    if (!retried && await refresh()) return api(method, path, body, true);
    signOut();
    throw new ApiError(401, { title: "Logga in igen" });
  }
  const text = await r.text();
  const data = text ? JSON.parse(text) : null;
  if (!r.ok) throw new ApiError(r.status, data);
  return data;
}

function errorBox(e) {
  return el("p", { class: "error", role: "alert" }, e.message || String(e));
}

function statusBadge(s) {
  return el("span", { class: `status status-${s}` }, STATUS_SV[s] || s);
}

// ---------- sign-in ----------

function signOut() {
  clearTimeout(refreshTimer);
  S.token = null;
  S.me = null;
  sessionStorage.removeItem("hemtid.token");
  sessionStorage.removeItem("hemtid.refresh");
  if (S.stream) S.stream.abort();
  location.hash = "#/login";
}

// Sign-in through the municipality's identity provider (e-legitimation):
// the page keeps its own PKCE verifier, hemtid sends the browser to the
// provider, the provider sends it back to /inloggning with a code.
const OIDC_SV = {
  oidc_unknown_person: "Du har inget aktivt konto i hemtid i den här kommunen. Kontakta din administratör.",
  oidc_state_replayed: "Inloggningen har redan använts. Logga in igen.",
  oidc_unknown_state: "Inloggningen känns inte igen. Logga in igen.",
  oidc_state_expired: "Inloggningen tog för lång tid. Logga in igen.",
  oidc_provider_unavailable: "Kommunens inloggningstjänst svarar inte just nu. Försök igen om en stund.",
  oidc_not_configured: "Inloggning med e-legitimation är inte inställd för kommunen.",
  password_login_disabled: "Lösenord används inte i din kommun: logga in med e-legitimation.",
  access_denied: "Inloggningen avbröts.",
};
const OIDC_FAILED = "Inloggningen med e-legitimation kunde inte kontrolleras. Försök igen.";

function base64url(bytes) {
  return btoa(String.fromCharCode(...new Uint8Array(bytes)))
    .replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

async function startOidc(code) {
  if (!window.crypto || !crypto.subtle) throw new Error("Inloggning med e-legitimation kräver HTTPS.");
  const verifier = base64url(crypto.getRandomValues(new Uint8Array(32)));
  const challenge = base64url(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier)));
  sessionStorage.setItem("hemtid.oidc.verifier", verifier);
  location.assign(`/api/v1/auth/oidc/${encodeURIComponent(code)}/authorize?client=web&code_challenge=${challenge}`);
}

// Back from the provider: trades the code for hemtid's tokens, then takes
// the code out of the address bar. Answers an error text, or null.
async function finishOidc() {
  const q = new URLSearchParams(location.search);
  history.replaceState(null, "", "/#/login");
  const verifier = sessionStorage.getItem("hemtid.oidc.verifier");
  sessionStorage.removeItem("hemtid.oidc.verifier");
  if (q.get("error")) return OIDC_SV[q.get("error")] || OIDC_FAILED;
  if (!q.get("code") || !q.get("state") || !verifier) return OIDC_FAILED;
  try {
    const t = await api("POST", "/api/v1/auth/oidc/token",
      { state: q.get("state"), code: q.get("code"), code_verifier: verifier });
    keep(t);
    S.me = null;
    location.hash = "#/";
    return null;
  } catch (e) {
    return (e.body && OIDC_SV[e.body.code]) || OIDC_FAILED;
  }
}

function loginPage(main, notice) {
  const user = el("input", { id: "username", name: "username", autocomplete: "username", required: true });
  const pass = el("input", { id: "password", name: "password", type: "password",
    autocomplete: "current-password", required: true });
  const msg = el("div");
  if (notice) msg.append(errorBox(new Error(notice)));
  const eid = el("div", { class: "eid" });
  const form = el("form", { class: "login", onsubmit: async (ev) => {
    ev.preventDefault();
    msg.replaceChildren();
    try {
      const t = await api("POST", "/api/v1/auth/login", { username: user.value.trim(), password: pass.value });
      keep(t);
      S.me = null;
      location.hash = "#/";
    } catch (e) {
      const text = e.status === 401 ? "Fel användarnamn eller lösenord."
        : (e.body && OIDC_SV[e.body.code]) || e.message;
      msg.append(errorBox(new Error(text)));
    }
  } },
  el("h1", {}, "Logga in"),
  msg,
  eid,
  el("label", { for: "username" }, "Användarnamn"), user,
  el("label", { for: "password" }, "Lösenord"), pass,
  el("p", {}, el("button", { type: "submit", id: "login" }, "Logga in")));
  main.replaceChildren(form);
  user.focus();
  api("GET", "/api/v1/auth/identity-providers").then((r) => {
    eid.replaceChildren(...r.items.map((p) => el("p", {}, el("button", {
      type: "button", id: `oidc-${p.municipality_code}`, class: "eid-button",
      onclick: () => startOidc(p.municipality_code).catch((e) => {
        msg.replaceChildren(errorBox(e));
      }),
    }, p.label))));
  }).catch(() => {});
}

// ---------- inbox ----------

async function inboxPage(main, params) {
  const kind = params.get("kind") || "";
  const month = params.get("month") || "";
  const state = params.get("state") || "unresolved";
  const kindSel = el("select", { id: "f-kind" }, el("option", { value: "" }, "Alla slag"),
    Object.entries(KIND_SV).map(([k, v]) => el("option", { value: k, selected: k === kind }, v)));
  // A list of months, not a month input: an empty one showed its
  // placeholder dashes ("--------- ----") in Chromium.
  const months = Array.from({ length: 15 }, (_, i) => thisMonth(1 - i));
  if (month && !months.includes(month)) months.push(month);
  const monthIn = el("select", { id: "f-month" }, el("option", { value: "" }, "Alla månader"),
    months.map((m) => el("option", { value: m, selected: m === month }, monthSv(m))));
  const stateSel = el("select", { id: "f-state" },
    [["unresolved", "Nya och kvitterade"], ["open", "Nya"], ["acknowledged", "Kvitterade"],
      ["resolved", "Åtgärdade"], ["", "Alla"]]
      .map(([k, v]) => el("option", { value: k, selected: k === state }, v)));
  const apply = () => {
    const q = new URLSearchParams();
    if (kindSel.value) q.set("kind", kindSel.value);
    if (monthIn.value) q.set("month", monthIn.value);
    if (stateSel.value !== "unresolved") q.set("state", stateSel.value);
    location.hash = `#/inbox?${q}`;
  };
  [kindSel, monthIn, stateSel].forEach((x) => x.addEventListener("change", apply));
  const dot = el("span", { class: "live-dot", id: "live-dot" });
  const list = el("ul", { class: "alerts", id: "alerts" });
  main.replaceChildren(
    el("h1", {}, "Inkorg"),
    el("p", { class: "meta" }, dot, el("span", { id: "live-state" }, "Ansluter …"),
      " Nya avvikelser visas direkt, utan att sidan laddas om."),
    el("div", { class: "filters" },
      el("div", {}, el("label", { for: "f-kind" }, "Slag"), kindSel),
      el("div", {}, el("label", { for: "f-month" }, "Månad"), monthIn),
      el("div", {}, el("label", { for: "f-state" }, "Läge"), stateSel)),
    list);
  const q = new URLSearchParams({ limit: "200" });
  if (kind) q.set("kind", kind);
  if (month) q.set("month", month);
  if (state && state !== "unresolved") q.set("state", state);
  const fits = (a) => (!kind || a.kind === kind) && (!month || a.month === month) &&
    (state === "" || (state === "unresolved" ? a.state !== "resolved" : a.state === state));
  try {
    const data = await api("GET", `/api/v1/alerts?${q}`);
    const items = data.items.filter(fits);
    if (!items.length) list.append(el("li", { class: "meta", id: "empty" }, "Inga avvikelser."));
    for (const a of items) list.append(alertItem(a, false, "h2"));
  } catch (e) {
    main.append(errorBox(e));
    return;
  }
  follow((a) => {
    if (location.hash.split("?")[0] !== "#/inbox") return;
    const old = document.getElementById(`alert-${a.id}`);
    const empty = document.getElementById("empty");
    if (!fits(a)) {
      if (old) old.remove();
      return;
    }
    if (empty) empty.remove();
    const item = alertItem(a, true, "h2");
    if (old) old.replaceWith(item);
    else list.prepend(item);
    say(`Ny avvikelse: ${KIND_SV[a.kind] || a.kind}, ${a.client_name}`);
  }, () => {
    // The server could not replay all that was missed: the list anew.
    if (location.hash.split("?")[0] === "#/inbox") route();
  });
}

// `heading`: the level under the page's own headings (h2 in the inbox,
// h3 under a section).
function alertItem(a, fresh, heading = "h3") {
  const note = el("input", { "aria-label": "Anteckning", placeholder: "Anteckning (valfri)", class: "note" });
  const act = async (what) => {
    try {
      const r = await api("POST", `/api/v1/alerts/${a.id}/${what}`, { note: note.value });
      document.getElementById(`alert-${a.id}`).replaceWith(alertItem(r, false, heading));
      say(what === "acknowledge" ? "Kvitterad." : "Åtgärdad.");
    } catch (e) {
      item.append(errorBox(e));
    }
  };
  const link = el("a", { href: `#/client/${a.client_id}/${a.month}` }, a.client_name || "Brukaren");
  const item = el("li", { class: `alert state-${a.state}${fresh ? " new" : ""}`, id: `alert-${a.id}`,
    "data-kind": a.kind, "data-state": a.state },
  el(heading, {}, `${KIND_SV[a.kind] || a.kind} – `, link, ` – ${monthSv(a.month)}`),
  el("p", {}, withoutRuleIds(a.message)),
  el("p", { class: "meta" }, `${STATE_SV[a.state] || a.state}${a.rules ? ` · regler ${a.rules}` : ""} · uppdaterad ${when(a.updated_at)}`),
  a.state === "resolved" ? null : el("div", { class: "actions" }, note,
    a.state === "open" ? el("button", { class: "secondary ack", onclick: () => act("acknowledge") }, "Kvittera") : null,
    el("button", { class: "resolve", onclick: () => act("resolve") }, "Åtgärdad")));
  return item;
}

// Server-Sent Events over fetch (EventSource cannot send the token).
function follow(onAlert, onReset) {
  if (S.stream) S.stream.abort();
  const ctl = new AbortController();
  S.stream = ctl;
  let last = null;
  const setLive = (on) => {
    const d = document.getElementById("live-dot");
    const s = document.getElementById("live-state");
    if (d) d.classList.toggle("on", on);
    if (s) s.textContent = on ? "Direktuppdatering på." : "Ansluter …";
  };
  (async () => {
    while (!ctl.signal.aborted) {
      try {
        const headers = { Authorization: `Bearer ${S.token}`, Accept: "text/event-stream" };
        if (last) headers["Last-Event-ID"] = last;
        const r = await fetch("/api/v1/alerts/stream", { headers, signal: ctl.signal });
        if (!r.ok) throw new Error(`HTTP ${r.status}`);
        const reader = r.body.getReader();
        const dec = new TextDecoder();
        let buf = "";
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buf += dec.decode(value, { stream: true });
          let i;
          while ((i = buf.indexOf("\n\n")) >= 0) {
            const block = buf.slice(0, i);
            buf = buf.slice(i + 2);
            let data = "";
            let kind = "message";
            for (const line of block.split("\n")) {
              if (line.startsWith(": connected")) setLive(true);
              if (line.startsWith("id: ")) last = line.slice(4);
              if (line.startsWith("event: ")) kind = line.slice(7);
              if (line.startsWith("data: ")) data += line.slice(6);
            }
            // More was missed than the server replays: read the list again.
            if (kind === "reset") {
              if (onReset) onReset();
              continue;
            }
            if (data) {
              try { onAlert(JSON.parse(data)); } catch (e) { /* a bad event is skipped */ }
            }
          }
        }
      } catch (e) {
        if (ctl.signal.aborted) return;
      }
      setLive(false);
      await new Promise((ok) => setTimeout(ok, 2000));
    }
  })();
}

// ---------- charts ----------

const NS = "http://www.w3.org/2000/svg";
function svg(tag, attrs, ...children) {
  const e = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  for (const c of children.flat()) if (c) e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return e;
}

// Under a frame decision (R8) the total binds and time may move between
// services: each service is drawn against its share of the frame, in one
// neutral colour, never as over or under on its own.
function barChart(services, frame) {
  const rowH = 34;
  const W = 640;
  const left = 190;
  const target = (s) => (frame ? s.frame_share_minutes ?? 0 : s.expected_minutes);
  const max = Math.max(1, ...services.flatMap((s) => [target(s), s.performed_minutes]));
  const scale = (v) => ((W - left - 100) * v) / max;
  const H = services.length * rowH + 24;
  const root = svg("svg", { viewBox: `0 0 ${W} ${H}`, role: "img", id: "chart-services",
    "aria-label": "Beställd och utförd tid per insats" });
  services.forEach((s, i) => {
    const y = 8 + i * rowH;
    root.append(
      svg("text", { x: left - 8, y: y + 14, "text-anchor": "end" }, s.name.length > 28 ? s.name.slice(0, 27) + "…" : s.name),
      svg("rect", { x: left, y, width: Math.max(1, scale(target(s))), height: 11, fill: "#9ab8db" },
        svg("title", {}, frame ? `Andel av ramen ${hm(target(s))}` : `Beställt ${hm(s.expected_minutes)}`)),
      svg("rect", { x: left, y: y + 13, width: Math.max(1, scale(s.performed_minutes)), height: 11,
        fill: frame ? "#4a5a6a" : s.status === "within_band" ? "#1a7f37" : s.status === "under" ? "#b35900" : "#8f2fb3" },
      svg("title", {}, `Utfört ${hm(s.performed_minutes)}`)),
      svg("text", { x: left + scale(Math.max(target(s), s.performed_minutes)) + 6, y: y + 17 },
        `${hm(s.performed_minutes)} / ${hm(target(s))}`));
  });
  const legend = frame
    ? [el("span", {}, el("span", { class: "swatch", style: "background:#9ab8db" }), "Insatsens andel av ramen"),
      el("span", {}, el("span", { class: "swatch", style: "background:#4a5a6a" }), "Utfört")]
    : [el("span", {}, el("span", { class: "swatch", style: "background:#9ab8db" }), "Beställt"),
      el("span", {}, el("span", { class: "swatch", style: "background:#1a7f37" }), "Utfört inom toleransen"),
      el("span", {}, el("span", { class: "swatch", style: "background:#b35900" }), "Under"),
      el("span", {}, el("span", { class: "swatch", style: "background:#8f2fb3" }), "Över")];
  const caption = frame
    ? "Utförd tid per insats mot insatsens andel av ramen (h:mm). Under ramtid binder totalen och tid får flyttas mellan insatser; insatserna bedöms inte var för sig."
    : "Beställd och utförd tid per insats (h:mm)";
  return el("figure", {}, el("figcaption", {}, caption), root, el("div", { class: "legend" }, legend));
}

function lineChart(history, toleranceBp) {
  const W = 640, H = 220, l = 48, r = 16, t = 12, b = 34;
  const vals = history.map((h) => (h.variance_basis_points ?? 0) / 100);
  const lim = Math.max(toleranceBp / 100 * 2, 10, ...vals.map(Math.abs)) * 1.1;
  const x = (i) => l + (history.length <= 1 ? (W - l - r) / 2 : (i * (W - l - r)) / (history.length - 1));
  const y = (v) => t + ((lim - v) * (H - t - b)) / (2 * lim);
  const tol = toleranceBp / 100;
  const root = svg("svg", { viewBox: `0 0 ${W} ${H}`, role: "img", id: "chart-history",
    "aria-label": "Avvikelse i procent de senaste tolv månaderna, med toleransbandet" },
  svg("rect", { x: l, y: y(tol), width: W - l - r, height: y(-tol) - y(tol), fill: "#dafbe1" },
    svg("title", {}, `Toleransbandet ±${tol} %`)),
  svg("line", { x1: l, x2: W - r, y1: y(0), y2: y(0), stroke: "#57606a", "stroke-dasharray": "3 3" }),
  svg("text", { x: l - 6, y: y(tol) + 4, "text-anchor": "end" }, `+${tol} %`),
  svg("text", { x: l - 6, y: y(-tol) + 4, "text-anchor": "end" }, `−${tol} %`),
  svg("text", { x: l - 6, y: y(0) + 4, "text-anchor": "end" }, "0"));
  if (history.length) {
    root.append(svg("polyline", { points: history.map((h, i) => `${x(i)},${y(vals[i])}`).join(" "),
      fill: "none", stroke: "#0b5cad", "stroke-width": 2 }));
  }
  history.forEach((h, i) => {
    root.append(
      svg("circle", { cx: x(i), cy: y(vals[i]), r: 4,
        fill: h.status === "within_band" ? "#1a7f37" : h.status === "under" ? "#b35900" : "#8f2fb3" },
      svg("title", {}, `${monthSv(h.month)}: ${pct(h.variance_basis_points)} (${hm(h.performed_minutes)} av ${hm(h.expected_minutes)})`)),
      svg("text", { x: x(i), y: H - 12, "text-anchor": "middle" }, h.month.slice(2)));
  });
  return el("figure", {}, el("figcaption", {}, "Avvikelse mot beställd tid, senaste tolv månaderna"), root);
}

function daysChart(days) {
  const W = 640, H = 170, l = 30, b = 28, t = 10;
  const max = Math.max(1, ...days.map((d) => Math.max(d.ordered_visits || 0, d.visits + d.declined_visits)));
  const bw = (W - l - 8) / days.length;
  const y = (v) => t + ((max - v) * (H - t - b)) / max;
  const root = svg("svg", { viewBox: `0 0 ${W} ${H}`, role: "img", id: "chart-days",
    "aria-label": "Besök per dag mot beställda besök per dag" });
  days.forEach((d, i) => {
    const x0 = l + i * bw;
    if (d.absent) root.append(svg("rect", { x: x0, y: t, width: bw, height: H - t - b, fill: "#eaeef2" },
      svg("title", {}, `${d.date}: frånvaro`)));
    root.append(svg("rect", { x: x0 + 1, y: y(d.visits), width: bw - 2, height: y(0) - y(d.visits), fill: "#0b5cad" },
      svg("title", {}, `${d.date}: ${d.visits} besök, ${d.declined_visits} avböjda, ${hm(d.performed_minutes)}`)));
    if (d.declined_visits) {
      root.append(svg("rect", { x: x0 + 1, y: y(d.visits + d.declined_visits), width: bw - 2,
        height: y(d.visits) - y(d.visits + d.declined_visits), fill: "#f5a623" }));
    }
    if (d.ordered_visits) {
      root.append(svg("line", { x1: x0, x2: x0 + bw, y1: y(d.ordered_visits), y2: y(d.ordered_visits),
        stroke: "#cf222e", "stroke-width": 2 }));
    }
    if (i % 5 === 0) root.append(svg("text", { x: x0 + bw / 2, y: H - 10, "text-anchor": "middle" }, d.date.slice(8)));
  });
  root.append(svg("text", { x: l - 4, y: y(max) + 4, "text-anchor": "end" }, max),
    svg("text", { x: l - 4, y: y(0) + 4, "text-anchor": "end" }, 0));
  return el("figure", {}, el("figcaption", {}, "Besök per dag"), root,
    el("div", { class: "legend" },
      el("span", {}, el("span", { class: "swatch", style: "background:#0b5cad" }), "Besök"),
      el("span", {}, el("span", { class: "swatch", style: "background:#f5a623" }), "Avböjda besök"),
      el("span", {}, el("span", { class: "swatch", style: "background:#cf222e" }), "Beställda besök per dag"),
      el("span", {}, el("span", { class: "swatch", style: "background:#eaeef2" }), "Frånvaro")));
}

// ---------- client month ----------

async function clientPage(main, id, month) {
  main.replaceChildren(el("p", {}, "Laddar …"));
  let f;
  try {
    f = await api("GET", `/api/v1/clients/${id}/months/${month}/figures`);
  } catch (e) {
    main.replaceChildren(errorBox(e));
    return;
  }
  const [y, m] = month.split("-").map(Number);
  const shift = (k) => {
    const d = new Date(y, m - 1 + k, 1);
    return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, "0")}`;
  };
  main.replaceChildren(
    el("h1", {}, `${f.client_name} – ${monthSv(month)}`),
    el("p", {}, el("a", { href: `#/client/${id}/${shift(-1)}` }, "← Föregående månad"), " · ",
      el("a", { href: `#/client/${id}/${shift(1)}` }, "Nästa månad →"), " · ",
      el("a", { href: `#/overview/${month}` }, "Månadsöversikt")),
    el("div", { class: "cards" },
      el("div", { class: "card" }, el("div", {}, "Beställt"), el("div", { class: "big" }, hm(f.ordered_minutes))),
      el("div", { class: "card" }, el("div", {}, "Förväntat (efter frånvaro)"), el("div", { class: "big" }, hm(f.expected_minutes))),
      el("div", { class: "card" }, el("div", {}, "Utfört"), el("div", { class: "big", id: "performed" }, hm(f.performed_minutes))),
      el("div", { class: "card" }, el("div", {}, "Avvikelse"),
        el("div", { class: "big" }, `${hm(f.variance_minutes)} (${pct(f.variance_basis_points)})`),
        statusBadge(f.status))),
    el("p", { class: "meta" }, f.decision === "frame" ? "Ramtid: totalen binder." :
      f.decision === "per_service" ? "Insatsbeslut: varje insats bedöms för sig." : "Ingen beställning denna månad.",
    ` Toleransen är ±${(f.tolerance_basis_points / 100).toString().replace(".", ",")} %.`,
    f.explained_minutes ? ` Frånvaro avräknad: ${hm(f.explained_minutes)}.` : "",
    f.without_decision_minutes ? ` Insatser utan biståndsbeslut: ${hm(f.without_decision_minutes)} (räknas inte mot beställd tid).` : ""),
    f.services.length ? barChart(f.services, f.decision === "frame") : null,
    lineChart(f.history, f.tolerance_basis_points),
    daysChart(f.days));
  const expl = el("section", { id: "explanations" });
  main.append(expl);
  await explanations(expl, id, month);
  const alerts = el("section", {}, el("h2", {}, "Avvikelser denna månad"));
  main.append(alerts);
  try {
    if (S.me.role !== "staff") {
      const a = await api("GET", `/api/v1/alerts?client_id=${id}&month=${month}`);
      const ul = el("ul", { class: "alerts" }, a.items.map((x) => alertItem(x, false)));
      alerts.append(a.items.length ? ul : el("p", { class: "meta" }, "Inga."));
    }
  } catch (e) {
    alerts.append(errorBox(e));
  }
}

async function explanations(box, id, month) {
  box.replaceChildren(el("h2", {}, "Utförarens förklaring"));
  let list;
  try {
    list = (await api("GET", `/api/v1/clients/${id}/months/${month}/explanations`)).items;
  } catch (e) {
    box.append(errorBox(e));
    return;
  }
  if (!list.length) box.append(el("p", { class: "meta" }, "Ingen förklaring."));
  for (const x of list) {
    const stateSv = { submitted: "Väntar på granskning", approved: "Godkänd", rejected: "Avvisad" }[x.state] || x.state;
    const item = el("div", { class: "card explanation", "data-state": x.state },
      el("p", {}, el("strong", {}, CAUSE_SV[x.cause] || x.cause), ` – ${stateSv}`),
      el("p", {}, x.text),
      x.review_note ? el("p", { class: "meta" }, `Handläggarens kommentar: ${x.review_note}`) : null);
    if (S.me.role === "caseworker" && x.state === "submitted") {
      const note = el("textarea", { id: `review-note-${x.id}`, "aria-label": "Kommentar" });
      const review = async (decision) => {
        try {
          await api("POST", `/api/v1/explanations/${x.id}/review`, { decision, note: note.value });
          say(decision === "approve" ? "Förklaringen är godkänd." : "Förklaringen är avvisad.");
          await explanations(box, id, month);
        } catch (e) {
          item.append(errorBox(e));
        }
      };
      item.append(el("label", { for: `review-note-${x.id}` }, "Kommentar (krävs vid avvisning)"), note,
        el("div", { class: "actions" },
          el("button", { id: "approve", onclick: () => review("approve") }, "Godkänn"),
          el("button", { class: "secondary", id: "reject", onclick: () => review("reject") }, "Avvisa")));
    }
    box.append(item);
  }
  if (S.me.role === "provider_admin") {
    const cause = el("select", { id: "x-cause" }, Object.entries(CAUSE_SV).map(([k, v]) => el("option", { value: k }, v)));
    const text = el("textarea", { id: "x-text" });
    const msg = el("div");
    box.append(el("form", { onsubmit: async (ev) => {
      ev.preventDefault();
      try {
        await api("PUT", `/api/v1/clients/${id}/months/${month}/explanation`, { cause: cause.value, text: text.value });
        say("Förklaringen är skickad.");
        await explanations(box, id, month);
      } catch (e) {
        msg.replaceChildren(errorBox(e));
      }
    } }, el("h3", {}, "Skriv förklaring"), el("label", { for: "x-cause" }, "Orsak"), cause,
    el("label", { for: "x-text" }, "Förklaring"), text, el("p", {}, el("button", { type: "submit" }, "Skicka")), msg));
  }
}

// ---------- month overview ----------

async function overviewPage(main, month) {
  main.replaceChildren(el("p", {}, "Laddar …"));
  let rows;
  try {
    rows = (await api("GET", `/api/v1/reports/monthly?month=${month}`)).items;
  } catch (e) {
    main.replaceChildren(errorBox(e));
    return;
  }
  let key = "variance_basis_points";
  let dir = 1;
  const monthIn = el("input", { type: "month", id: "o-month", value: month,
    onchange: () => { location.hash = `#/overview/${monthIn.value}`; } });
  const tbody = el("tbody");
  const cols = [
    ["client_name", "Brukare", false], ["decision", "Beslut", false], ["ordered_minutes", "Beställt", true],
    ["expected_minutes", "Förväntat", true], ["performed_minutes", "Utfört", true],
    ["variance_basis_points", "Avvikelse", true], ["status", "Läge", false], ["alerts", "Avvikelser", true],
  ];
  const draw = () => {
    const v = (r) => (key === "alerts" ? (r.alerts || []).length : r[key]);
    const sorted = [...rows].sort((a, b) => {
      const x = v(a), y = v(b);
      if (x === y) return 0;
      if (x === null || x === undefined) return 1;
      if (y === null || y === undefined) return -1;
      return (x < y ? -1 : 1) * dir;
    });
    tbody.replaceChildren(...sorted.map((r) => el("tr", {},
      el("td", {}, el("a", { href: `#/client/${r.client_id}/${month}` }, r.client_name)),
      el("td", {}, r.decision === "frame" ? "Ram" : "Insats"),
      el("td", { class: "num" }, hm(r.ordered_minutes)),
      el("td", { class: "num" }, hm(r.expected_minutes)),
      el("td", { class: "num" }, hm(r.performed_minutes)),
      el("td", { class: "num" }, pct(r.variance_basis_points)),
      el("td", {}, statusBadge(r.status)),
      el("td", { class: "num" }, (r.alerts || []).length))));
  };
  const head = el("tr", {}, cols.map(([k, label, num]) => el("th", { class: num ? "num" : null, scope: "col",
    "aria-sort": "none" }, el("button", { class: "sort", "data-key": k, onclick: (ev) => {
    dir = key === k ? -dir : 1;
    key = k;
    head.querySelectorAll("th").forEach((th) => th.setAttribute("aria-sort", "none"));
    ev.currentTarget.parentElement.setAttribute("aria-sort", dir > 0 ? "ascending" : "descending");
    draw();
  } }, label))));
  const csv = el("button", { class: "secondary", id: "csv", onclick: async () => {
    const r = await fetch(`/api/v1/reports/monthly?month=${month}&format=csv`,
      { headers: { Authorization: `Bearer ${S.token}` } });
    const blob = await r.blob();
    const a = el("a", { href: URL.createObjectURL(blob), download: `manadsrapport-${month}.csv` });
    document.body.append(a);
    a.click();
    a.remove();
  } }, "Ladda ner CSV");
  const measures = el("section", { id: "measures", "aria-labelledby": "measures-h" });
  main.replaceChildren(el("h1", {}, `Månadsöversikt – ${monthSv(month)}`),
    el("div", { class: "filters" }, el("div", {}, el("label", { for: "o-month" }, "Månad"), monthIn), csv),
    el("div", { class: "table-wrap" }, el("table", { id: "overview" }, el("thead", {}, head), tbody)),
    measures);
  draw();
  await measuresSection(measures, month);
}

// Personalkontinuitet, fast omsorgskontakt and verified visits of the
// month, beside the national figure. Per client group, never per care
// worker (see hemtid_core::measures).
function share(bp) {
  return bp === null || bp === undefined ? "–" : `${(bp / 100).toFixed(1).replace(".", ",")} %`;
}

function decimal(x) {
  return x === null || x === undefined ? "–" : x.toFixed(1).replace(".", ",");
}

// Where the municipality's mean stands on the national range.
function nationalScale(mean, n) {
  const W = 640, H = 64, l = 24, r = 24;
  const lo = Math.min(n.lowest, mean ?? n.lowest) - 1, hi = Math.max(n.highest, mean ?? n.highest) + 1;
  const x = (v) => l + ((W - l - r) * (v - lo)) / (hi - lo);
  const root = svg("svg", { viewBox: `0 0 ${W} ${H}`, role: "img", id: "chart-continuity",
    "aria-label": `Personalkontinuitet ${decimal(mean)} mot riket ${decimal(n.mean)} (kommunerna ${n.lowest}–${n.highest}, ${n.year})` });
  root.append(
    svg("rect", { x: x(n.lowest), y: 22, width: x(n.highest) - x(n.lowest), height: 10, fill: "#d7dee6" }),
    svg("text", { x: x(n.lowest), y: 50, "text-anchor": "middle" }, String(n.lowest)),
    svg("text", { x: x(n.highest), y: 50, "text-anchor": "middle" }, String(n.highest)),
    svg("line", { x1: x(n.mean), x2: x(n.mean), y1: 16, y2: 38, stroke: "#4a5a6a", "stroke-width": 2 }),
    svg("text", { x: x(n.mean), y: 12, "text-anchor": "middle" }, `Riket ${decimal(n.mean)}`));
  if (mean !== null && mean !== undefined) {
    root.append(svg("circle", { cx: x(mean), cy: 27, r: 7, fill: "#1f4e8c" }),
      svg("text", { x: x(mean), y: 62, "text-anchor": "middle", "font-weight": "700" }, `Kommunen ${decimal(mean)}`));
  }
  return el("figure", {}, el("figcaption", {},
    `Antal olika personal per brukare under 14 dagar; färre är bättre. Riket ${n.year}: ${decimal(n.mean)}, kommunerna ${n.lowest}–${n.highest}.`), root);
}

async function measuresSection(box, month) {
  const [y, m] = month.split("-").map(Number);
  const last = new Date(Date.UTC(y, m, 0)).getUTCDate();
  const from = `${month}-01`, to = `${month}-${String(last).padStart(2, "0")}`;
  box.replaceChildren(el("h2", { id: "measures-h" }, "Kvalitetsmått"));
  let r;
  try {
    r = await api("GET", `/api/v1/reports/measures?from=${from}&to=${to}`);
  } catch (e) {
    box.append(errorBox(e));
    return;
  }
  const k = r.municipality;
  box.append(
    el("div", { class: "cards" },
      el("div", { class: "card", id: "m-continuity" }, el("div", {}, "Personalkontinuitet"),
        el("div", { class: "big" }, decimal(k.continuity_mean)),
        el("div", { class: "meta" }, `${k.continuity_clients} brukare i måttet, ${r.from}–${r.continuity_to}. Riket ${decimal(r.national.mean)} (${r.national.year}).`)),
      el("div", { class: "card", id: "m-contact" }, el("div", {}, "Fast omsorgskontakt"),
        el("div", { class: "big" }, share(k.contact_visits_basis_points)),
        el("div", { class: "meta" }, `av besöken (${share(k.contact_minutes_basis_points)} av tiden) gjordes av kontaktpersonen eller ersättaren.`)),
      el("div", { class: "card", id: "m-verified" }, el("div", {}, "Verifierade besök"),
        el("div", { class: "big" }, share(k.verified_basis_points)),
        el("div", { class: "meta" }, `${k.verified_visits} av ${k.visits} besök med lås eller NFC i båda ändar, inte efterregistrerade eller rättade.`))),
    nationalScale(k.continuity_mean, r.national));
  if (r.providers.length) {
    box.append(el("div", { class: "table-wrap" }, el("table", { id: "measures-providers" },
      el("caption", {}, "Per utförare"),
      el("thead", {}, el("tr", {}, ["Utförare", "Personalkontinuitet", "Brukare i måttet", "Fast omsorgskontakt", "Verifierade besök"]
        .map((h, i) => el("th", { scope: "col", class: i ? "num" : null }, h)))),
      el("tbody", {}, r.providers.map((p) => el("tr", {},
        el("td", {}, p.name),
        el("td", { class: "num" }, decimal(p.continuity_mean)),
        el("td", { class: "num" }, p.continuity_clients),
        el("td", { class: "num" }, share(p.contact_visits_basis_points)),
        el("td", { class: "num" }, share(p.verified_basis_points))))))));
  }
  box.append(el("p", { class: "meta" }, "Måtten gäller brukare och enheter, aldrig enskild personal."));
}

// ---------- own password ----------

function passwordPage(main) {
  const field = (id, label, autocomplete) => [el("label", { for: id }, label),
    el("input", { id, name: id, type: "password", autocomplete, required: true })];
  const msg = el("div", { "aria-live": "polite" });
  const form = el("form", { class: "login", onsubmit: async (ev) => {
    ev.preventDefault();
    msg.replaceChildren();
    const current = form.querySelector("#current-password").value;
    const next = form.querySelector("#new-password").value;
    if (next !== form.querySelector("#repeat-password").value) {
      msg.append(errorBox(new Error("De nya lösenorden är inte lika.")));
      return;
    }
    try {
      await api("PUT", "/api/v1/me/password", { current_password: current, new_password: next });
      form.reset();
      msg.append(el("p", { id: "password-changed", role: "status" },
        "Lösenordet är bytt. Dina andra inloggningar är avslutade."));
    } catch (e) {
      const codes = ((e.body && e.body.errors) || []).map((x) => x.code);
      msg.append(errorBox(codes.includes("wrong_password") ? new Error("Nuvarande lösenord stämmer inte.")
        : codes.includes("too_short") ? new Error("Det nya lösenordet behöver minst 10 tecken.") : e));
    }
  } },
  el("h1", {}, "Byt lösenord"),
  ...field("current-password", "Nuvarande lösenord", "current-password"),
  ...field("new-password", "Nytt lösenord (minst 10 tecken)", "new-password"),
  ...field("repeat-password", "Nytt lösenord igen", "new-password"),
  el("p", {}, el("button", { type: "submit", id: "change-password" }, "Byt lösenord")),
  msg);
  main.replaceChildren(form);
}

// ---------- provider admin ----------

function localDay(offsetDays = 0) {
  return new Date(Date.now() + offsetDays * 86400000).toLocaleDateString("sv-SE", { timeZone: "Europe/Stockholm" });
}

function hhmm(iso) {
  return new Date(iso).toLocaleTimeString("sv-SE", { timeZone: "Europe/Stockholm", hour: "2-digit", minute: "2-digit" });
}

// What the day's table says of a plan beside its state.
function planNote(x) {
  const parts = [];
  if (x.started_late_minutes > 0) parts.push(`kom ${x.started_late_minutes} min efter senaste start`);
  if (x.started_early_minutes > 0) parts.push(`kom ${x.started_early_minutes} min före tidigaste start`);
  if (x.shorter_by_minutes > 0) parts.push(`${x.shorter_by_minutes} min kortare än planerat`);
  if (x.phone_last_seen_at) {
    parts.push(`en planerad telefon hördes senast ${when(x.phone_last_seen_at)}: en incheckning kan vänta offline`);
  }
  if (x.time_critical) parts.push("tidskritiskt");
  if (x.double_staffing) parts.push("dubbelbemanning");
  return parts.join("; ");
}

// The provider's planned visits of `date` with their states, and the
// unresolved late and missed visits' alerts with acknowledge.
async function plannedSection(box, date, names) {
  const picker = el("input", { type: "date", id: "plan-date", value: date });
  picker.addEventListener("change", () => {
    if (picker.value) location.hash = `#/provider?date=${picker.value}`;
  });
  box.replaceChildren(
    el("h2", {}, date === localDay() ? `Planerade besök i dag (${date})` : `Planerade besök ${date}`),
    el("div", { class: "filters" }, el("div", {}, el("label", { for: "plan-date" }, "Dag"), picker)));
  try {
    const alerts = [];
    for (const kind of VISIT_KINDS) {
      alerts.push(...(await api("GET", `/api/v1/alerts?kind=${kind}&limit=200`)).items
        .filter((a) => a.state !== "resolved"));
    }
    box.append(el("h3", {}, "Sena och missade besök"),
      alerts.length
        ? el("ul", { class: "alerts", id: "visit-alerts" }, alerts.map((a) => alertItem(a, false, "h4")))
        : el("p", { class: "meta", id: "no-visit-alerts" }, "Inga olösta."));
    const day = await api("GET", `/api/v1/providers/${S.me.provider_id}/planned-visits?date=${date}`);
    box.append(el("h3", {}, "Dagens planering"));
    if (!day.items.length) {
      box.append(el("p", { class: "meta", id: "no-plans" }, "Inga planerade besök."));
      return;
    }
    const rows = day.items.map((x) => el("tr", { id: `plan-${x.id}`, "data-state": x.state },
      el("td", {}, `${hhmm(x.earliest_start)}–${hhmm(x.latest_start)}`),
      el("td", {}, names.get(x.client_id) || "Brukare"),
      el("td", {}, el("span", { class: `status plan-${x.state}` }, PLAN_STATE_SV[x.state] || x.state)),
      el("td", {}, planNote(x))));
    box.append(el("div", { class: "table-wrap" }, el("table", { id: "planned-table" },
      el("caption", { class: "visually-hidden" }, `Planerade besök ${date}`),
      el("thead", {}, el("tr", {}, ["Tid", "Brukare", "Läge", "Anmärkning"].map((h) => el("th", { scope: "col" }, h)))),
      el("tbody", {}, rows))),
    el("p", { class: "meta" }, `${day.unplanned_visit_ids.length} utförda besök utan plan.`));
  } catch (e) {
    box.append(errorBox(e));
  }
}

async function providerPage(main, params) {
  main.replaceChildren(el("h1", {}, "Enhetens dag"),
    el("p", { class: "meta" }, el("span", { class: "live-dot", id: "live-dot" }),
      el("span", { id: "live-state" }, "Ansluter …"), " Sena och missade besök visas direkt."));
  const yesterday = localDay(-1);
  const date = (params && params.get("date")) || localDay();
  const sections = {
    planned: el("section", { id: "planned" }),
    approval: el("section", { id: "awaiting" }, el("h2", {}, `Besök att attestera (${yesterday})`)),
    open: el("section", { id: "open" }, el("h2", {}, "Öppna besök")),
    explain: el("section", { id: "to-explain" }, el("h2", {}, `Förklaringar att skriva (${monthSv(thisMonth(-1))})`)),
    plans: el("section", { id: "plans" }, el("h2", {}, "Brukare utan fastställd genomförandeplan")),
  };
  main.append(...Object.values(sections));
  let names = new Map();
  try {
    names = new Map((await api("GET", "/api/v1/clients")).items
      .map((c) => [c.id, `${c.given_name} ${c.family_name}`]));
  } catch (e) {
    sections.planned.append(errorBox(e));
  }
  await plannedSection(sections.planned, date, names);
  follow((a) => {
    if (location.hash.split("?")[0] !== "#/provider" || !VISIT_KINDS.includes(a.kind)) return;
    plannedSection(sections.planned, date, names);
    say(`${KIND_SV[a.kind]}: ${a.client_name || "brukare"}`);
  }, () => plannedSection(sections.planned, date, names));
  try {
    const v = (await api("GET", `/api/v1/provider/visits?date=${yesterday}`)).items;
    const waiting = v.filter((x) => x.needs_approval);
    sections.approval.append(waiting.length
      ? el("p", {}, `${waiting.length} av ${v.length} besök väntar på attest. `,
        el("button", { id: "approve-day", onclick: async () => {
          await api("POST", `/api/v1/provider/days/${yesterday}/approval`, { comment: "" });
          say("Dagen är attesterad.");
          providerPage(main, params);
        } }, "Attestera dagen"))
      : el("p", { class: "meta" }, "Inget väntar."));
    const open = v.filter((x) => x.status === "open");
    sections.open.append(open.length ? el("ul", {}, open.map((x) => el("li", {}, `${names.get(x.client_id) || "Brukare"} sedan ${when(x.started_at)}`)))
      : el("p", { class: "meta" }, "Inga öppna besök."));
  } catch (e) {
    sections.approval.append(errorBox(e));
  }
  try {
    const rows = (await api("GET", `/api/v1/reports/monthly?month=${thisMonth(-1)}`)).items;
    const todo = rows.filter((r) => r.status !== "within_band" && !r.explanation_state);
    sections.explain.append(todo.length ? el("ul", {}, todo.map((r) => el("li", {},
      el("a", { href: `#/client/${r.client_id}/${thisMonth(-1)}` }, r.client_name), ` – ${pct(r.variance_basis_points)}`)))
      : el("p", { class: "meta" }, "Inga."));
  } catch (e) {
    sections.explain.append(errorBox(e));
  }
  try {
    const lists = (await api("GET", "/api/v1/care-plan-lists")).items;
    const alerts = [];
    for (const kind of ["care_plan_missing", "care_plan_missing_escalated"]) {
      alerts.push(...(await api("GET", `/api/v1/alerts?kind=${kind}&state=open`)).items);
    }
    const latest = lists[0];
    // The list of the month is made on the municipality's list day (R10);
    // before the first one there is none to show, which is not the same as
    // everyone having a plan.
    if (!latest) {
      sections.plans.append(el("p", { class: "meta" }, "Ingen lista har gjorts ännu."));
    } else {
      sections.plans.append(el("p", { class: "meta" }, `Listan den ${latest.list_date}:`),
        latest.clients.length ? el("ul", {}, latest.clients.map((c) => el("li", {},
          `${c.name} – insatsen började ${c.service_start}, ${c.days_late > 0 ? `${c.days_late} dagar sen` : "inte sen än"}`)))
          : el("p", { class: "meta" }, "Alla har en plan enligt listan."));
    }
    // Open reminders name their clients whatever the day of the month.
    if (alerts.length) {
      sections.plans.append(
        el("p", {}, alerts.length === 1 ? "1 öppen påminnelse om saknad plan:"
          : `${alerts.length} öppna påminnelser om saknad plan:`),
        el("ul", { class: "plan-reminders" }, alerts.map((a) => el("li", {},
          el("a", { href: `#/client/${a.client_id}/${a.month}` }, a.client_name || "Brukaren"),
          ` – ${KIND_SV[a.kind] || a.kind}`))));
    }
  } catch (e) {
    sections.plans.append(errorBox(e));
  }
}

// ---------- routing ----------

function navFor(role) {
  const links = [];
  if (["caseworker", "provider_admin", "fee_admin", "admin"].includes(role)) links.push(["#/inbox", "Inkorg"]);
  if (["caseworker", "provider_admin", "fee_admin", "admin"].includes(role)) links.push([`#/overview/${thisMonth(-1)}`, "Månadsöversikt"]);
  if (role === "provider_admin") links.push(["#/provider", "Enhetens dag"]);
  return links;
}

async function route() {
  const main = document.getElementById("main");
  const [path, query] = location.hash.slice(1).split("?");
  const params = new URLSearchParams(query || "");
  if (location.pathname === "/inloggning") {
    // Signed in: the new hash routes to the start page.
    const notice = await finishOidc();
    if (!notice) return;
    document.getElementById("nav").replaceChildren();
    document.getElementById("who").replaceChildren();
    return loginPage(main, notice);
  }
  if (!S.token || path === "/login") {
    document.getElementById("nav").replaceChildren();
    document.getElementById("who").replaceChildren();
    if (S.token && path === "/login") signOut();
    return loginPage(main);
  }
  if (!S.me) {
    try {
      S.me = await api("GET", "/api/v1/me");
    } catch (e) {
      return;
    }
  }
  const nav = document.getElementById("nav");
  nav.replaceChildren(...navFor(S.me.role).map(([href, label]) =>
    el("a", { href, "aria-current": path === href.slice(1).split("?")[0] || (href.startsWith("#/overview") && path.startsWith("/overview")) ? "page" : null }, label)));
  document.getElementById("who").replaceChildren(`${S.me.display_name} (${ROLE_SV[S.me.role] || S.me.role}) `,
    el("a", { href: "#/password", id: "password-link" }, "Byt lösenord"), " ",
    el("button", { class: "secondary", id: "logout", onclick: () => {
      const refresh = sessionStorage.getItem("hemtid.refresh");
      if (refresh) api("POST", "/api/v1/auth/logout", { refresh_token: refresh }).catch(() => {});
      signOut();
    } }, "Logga ut"));
  if (!navFor(S.me.role).length) {
    main.replaceChildren(el("h1", {}, "hemtid"), el("p", {}, "Din roll använder appen eller API:t, inte dessa sidor."));
    return;
  }
  const parts = path.split("/").filter(Boolean);
  if (S.stream && !["inbox", "provider"].includes(parts[0])) { S.stream.abort(); S.stream = null; }
  if (parts[0] === "client" && parts[1] && parts[2]) return clientPage(main, parts[1], parts[2]);
  if (parts[0] === "overview") return overviewPage(main, parts[1] || thisMonth(-1));
  if (parts[0] === "provider") return providerPage(main, params);
  if (parts[0] === "inbox") return inboxPage(main, params);
  if (parts[0] === "password") return passwordPage(main);
  location.hash = S.me.role === "provider_admin" ? "#/provider" : "#/inbox";
}

window.addEventListener("hashchange", () => { route(); document.getElementById("main").focus(); });
route();
