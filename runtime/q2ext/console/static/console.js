// The bus console: live events over server-sent events, newest first. Plain JavaScript, no build step, no CDN.
"use strict";

(() => {
  const API = "/_q2ext/console/api";
  const $ = (id) => document.getElementById(id);
  const rows = $("rows");
  const counts = { push: 0, delivery: 0, refusal: 0, exception: 0 };
  const types = new Set();
  let ringSize = 1000;
  let paused = false;
  let held = [];
  let selected = null;
  let loaded = false;  // the first batch is the ring as it was: no highlight

  // ------------------------------------------------------------------ formatting

  const KIND_LABEL = {
    push: "push", delivery: "delivered", duplicate: "duplicate", refusal: "refused", exception: "raised",
  };

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs || {})) {
      if (value !== null && value !== undefined) node.setAttribute(name, value);
    }
    for (const child of children) {
      if (child === null || child === undefined) continue;
      node.append(child instanceof Node ? child : String(child));
    }
    return node;
  }

  function relative(at) {
    const s = Math.max(0, Date.now() / 1000 - at);
    if (s < 5) return "just now";
    if (s < 60) return `${Math.floor(s)}s ago`;
    if (s < 3600) return `${Math.floor(s / 60)}m ${Math.floor(s % 60)}s ago`;
    if (s < 86400) return `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m ago`;
    return `${Math.floor(s / 86400)}d ago`;
  }

  function absolute(at) {
    const d = new Date(at * 1000);
    const pad = (n, w = 2) => String(n).padStart(w, "0");
    return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ` +
      `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
  }

  function bytes(n) {
    if (n === null || n === undefined) return "";
    if (n < 1024) return `${n} B`;
    if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
    return `${(n / 1024 / 1024).toFixed(1)} MB`;
  }

  function millis(seconds) {
    if (seconds === null || seconds === undefined) return "";
    const ms = seconds * 1000;
    return ms < 10 ? `${ms.toFixed(2)} ms` : ms < 1000 ? `${ms.toFixed(1)} ms` : `${seconds.toFixed(2)} s`;
  }

  function statusPill(status) {
    if (status === null || status === undefined) return el("span", { class: "status none" }, "–");
    return el("span", { class: `status s${String(status)[0]}` }, status);
  }

  function statusGroup(ev) {
    if (ev.kind === "push" || ev.kind === "duplicate") return ev.kind;
    if (ev.status >= 500) return "failed";
    if (ev.status >= 400) return "refused";
    return "ok";
  }

  // ------------------------------------------------------------------ the table

  function detailsCell(ev) {
    if (ev.kind === "refusal" || ev.kind === "exception") return el("span", null, ev.reason || "");
    if (ev.kind === "duplicate") return el("span", { class: "muted" }, ev.reason || "");
    const parts = [];
    if (ev.preview !== null && ev.preview !== undefined) parts.push(el("span", null, ev.preview));
    if (ev.key) parts.push(el("span", { class: "muted" }, `  key ${ev.key}`));
    return el("span", null, ...parts);
  }

  function rowFor(ev) {
    const tr = el("tr", {
      "data-seq": ev.seq, "data-kind": ev.kind, "data-id": ev.id, "data-type": ev.type, "data-group": statusGroup(ev),
    },
    el("td", { class: "time", "data-at": ev.at },
      el("span", { class: "rel" }, relative(ev.at)), el("span", { class: "abs" }, absolute(ev.at))),
    el("td", null, el("span", { class: `kind ${ev.kind}` }, KIND_LABEL[ev.kind] || ev.kind)),
    el("td", null, statusPill(ev.status)),
    el("td", null, ev.type),
    el("td", { class: "id", title: ev.id }, ev.id.length > 20 ? `${ev.id.slice(0, 20)}…` : ev.id),
    el("td", null, ev.who),
    el("td", { class: "num" }, ev.attempt ?? ""),
    el("td", { class: "num" }, millis(ev.seconds)),
    el("td", { class: "num" }, bytes(ev.size)),
    el("td", { class: "details" }, detailsCell(ev)));
    tr.dataset.search = [ev.id, ev.type, ev.who, ev.reason, ev.preview, ev.key, ev.status, ev.kind]
      .filter((v) => v !== null && v !== undefined).join(" ").toLowerCase();
    tr.addEventListener("click", () => openDetail(ev.seq, tr));
    return tr;
  }

  function visible(tr) {
    const type = $("filter-type").value;
    const group = $("filter-status").value;
    const text = $("filter-text").value.trim().toLowerCase();
    return (!type || tr.dataset.type === type) && (!group || tr.dataset.group === group) &&
      (!text || tr.dataset.search.includes(text));
  }

  function applyFilters() {
    for (const tr of rows.children) tr.hidden = !visible(tr);
  }

  function addEvents(batch) {
    if (paused) {
      held.push(...batch);
      $("pause").textContent = `Resume (${held.length})`;
      return;
    }
    for (const ev of batch) counts[ev.kind] = (counts[ev.kind] || 0) + 1;
    const shown = batch.length > ringSize ? batch.slice(-ringSize) : batch;  // older ones would be dropped at once
    const fragment = document.createDocumentFragment();
    for (let i = shown.length - 1; i >= 0; i--) {  // newest first
      const ev = shown[i];
      if (ev.type && !types.has(ev.type)) addTypeOption(ev.type);
      const tr = rowFor(ev);
      if (loaded) tr.classList.add("fresh");
      tr.hidden = !visible(tr);
      fragment.append(tr);
    }
    rows.prepend(fragment);
    while (rows.children.length > ringSize) rows.lastElementChild.remove();
    for (const kind of Object.keys(counts)) $(`n-${kind}`).textContent = counts[kind];
    $("empty").hidden = rows.children.length > 0;
    loaded = true;
  }

  function addTypeOption(type) {
    types.add(type);
    $("filter-type").append(el("option", { value: type }, type));
  }

  function tick() {
    for (const td of rows.querySelectorAll("td.time")) {
      td.firstChild.textContent = relative(Number(td.dataset.at));
    }
    for (const td of document.querySelectorAll("#kafka-dlq td.when")) {
      td.textContent = relative(Number(td.dataset.at));
    }
  }

  // ------------------------------------------------------------------ details

  async function openDetail(seq, tr) {
    if (selected) selected.classList.remove("selected");
    selected = tr;
    tr.classList.add("selected");
    const panel = $("detail");
    panel.hidden = false;
    panel.dataset.seq = seq;
    const answer = await fetch(`${API}/events/${seq}`);
    const ev = await answer.json();
    if (!answer.ok) {
      $("detail-title").textContent = ev.error || `event ${seq} is gone`;
      return;
    }
    $("detail-title").textContent = `${KIND_LABEL[ev.kind] || ev.kind} · ${ev.type}`;
    const facts = [
      ["message id", ev.id], ["status", ev.status ?? "–"], ["when", `${absolute(ev.at)} (${relative(ev.at)})`],
      ["by", ev.who], ["attempt", ev.attempt ?? "–"], ["time in handle()", millis(ev.seconds) || "–"],
      ["sealed body", ev.size === null ? "in a batch" : `${ev.size} bytes`], ["ordering key", ev.key ?? "–"],
      ["reason", ev.reason ?? "–"],
    ];
    $("detail-facts").replaceChildren(...facts.flatMap(([k, v]) => [el("dt", null, k), el("dd", null, v)]));
    const headerRows = Object.entries(ev.headers || {}).sort(([a], [b]) => a.localeCompare(b))
      .map(([k, v]) => el("tr", null, el("td", null, k), el("td", null, v)));
    $("detail-headers").tBodies[0].replaceChildren(...headerRows);
    $("detail-text-box").hidden = ev.text === null || ev.text === undefined;
    $("detail-text").textContent = (ev.text ?? "") + (ev.text_truncated ? "\n… (truncated)" : "");
    $("detail-trace-box").hidden = !ev.trace;
    $("detail-trace").textContent = ev.trace || "";
  }

  function closeDetail() {
    $("detail").hidden = true;
    if (selected) selected.classList.remove("selected");
    selected = null;
  }

  // ------------------------------------------------------------------ push form

  async function pushMessage(event) {
    event.preventDefault();
    const result = $("push-result");
    result.className = "result";
    result.textContent = "pushing…";
    try {
      const answer = await fetch(`${API}/push`, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ type: $("push-type").value, text: $("push-text").value }),
      });
      const body = await answer.json();
      if (answer.ok) {
        result.textContent = `pushed ${body.id}`;
      } else {
        result.className = "result error";
        result.textContent = body.error || `failed (${answer.status})`;
      }
    } catch (err) {
      result.className = "result error";
      result.textContent = `the server did not answer (${err})`;
    }
  }

  // ------------------------------------------------------------------ Kafka panel

  async function refreshKafka() {
    let data;
    try {
      data = await (await fetch(`${API}/kafka`)).json();
    } catch (err) {
      return;
    }
    if (data.bus !== "kafka") return;
    $("kafka").hidden = false;
    const relay = data.relay || {};
    $("kafka-relay").textContent = relay.up ? `relay metrics from ${relay.url}` : (relay.error || "");
    const topics = Object.entries(relay.topics || {}).sort(([a], [b]) => a.localeCompare(b));
    $("kafka-topics").tBodies[0].replaceChildren(...topics.map(([topic, row]) => el("tr", null,
      el("td", null, topic), el("td", { class: "num" }, row.delivered), el("td", { class: "num" }, row.retried),
      el("td", { class: "num" }, row.dead_lettered), el("td", { class: "num" }, row.lag))));
    $("kafka-dlq").tBodies[0].replaceChildren(...(data.dead_letters || []).map(dlqRow));
  }

  const replayed = new Set();  // topic:partition@offset of the dead letters replayed from this page

  function dlqRow(row) {
    if (row.error) return el("tr", null, el("td", { colspan: 6 }, row.error));
    const where = `${row.topic}:${row.partition}@${row.offset}`;
    const button = el("button", { type: "button", class: "replay" }, replayed.has(where) ? "replayed" : "Replay");
    button.disabled = replayed.has(where);
    button.addEventListener("click", () => replay(row, button, where));
    return el("tr", { "data-id": row.id, "data-where": where },
      el("td", { class: "id", title: where }, row.id),
      el("td", null, row.type),
      el("td", null, el("span", { class: `status s${String(row.status)[0]}` }, row.status), " ", row.reason),
      el("td", { class: "num" }, row.attempts),
      el("td", { class: "when", "data-at": row.at, title: absolute(row.at) }, relative(row.at)),
      el("td", null, button));
  }

  async function replay(row, button, where) {
    button.disabled = true;
    button.textContent = "replaying…";
    const answer = await fetch(`${API}/replay`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ topic: row.topic, partition: row.partition, offset: row.offset }),
    });
    const body = await answer.json();
    if (answer.ok) replayed.add(where);
    button.textContent = answer.ok ? "replayed" : (body.error || "failed");
  }

  // ------------------------------------------------------------------ start

  function connect() {
    const source = new EventSource(`${API}/stream`);
    source.onopen = () => { $("live").className = "badge on"; $("live").textContent = "live"; };
    source.onerror = () => { $("live").className = "badge off"; $("live").textContent = "reconnecting"; };
    source.onmessage = (message) => addEvents(JSON.parse(message.data));
  }

  async function start() {
    const info = await (await fetch(`${API}/info`)).json();
    ringSize = info.ring;
    $("ring").textContent = info.ring;
    $("bus").textContent = `${info.bus} bus`;
    for (const type of info.types) {
      $("push-type").append(el("option", { value: type }, type));
      addTypeOption(type);
    }
    if (!info.types.length) {
      $("push-button").disabled = true;
      $("push-result").textContent = "no Message Bus extension installed (make extension NAME=... KIND=message_bus)";
    }
    $("push-form").addEventListener("submit", pushMessage);
    for (const id of ["filter-type", "filter-status"]) $(id).addEventListener("change", applyFilters);
    $("filter-text").addEventListener("input", applyFilters);
    $("detail-close").addEventListener("click", closeDetail);
    document.addEventListener("keydown", (e) => { if (e.key === "Escape") closeDetail(); });
    $("pause").addEventListener("click", () => {
      paused = !paused;
      $("pause").classList.toggle("active", paused);
      $("pause").textContent = paused ? "Resume" : "Pause";
      if (!paused && held.length) { const batch = held; held = []; addEvents(batch); }
    });
    $("clear").addEventListener("click", () => { rows.replaceChildren(); $("empty").hidden = false; closeDetail(); });
    connect();
    setInterval(tick, 1000);
    if (info.bus === "kafka") { refreshKafka(); setInterval(refreshKafka, 5000); }
  }

  start();
})();
