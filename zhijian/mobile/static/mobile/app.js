/* 智监执法: the four-step on-site inspection (S3, 121 mode), offline first.
   Step 1 needs the network (search, then "prepare" saves the entity, its open tasks and the checklist
   in IndexedDB). Steps 2 to 4 and the signatures work offline. Submitting puts the complete record in
   the outbox; the sync loop posts it whenever the phone is online (idempotent by client_key). */
"use strict";
(function () {
  const $ = (sel, root) => (root || document).querySelector(sel);
  const $$ = (sel, root) => Array.from((root || document).querySelectorAll(sel));
  const CFG = JSON.parse($("#mobile-config").textContent);
  const T = JSON.parse($("#mobile-strings").textContent);
  const store = window.zjStore;
  store.use(CFG.db);

  const RETRY_SECONDS = [5, 15, 30, 60, 120, 300];
  const SYNCED_KEEP = 20;
  const CREDIT_CODE = /[0-9A-HJ-NPQRTUWXY]{2}\d{6}[0-9A-HJ-NPQRTUWXY]{10}/;

  let prepared = null;  // the prepared inspection being worked on
  let draft = null;     // its draft record
  let pads = {};

  // --- small helpers ------------------------------------------------------------------------------

  function h(tag, attrs, ...children) {
    const el = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k === "class") el.className = v;
      else if (k === "text") el.textContent = v;
      else if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
      else el.setAttribute(k, v === true ? "" : v);
    }
    for (const c of children.flat()) {
      if (c === null || c === undefined || c === false) continue;
      el.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return el;
  }

  function uuid() {
    if (crypto.randomUUID) return crypto.randomUUID();
    const b = crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    const hex = Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
  }

  function when(iso) {
    return iso ? new Date(iso).toLocaleString("zh-CN", { hour12: false }) : "";
  }

  let flashTimer = null;
  function flash(message, kind) {
    const el = $("#flash");
    el.textContent = message;
    el.className = "m-flash " + (kind || "");
    el.hidden = false;
    clearTimeout(flashTimer);
    flashTimer = setTimeout(() => { el.hidden = true; }, 6000);
  }

  function csrfToken() {
    const prefix = CFG.csrf_cookie + "=";
    for (const part of document.cookie.split(";")) {
      const c = part.trim();
      if (c.startsWith(prefix)) return decodeURIComponent(c.slice(prefix.length));
    }
    return "";
  }

  /* fetch returning {status, body}; a network failure throws. */
  async function api(url, options) {
    const opts = Object.assign({ credentials: "same-origin", headers: {} }, options || {});
    opts.headers = Object.assign({ Accept: "application/json" }, opts.headers);
    const response = await fetch(url, opts);
    let body = null;
    try { body = await response.json(); } catch (e) { body = null; }
    return { status: response.status, body };
  }

  function errorText(result) {
    const err = result.body && result.body.error;
    if (err && err.message) {
      const detail = err.detail && typeof err.detail === "object" ? Object.entries(err.detail)
        .map(([k, v]) => `${k}: ${Array.isArray(v) ? v.join("；") : (typeof v === "object" ? JSON.stringify(v) : v)}`).join("；") : "";
      return detail ? `${err.message}（${detail}）` : err.message;
    }
    if (result.body && result.body.detail) return String(result.body.detail);
    return `${T.server_error} ${result.status}`;
  }

  function lineLabel(code) {
    return CFG.lines[code] || code || "—";
  }

  // --- network badge and offline readiness --------------------------------------------------------

  function showNet() {
    const el = $("#net");
    el.textContent = navigator.onLine ? T.online : T.offline;
    el.className = "badge " + (navigator.onLine ? "ok" : "warn");
    document.body.classList.toggle("is-offline", !navigator.onLine);
  }

  async function registerWorker() {
    if (!("serviceWorker" in navigator)) return;
    try {
      // register() also checks for a new release; offline there is nothing to check.
      if (navigator.onLine) await navigator.serviceWorker.register(CFG.sw, { scope: CFG.scope });
      await navigator.serviceWorker.ready;
      const page = await caches.match(CFG.scope, { ignoreSearch: true, ignoreVary: true });
      $("#offline-ready").hidden = !page;
      document.documentElement.dataset.offlineReady = page ? "1" : "0";
    } catch (e) {
      document.documentElement.dataset.offlineReady = "0";
    }
  }

  // --- my work: the officer's assigned tasks, one row per entity ----------------------------------

  const WORK_KEY = `zhijian-work-${CFG.user.id}`;
  let position = null;  // {lng, lat} once the phone (or the URL) gave it

  function fill(text, values) {
    return Object.entries(values).reduce((t, [k, v]) => t.replace(`%(${k})s`, String(v)), text);
  }

  function workMessage(text) {
    const el = $("#work-msg");
    el.textContent = text || "";
    el.hidden = !text;
  }

  function distanceText(m) {
    if (m === null || m === undefined) return "";
    return m >= 1000 ? `${(m / 1000).toFixed(1)} ${T.km}` : `${m} ${T.m}`;
  }

  async function loadWork() {
    let data = null;
    if (navigator.onLine) {
      const qs = position ? `?lng=${position.lng}&lat=${position.lat}` : "";
      try {
        const result = await api(CFG.work + qs);
        if (result.status === 200) {
          data = result.body;
          try { localStorage.setItem(WORK_KEY, JSON.stringify(data)); } catch (e) { /* storage full: not kept */ }
        } else {
          workMessage(errorText(result));
        }
      } catch (e) { /* no network: the last answer below */ }
    }
    if (!data) {
      try { data = JSON.parse(localStorage.getItem(WORK_KEY) || "null"); } catch (e) { data = null; }
      if (data) workMessage(T.work_offline);
    }
    renderWork(data);
  }

  function renderWork(data) {
    const list = $("#work-list");
    list.replaceChildren();
    if (!data) { $("#work-summary").textContent = ""; return; }
    const rows = data.rows || [];
    $("#work-summary").textContent = `${fill(T.work_count, { entities: rows.length, tasks: data.tasks, overdue: data.overdue })} · ${data.nearby ? T.work_nearby : T.work_by_due}`;
    if (!rows.length) list.append(h("li", { class: "muted", text: T.work_empty }));
    for (const r of rows) {
      const e = r.entity;
      list.append(h("li", { class: `m-row m-work${r.overdue ? " overdue" : ""}`, "data-work": e.credit_code, "data-overdue": r.overdue ? "1" : "0" },
        h("div", { class: "m-row-main" },
          h("b", { text: e.name }),
          h("span", { class: "muted", text: e.address || "" }),
          h("ul", { class: "m-work-tasks" }, r.tasks.map((t) => h("li", { "data-task": t.id },
            t.business_line_label ? h("span", { class: "badge" }, t.business_line_label) : null, " ", t.title, " ",
            h("span", { class: "muted" }, `${t.state_label} · ${T.due} ${t.due_on || T.no_due}`),
            t.overdue ? h("span", { class: "badge bad", text: T.overdue }) : null))),
          r.distance_m !== null && r.distance_m !== undefined ? h("span", { class: "muted", "data-distance": r.distance_m }, `${T.distance} ${distanceText(r.distance_m)}`) : null),
        h("button", { class: "btn big", type: "button", "data-inspect": e.credit_code, onclick: (ev) => inspectFromWork(e.credit_code, ev.currentTarget) }, T.inspect)));
    }
  }

  /* One tap: open the prepared visit, or prepare it now (online) and open it. */
  async function inspectFromWork(code, button) {
    if (!(await store.get("prepared", code))) {
      const ok = await prepareEntity(code, button);
      if (!ok) return;
    }
    openInspection(code);
  }

  const GEO_MESSAGES = { 1: "geo_denied", 2: "geo_unavailable", 3: "geo_timeout" };

  /* The phone's position, for "nearby first". A refusal is said in Chinese (never the browser's
     English "User denied Geolocation") and the list stays by due date. */
  function askPosition() {
    if (!navigator.geolocation) { workMessage(T.geo_unsupported); return; }
    navigator.geolocation.getCurrentPosition((pos) => {
      position = { lng: Math.round(pos.coords.longitude * 1e6) / 1e6, lat: Math.round(pos.coords.latitude * 1e6) / 1e6 };
      workMessage("");
      loadWork();
    }, (err) => {
      workMessage(T[GEO_MESSAGES[err && err.code] || "geo_unavailable"]);
    }, { enableHighAccuracy: false, timeout: 15000, maximumAge: 300000 });
  }

  // --- step 1: choose the entity and prepare the inspection (online) -------------------------------

  function searchMessage(text) {
    const el = $("#search-msg");
    el.textContent = text || "";
    el.hidden = !text;
  }

  async function search(q) {
    q = q.trim();
    const list = $("#results");
    list.replaceChildren();
    if (q.length < 2) return searchMessage(T.search_min);
    if (!navigator.onLine) return searchMessage(T.prepare_needs_network);
    searchMessage(T.searching);
    let result;
    try {
      result = await api(`${CFG.entities}?q=${encodeURIComponent(q)}&page_size=20`);
    } catch (e) {
      return searchMessage(T.prepare_needs_network);
    }
    if (result.status !== 200) return searchMessage(errorText(result));
    const rows = result.body.results || [];
    searchMessage(rows.length ? "" : T.no_results);
    for (const e of rows) {
      list.append(h("li", { class: "m-row" },
        h("div", { class: "m-row-main" },
          h("b", { text: e.name }),
          h("span", { class: "muted", text: e.credit_code }),
          h("span", { class: "muted", text: e.address || "" })),
        h("button", { class: "btn big", type: "button", "data-prepare": e.credit_code, onclick: (ev) => prepareEntity(e.credit_code, ev.currentTarget) }, T.prepare)));
    }
  }

  async function prepareEntity(code, button) {
    if (!navigator.onLine) return flash(T.prepare_needs_network, "error");
    const label = button ? button.textContent : "";
    if (button) { button.disabled = true; button.textContent = T.preparing; }
    try {
      const result = await api(`${CFG.prepare}?entity=${encodeURIComponent(code)}`);
      if (result.status !== 200) return flash(errorText(result), "error");
      const data = result.body;
      if (!data.tasks || !data.tasks.length) return flash(T.no_open_tasks, "error");
      data.prepared_at = new Date().toISOString();
      await store.put("prepared", data);
      await renderPrepared();
      flash(`${data.entity.name}：${T.prepared_ok}`, "ok");
      return true;
    } catch (e) {
      flash(T.prepare_needs_network, "error");
    } finally {
      if (button) { button.disabled = false; button.textContent = label; }
    }
  }

  // QR scan of the business licence: BarcodeDetector and the camera where the phone has them.
  let scanning = null;
  function setupScanner() {
    const button = $("#scan-btn");
    if (!("BarcodeDetector" in window) || !navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      button.hidden = true;
      return;
    }
    button.addEventListener("click", startScan);
    $("#scan-stop").addEventListener("click", stopScan);
  }

  async function startScan() {
    let stream;
    try {
      stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" }, audio: false });
    } catch (e) {
      return flash(T.camera_error, "error");
    }
    const video = $("#scan-video");
    video.srcObject = stream;
    $("#scanner").hidden = false;
    await video.play();
    const detector = new window.BarcodeDetector({ formats: ["qr_code"] });
    scanning = { stream, timer: null };
    const tick = async () => {
      if (!scanning) return;
      try {
        const codes = await detector.detect(video);
        for (const c of codes) {
          const m = (c.rawValue || "").toUpperCase().match(CREDIT_CODE);
          if (m) {
            stopScan();
            $("#q").value = m[0];
            return search(m[0]);
          }
        }
      } catch (e) { /* a frame that cannot be read */ }
      scanning.timer = setTimeout(tick, 300);
    };
    tick();
  }

  function stopScan() {
    if (!scanning) return;
    clearTimeout(scanning.timer);
    scanning.stream.getTracks().forEach((t) => t.stop());
    scanning = null;
    $("#scanner").hidden = true;
  }

  // --- prepared inspections ------------------------------------------------------------------------

  async function renderPrepared() {
    const [items, drafts] = await Promise.all([store.all("prepared"), store.all("drafts")]);
    const byEntity = new Map(drafts.map((d) => [d.entity, d]));
    const list = $("#prepared");
    list.replaceChildren();
    if (!items.length) list.append(h("li", { class: "muted", text: T.nothing_prepared }));
    for (const p of items) {
      const d = byEntity.get(p.entity.credit_code);
      list.append(h("li", { class: "m-row", "data-entity": p.entity.credit_code },
        h("div", { class: "m-row-main" },
          h("b", { text: p.entity.name }),
          h("span", { class: "muted", text: `${p.tasks.length} ${T.tasks} · ${p.items.length} ${T.items}` }),
          h("span", { class: "muted", text: `${T.prepared_at} ${when(p.prepared_at)}` })),
        h("div", { class: "m-row-actions" },
          h("button", { class: "btn big", type: "button", "data-start": p.entity.credit_code, onclick: () => openInspection(p.entity.credit_code) },
            d ? T.resume : T.start),
          h("button", { class: "btn secondary", type: "button", onclick: () => removePrepared(p.entity.credit_code) }, T.remove))));
    }
  }

  async function removePrepared(code) {
    if (!window.confirm(T.confirm_remove)) return;
    const drafts = await store.all("drafts");
    for (const d of drafts.filter((x) => x.entity === code)) await store.remove("drafts", d.client_key);
    await store.remove("prepared", code);
    renderPrepared();
  }

  // --- one inspection: steps 2 to 4 --------------------------------------------------------------------

  let saveTimer = null;
  function saveDraft(now) {
    clearTimeout(saveTimer);
    const d = draft;
    if (!d) return Promise.resolve();
    if (now) return store.put("drafts", d);
    // Only while it is still the open draft: a submitted draft must not come back.
    saveTimer = setTimeout(() => { if (d === draft) store.put("drafts", d); }, 300);
    return Promise.resolve();
  }

  async function openInspection(code) {
    prepared = await store.get("prepared", code);
    if (!prepared) return;
    const drafts = await store.all("drafts");
    draft = drafts.find((d) => d.entity === code) || null;
    if (!draft) {
      draft = {
        client_key: uuid(),  // the idempotency key, fixed for the life of this inspection
        entity: code,
        started_at: new Date().toISOString(),
        lng: null, lat: null,
        results: {},
        attachments: [],
        conclusion: "", correction_days: 10, opinion: "", opinion_edited: false,
        officer2: "",
        signatures: { officer1: null, officer2: null, representative: null },
        rep_name: prepared.entity.legal_rep || "", refused: false, refusal_reason: "", refusal_witness: "",
        step: "2",
      };
      await saveDraft(true);
      locate();
    }
    renderInspection();
    $("#home").hidden = true;
    $("#inspect").hidden = false;
    goto(draft.step || "2");
  }

  function locate() {
    if (!navigator.geolocation) return;
    const d = draft;
    navigator.geolocation.getCurrentPosition((pos) => {
      d.lng = Math.round(pos.coords.longitude * 1e6) / 1e6;
      d.lat = Math.round(pos.coords.latitude * 1e6) / 1e6;
      if (d === draft) return saveDraft();
      // The inspection was closed meanwhile: update the stored draft if it is still a draft.
      store.get("drafts", d.client_key).then((kept) => kept && store.put("drafts", Object.assign(kept, { lng: d.lng, lat: d.lat })));
    }, () => { /* no position: the record says so (null) */ }, { enableHighAccuracy: true, timeout: 20000, maximumAge: 120000 });
  }

  function closeInspection() {
    saveDraft(true);
    prepared = null;
    draft = null;
    $("#inspect").hidden = true;
    $("#home").hidden = false;
    renderPrepared();
    window.scrollTo(0, 0);
  }

  function goto(step) {
    if (step === "home") return closeInspection();
    if (step === "4" && coverage().keyMissing.length) {
      // Key items first: the record cannot be signed while one is open.
      flash(fill(T.err_key_items, { n: coverage().keyMissing.length }), "error");
      step = "3";
    }
    draft.step = step;
    for (const s of ["2", "3", "4"]) $(`#step-${s}`).hidden = s !== step;
    $$(".m-steps button").forEach((b) => {
      const n = b.dataset.goto;
      b.classList.toggle("current", n === step);
      b.classList.toggle("done", n === "home" || Number(n) < Number(step));
    });
    if (step === "3") renderSummary();
    if (step === "4") renderDecision();
    saveDraft();
    window.scrollTo(0, 0);
  }

  /* Items grouped by business line (in the order the server gave), key items first in each line. */
  function groups() {
    const order = [];
    const byLine = new Map();
    for (const item of prepared.items) {
      if (!byLine.has(item.business_line)) { byLine.set(item.business_line, []); order.push(item.business_line); }
      byLine.get(item.business_line).push(item);
    }
    return order.map((line) => {
      const items = byLine.get(line);
      const sorted = items.filter((i) => i.key_item).concat(items.filter((i) => !i.key_item));
      return { line, items: sorted, tasks: prepared.tasks.filter((t) => t.business_line === line) };
    });
  }

  function renderInspection() {
    const e = prepared.entity;
    $("#i-name").textContent = e.name;
    $("#i-code").textContent = e.credit_code;
    $("#i-address").textContent = e.address || "";
    $("#i-rep").textContent = e.legal_rep || "";
    $("#i-tasks").replaceChildren(...prepared.tasks.map((t) => h("li", {},
      h("span", { class: "badge" }, lineLabel(t.business_line)), " ", t.title,
      h("span", { class: "muted" }, ` ${t.number}${t.due_on ? " · " + t.due_on : ""}`))));

    const box = $("#items");
    box.replaceChildren();
    for (const g of groups()) {
      const section = h("div", { class: "card m-line", "data-line": g.line },
        h("h3", {}, lineLabel(g.line), " ", h("span", { class: "m-progress muted" })));
      let lastSection = null;
      for (const item of g.items) {
        if (item.section && item.section !== lastSection) section.append(h("p", { class: "m-section", text: item.section }));
        lastSection = item.section;
        section.append(itemCard(item));
      }
      box.append(section);
    }
    updateProgress();
    renderAttachments();
  }

  function itemCard(item) {
    const state = draft.results[item.id] || {};
    const note = h("textarea", { class: "m-note", rows: 2, placeholder: T.note_placeholder, "aria-label": T.note },);
    note.value = state.note || "";
    note.hidden = state.result !== "problem";
    note.addEventListener("input", () => {
      draft.results[item.id].note = note.value;
      saveDraft();
    });
    const buttons = ["ok", "problem", "na"].map((r) => h("button", {
      type: "button", class: `m-result r-${r}`, "data-result": r, "aria-pressed": String(state.result === r),
      onclick: () => mark(item, r, card, note),
    }, T[r]));
    const card = h("div", { class: "m-item", "data-item": item.id },
      h("p", { class: "m-item-text" },
        h("span", { class: "m-no", text: item.number }), " ", item.text, " ",
        item.key_item ? h("span", { class: "badge bad", text: T.key_item }) : null),
      item.basis ? h("p", { class: "m-basis muted" }, `${T.basis}：${item.basis}`) : null,
      h("div", { class: "m-results" }, buttons),
      note);
    return card;
  }

  function mark(item, result, card, note) {
    const prev = draft.results[item.id] || {};
    draft.results[item.id] = { result, note: result === "problem" ? (prev.note || "") : "" };
    $$(".m-result", card).forEach((b) => b.setAttribute("aria-pressed", String(b.dataset.result === result)));
    note.hidden = result !== "problem";
    if (result !== "problem") note.value = "";
    else note.focus();
    updateProgress();
    card.classList.remove("key-missing");
    saveDraft();
  }

  function updateProgress() {
    for (const g of groups()) {
      const done = g.items.filter((i) => draft.results[i.id]).length;
      const el = $(`.m-line[data-line="${CSS.escape(g.line)}"] .m-progress`);
      if (el) el.textContent = `${done}/${g.items.length}`;
    }
  }

  // Attachments: photos (shrunk on the phone), voice, video, text; kept as Blobs in the draft.
  async function shrinkPhoto(file) {
    if (!/^image\/(jpeg|png|webp|heic|heif)/.test(file.type)) return file;
    try {
      const bitmap = await createImageBitmap(file);
      const scale = Math.min(1, CFG.max_photo_px / Math.max(bitmap.width, bitmap.height));
      if (scale === 1 && file.size < 600 * 1024) return file;
      const canvas = document.createElement("canvas");
      canvas.width = Math.round(bitmap.width * scale);
      canvas.height = Math.round(bitmap.height * scale);
      canvas.getContext("2d").drawImage(bitmap, 0, 0, canvas.width, canvas.height);
      const blob = await new Promise((resolve) => canvas.toBlob(resolve, "image/jpeg", 0.82));
      return blob || file;
    } catch (e) {
      return file;
    }
  }

  async function addFiles(input, kind) {
    const files = Array.from(input.files || []);
    input.value = "";
    for (const file of files) {
      const blob = kind === "photo" ? await shrinkPhoto(file) : file;
      let name = file.name || `${kind}-${draft.attachments.length + 1}`;
      if (blob !== file && blob.type === "image/jpeg") name = name.replace(/\.[^.]*$/, "") + ".jpg";
      draft.attachments.push({ client_id: uuid(), kind, name, content_type: blob.type || file.type || "application/octet-stream", blob });
    }
    await saveDraft(true).catch(() => flash(T.quota, "error"));
    renderAttachments();
  }

  function addText() {
    const text = $("#text-input").value.trim();
    if (!text) return;
    const n = draft.attachments.filter((a) => a.kind === "text").length + 1;
    draft.attachments.push({ client_id: uuid(), kind: "text", name: `${T.text}${n}.txt`, content_type: "text/plain", text });
    $("#text-input").value = "";
    $("#text-box").hidden = true;
    saveDraft(true);
    renderAttachments();
  }

  const thumbs = [];
  function renderAttachments() {
    thumbs.splice(0).forEach((u) => URL.revokeObjectURL(u));
    $("#attachments").replaceChildren(...draft.attachments.map((a) => {
      let preview;
      if (a.kind === "photo" && a.blob) {
        const url = URL.createObjectURL(a.blob);
        thumbs.push(url);
        preview = h("img", { src: url, alt: a.name });
      } else {
        preview = h("span", { class: "badge", text: T[a.kind] || a.kind });
      }
      return h("li", { "data-attachment": a.kind }, preview,
        h("span", { class: "m-attach-name", text: a.kind === "text" ? a.text : a.name }),
        h("button", { type: "button", class: "btn secondary", onclick: () => {
          draft.attachments = draft.attachments.filter((x) => x.client_id !== a.client_id);
          saveDraft(true);
          renderAttachments();
        } }, T.remove_attachment));
    }));
  }

  /* The lines the visit covers: its tasks' lines that the checklist has, else the lines answered
     (the server decides the same way). Their key items must be answered; the rest left open are
     recorded as 未检查. */
  function coverage() {
    const itemLines = new Set(prepared.items.map((i) => i.business_line));
    let lines = new Set(prepared.tasks.map((t) => t.business_line).filter((l) => itemLines.has(l)));
    if (!lines.size) lines = new Set(prepared.items.filter((i) => draft.results[i.id]).map((i) => i.business_line));
    const open = prepared.items.filter((i) => lines.has(i.business_line) && !draft.results[i.id]);
    return { lines, unchecked: open, keyMissing: open.filter((i) => i.key_item) };
  }

  function renderKeyMissing() {
    const { unchecked, keyMissing } = coverage();
    $("#unchecked-note").textContent = fill(T.unchecked_recorded, { n: unchecked.length - keyMissing.length });
    $("#key-missing").hidden = !keyMissing.length;
    $("#key-missing-list").replaceChildren(...keyMissing.map((i) => h("li", { "data-key-missing": i.id },
      h("a", { href: "#", onclick: (ev) => { ev.preventDefault(); showItem(i.id); } }, `${lineLabel(i.business_line)} ${i.number} ${i.text}`))));
    $$(".m-item").forEach((el) => el.classList.toggle("key-missing", keyMissing.some((i) => String(i.id) === el.dataset.item)));
    return keyMissing;
  }

  function showItem(id) {
    goto("2");
    const el = $(`.m-item[data-item="${id}"]`);
    if (el) el.scrollIntoView({ block: "center" });
  }

  // Step 3: the result.
  function tally() {
    const counts = { ok: 0, problem: 0, na: 0, unchecked: 0 };
    const problems = [];
    for (const item of prepared.items) {
      const r = draft.results[item.id];
      if (!r) { counts.unchecked += 1; continue; }
      counts[r.result] += 1;
      if (r.result === "problem") problems.push({ item, note: r.note || "" });
    }
    return { counts, problems };
  }

  function renderSummary() {
    const { counts, problems } = tally();
    $("#counts").replaceChildren(...["ok", "problem", "na", "unchecked"].map((k) =>
      h("div", { class: `m-count c-${k}`, "data-count": k }, h("b", { text: String(counts[k]) }), h("span", { text: T[k] }))));
    $("#problems").replaceChildren(...(problems.length ? problems.map((p) =>
      h("li", {}, h("span", { text: `${p.item.number} ${p.item.text}` }), p.note ? h("div", { class: "muted", text: p.note }) : null))
      : [h("li", { class: "muted", text: T.no_problems })]));
    $("#attach-count").textContent = `${T.attachments}：${draft.attachments.length}`;
    renderKeyMissing();
  }

  // Step 4: the decision, the officers and the signatures.
  function suggestedOpinion() {
    const { problems } = tally();
    if (draft.conclusion === "pass" || !problems.length) return T.opinion_pass;
    const lines = problems.map((p, i) => `${i + 1}. ${p.item.text.replace(/[。；;.\s]+$/, "")}${p.note ? "：" + p.note : "。"}`);
    const tail = draft.conclusion === "case" ? T.opinion_case
      : T.opinion_correct.replace("%(days)s", String(draft.correction_days || ""));
    return [T.opinion_problems, ...lines, tail].join("\n");
  }

  function renderDecision() {
    if (!draft.conclusion) draft.conclusion = tally().problems.length ? "correct" : "pass";
    $$("#conclusion input").forEach((r) => { r.checked = r.value === draft.conclusion; });
    $("#days-row").hidden = draft.conclusion !== "correct";
    $("#correction-days").value = draft.correction_days || "";
    if (!draft.opinion_edited) draft.opinion = suggestedOpinion();
    $("#opinion").value = draft.opinion;

    $("#officer-1").textContent = `${CFG.user.name}（${CFG.user.cert_no || "—"}）`;
    const select = $("#officer-2");
    select.replaceChildren(h("option", { value: "" }, T.choose_officer),
      ...prepared.officers.filter((o) => String(o.id) !== String(CFG.user.id))
        .map((o) => h("option", { value: String(o.id) }, `${o.name}（${o.cert_no || "—"}）`)));
    select.value = draft.officer2 || "";
    signLabels();

    $("#rep-name").value = draft.rep_name;
    $("#refused").checked = draft.refused;
    $("#refusal").hidden = !draft.refused;
    $('.m-sign[data-signer="representative"]').hidden = draft.refused;
    $("#refusal-reason").value = draft.refusal_reason;
    $("#refusal-witness").value = draft.refusal_witness;
    $("#submit-errors").replaceChildren();
    requestAnimationFrame(() => {
      for (const [who, pad] of Object.entries(pads)) pad.show(draft.signatures[who]);
    });
  }

  function signLabels() {
    const second = prepared.officers.find((o) => String(o.id) === String(draft.officer2));
    $("#sign-label-1").textContent = `${T.sign_here}：${CFG.user.name}`;
    $("#sign-label-2").textContent = `${T.sign_here}：${second ? second.name : "—"}`;
  }

  function setupDecision() {
    $$("#conclusion input").forEach((r) => r.addEventListener("change", () => {
      draft.conclusion = r.value;
      $("#days-row").hidden = draft.conclusion !== "correct";
      if (!draft.opinion_edited) { draft.opinion = suggestedOpinion(); $("#opinion").value = draft.opinion; }
      saveDraft();
    }));
    $("#correction-days").addEventListener("input", (e) => {
      draft.correction_days = parseInt(e.target.value, 10) || null;
      if (!draft.opinion_edited) { draft.opinion = suggestedOpinion(); $("#opinion").value = draft.opinion; }
      saveDraft();
    });
    $("#opinion").addEventListener("input", (e) => { draft.opinion = e.target.value; draft.opinion_edited = true; saveDraft(); });
    $("#officer-2").addEventListener("change", (e) => {
      if (draft.officer2 !== e.target.value) {
        draft.signatures.officer2 = null;  // a signature belongs to the officer who drew it
        pads.officer2.clear();
      }
      draft.officer2 = e.target.value;
      signLabels();
      saveDraft();
    });
    $("#rep-name").addEventListener("input", (e) => { draft.rep_name = e.target.value; saveDraft(); });
    $("#refused").addEventListener("change", (e) => {
      draft.refused = e.target.checked;
      $("#refusal").hidden = !draft.refused;
      $('.m-sign[data-signer="representative"]').hidden = draft.refused;
      saveDraft();
    });
    $("#refusal-reason").addEventListener("input", (e) => { draft.refusal_reason = e.target.value; saveDraft(); });
    $("#refusal-witness").addEventListener("input", (e) => { draft.refusal_witness = e.target.value; saveDraft(); });
    for (const box of $$(".m-sign")) {
      const who = box.dataset.signer;
      pads[who] = window.zjSignature($("canvas", box), (dataUrl) => {
        if (!draft) return;
        draft.signatures[who] = dataUrl;
        saveDraft();
      });
      $("[data-clear]", box).addEventListener("click", () => pads[who].clear());
    }
    $("#submit").addEventListener("click", submit);
  }

  function validate() {
    const errors = [];
    const { counts, problems } = tally();
    // The daily checklists are long (a food shop has 54 items): unchecked items are allowed and shown.
    if (counts.unchecked === prepared.items.length) errors.push(T.err_no_results);
    const keyMissing = coverage().keyMissing.length;
    if (keyMissing) errors.push(fill(T.err_key_items, { n: keyMissing }));
    if (problems.some((p) => !p.note.trim())) errors.push(T.err_note);
    if (!draft.conclusion) errors.push(T.err_conclusion);
    if (draft.conclusion === "correct" && !(draft.correction_days > 0)) errors.push(T.err_days);
    if (!draft.opinion.trim()) errors.push(T.err_opinion);
    if (!draft.officer2) errors.push(T.err_officer);
    if (!draft.signatures.officer1 || !draft.signatures.officer2) errors.push(T.err_officer_sign);
    if (draft.refused) {
      if (!draft.refusal_reason.trim() || !draft.refusal_witness.trim()) errors.push(T.err_refusal);
    } else if (!draft.signatures.representative || !draft.rep_name.trim()) {
      errors.push(T.err_rep_sign);
    }
    return errors;
  }

  function blobBase64(blob) {
    return new Promise((resolve, reject) => {
      const reader = new FileReader();
      reader.onload = () => resolve(String(reader.result).split(",", 2)[1] || "");
      reader.onerror = () => reject(reader.error);
      reader.readAsDataURL(blob);
    });
  }

  async function buildPayload() {
    const attachments = [];
    for (const a of draft.attachments) {
      const blob = a.kind === "text" ? new Blob([a.text], { type: "text/plain;charset=utf-8" }) : a.blob;
      attachments.push({ client_id: a.client_id, kind: a.kind, name: a.name, content_type: a.content_type, data_base64: await blobBase64(blob) });
    }
    const officers = {};
    officers[String(CFG.user.id)] = draft.signatures.officer1;
    officers[String(draft.officer2)] = draft.signatures.officer2;
    const representative = draft.refused
      ? { refused: true, reason: draft.refusal_reason.trim(), witness: draft.refusal_witness.trim() }
      : { name: draft.rep_name.trim(), image: draft.signatures.representative };
    return {
      client_key: draft.client_key,
      entity: draft.entity,
      task_ids: prepared.tasks.map((t) => t.id),
      officer_ids: [CFG.user.id, Number(draft.officer2)],
      started_at: draft.started_at,
      finished_at: new Date().toISOString(),
      lng: draft.lng,
      lat: draft.lat,
      checklist_version: prepared.checklist_version,
      results: prepared.items.filter((i) => draft.results[i.id]).map((i) => ({
        item_id: i.id, result: draft.results[i.id].result, note: (draft.results[i.id].note || "").trim(),
      })),
      conclusion: draft.conclusion,
      correction_days: draft.conclusion === "correct" ? draft.correction_days : null,
      opinion: draft.opinion.trim(),
      attachments,
      signatures: { officers, representative },
    };
  }

  async function submit() {
    const errors = validate();
    $("#submit-errors").replaceChildren(...errors.map((e) => h("li", { class: "error", text: e })));
    if (errors.length) return;
    const button = $("#submit");
    button.disabled = true;
    try {
      const payload = await buildPayload();
      const size = new Blob([JSON.stringify(payload)]).size;
      if (size > CFG.max_record_bytes) {
        // The server would refuse it (413) and it could never upload: say so now, on site.
        const mb = (n) => (n / 1048576).toFixed(1);
        $("#submit-errors").replaceChildren(h("li", { class: "error", text: T.err_too_big.replace("%(size)s", mb(size)).replace("%(limit)s", mb(CFG.max_record_bytes)) }));
        return;
      }
      const record = {
        client_key: draft.client_key, entity_name: prepared.entity.name, created_at: new Date().toISOString(),
        state: "queued", attempts: 0, next_try: 0, error: "", result: null, payload,
      };
      clearTimeout(saveTimer);
      await store.submit(record);
      draft = null;
      prepared = null;
      $("#inspect").hidden = true;
      $("#home").hidden = false;
      await Promise.all([renderPrepared(), renderOutbox()]);
      window.scrollTo(0, 0);
      if (!navigator.onLine) {
        flash(T.saved_offline, "ok");
      } else {
        flash(T.submitted, "ok");
        await syncOutbox(true);
        let sent = await store.get("outbox", record.client_key);
        if (sent && sent.state === "queued" && !sent.attempts) {
          // A pass already running when it was submitted did not see it: one more.
          await syncOutbox(true);
          sent = await store.get("outbox", record.client_key);
        }
        // Say what happened: uploaded, refused, or kept on the phone until the network is back.
        if (sent && sent.state === "synced") flash(uploadedText(sent), "ok");
        else if (sent && (sent.state === "rejected" || sent.state === "auth")) flash(sent.error, "error");
        else flash(T.saved_offline, "ok");
      }
    } catch (e) {
      flash(T.quota, "error");
    } finally {
      button.disabled = false;
    }
  }

  // --- the outbox and the sync loop ----------------------------------------------------------------

  async function renderOutbox() {
    const records = (await store.all("outbox")).sort((a, b) => (a.created_at < b.created_at ? 1 : -1));
    const list = $("#outbox");
    list.replaceChildren();
    if (!records.length) list.append(h("li", { class: "muted", text: T.outbox_empty }));
    for (const r of records) {
      const li = h("li", { class: `m-row m-out s-${r.state}`, "data-key": r.client_key, "data-state": r.state },
        h("div", { class: "m-row-main" },
          h("b", { text: r.entity_name }),
          h("span", { class: "muted", text: when(r.created_at) }),
          h("span", { class: `badge state ${r.state === "synced" ? "ok" : r.state === "queued" || r.state === "sending" ? "warn" : "bad"}`, text: T[r.state] || r.state })));
      const main = $(".m-row-main", li);
      if (r.state === "synced" && r.result) {
        main.append(h("span", { class: "m-number" }, `${T.number}：`, h("b", { "data-number": "", text: r.result.number || "" })));
        const links = h("div", { class: "m-links" });
        const pdf = r.result.pdf_urls || {};
        if (pdf.record) links.append(h("a", { class: "btn secondary", href: pdf.record, target: "_blank", rel: "noopener", "data-pdf": "record" }, T.record_pdf));
        if (pdf.correction) links.append(h("a", { class: "btn secondary", href: pdf.correction, target: "_blank", rel: "noopener", "data-pdf": "correction" }, T.correction_pdf));
        if (r.result.public_url) links.append(h("a", { class: "btn secondary", href: r.result.public_url, target: "_blank", rel: "noopener" }, T.public_qr));
        main.append(links);
        if (r.result.unchecked) main.append(h("span", { class: "muted", "data-unchecked": r.result.unchecked }, fill(T.unchecked_count, { n: r.result.unchecked })));
        if ((r.result.tasks || []).length) {
          main.append(h("ul", { class: "m-moved", "aria-label": T.tasks_moved }, r.result.tasks.map((t) => h("li", { "data-moved-task": t.id, "data-state": t.state },
            `${t.title} `, h("span", { class: `badge ${t.state === "review" || t.state === "approved" || t.state === "archived" ? "ok" : ""}`, text: t.state_label }),
            t.note ? h("span", { class: "muted" }, ` ${t.note}`) : null))));
        }
      } else if (r.error) {
        main.append(h("span", { class: "m-error", text: r.error }));
      }
      if (r.state === "rejected") {
        li.append(h("button", { class: "btn", type: "button", onclick: () => requeue(r.client_key) }, T.retry));
      } else if (r.state === "auth") {
        li.append(h("a", { class: "btn", href: CFG.login }, T.login_again));
      }
      list.append(li);
    }
  }

  async function requeue(key) {
    const r = await store.get("outbox", key);
    if (!r) return;
    Object.assign(r, { state: "queued", next_try: 0, error: "" });
    await store.put("outbox", r);
    await renderOutbox();
    syncOutbox();
  }

  function backoff(attempts) {
    return Date.now() + 1000 * RETRY_SECONDS[Math.min(attempts - 1, RETRY_SECONDS.length - 1)];
  }

  /* Post one record. 201/200: synced. 401/403 (session ended, second factor, CSRF): needs a new login,
     kept and retried. Other 4xx: the server refused it; kept with its message until retried by hand.
     Network errors and 5xx: retried later with backoff. */
  async function sendOne(record) {
    record.state = "sending";
    record.attempts += 1;
    await store.put("outbox", record);
    let result;
    try {
      result = await api(CFG.sync, {
        method: "POST",
        headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken() },
        body: JSON.stringify(record.payload),
      });
    } catch (e) {
      Object.assign(record, { state: "queued", error: T.retry_later, next_try: backoff(record.attempts) });
      await store.put("outbox", record);
      return;
    }
    if (result.status === 200 || result.status === 201) {
      for (const a of record.payload.attachments) a.data_base64 = "";  // the server has them; free the phone
      Object.assign(record, { state: "synced", error: "", result: result.body, synced_at: new Date().toISOString() });
      uploadedNow.push(record);
    } else if (result.status === 401 || result.status === 403) {
      Object.assign(record, { state: "auth", error: errorText(result), next_try: backoff(record.attempts) });
    } else if (result.status >= 400 && result.status < 500) {
      Object.assign(record, { state: "rejected", error: errorText(result) });
    } else {
      Object.assign(record, { state: "queued", error: errorText(result), next_try: backoff(record.attempts) });
    }
    await store.put("outbox", record);
  }

  function uploadedText(record) {
    return `${T.uploaded}：${record.entity_name}${record.result && record.result.number ? " " + record.result.number : ""}`;
  }

  let uploadedNow = [];  // records this pass uploaded (for the flash and "my work")
  let syncing = null;
  function syncOutbox(force) {
    if (!syncing) syncing = syncPass(force).finally(() => { syncing = null; });
    return syncing;
  }

  async function syncPass(force) {
    uploadedNow = [];
    try {
      const records = await store.all("outbox");
      for (const r of records) {
        if (!navigator.onLine) break;
        const due = force || !r.next_try || r.next_try <= Date.now();
        if ((r.state === "queued" || r.state === "auth" || r.state === "sending") && due) await sendOne(r);
      }
      const synced = records.filter((r) => r.state === "synced").sort((a, b) => (a.synced_at < b.synced_at ? 1 : -1));
      for (const old of synced.slice(SYNCED_KEEP)) await store.remove("outbox", old.client_key);
    } finally {
      await renderOutbox();
      if (uploadedNow.length) {
        flash(uploadedNow.map(uploadedText).join("；"), "ok");
        loadWork();  // the tasks it covered have moved on
      }
    }
  }

  // --- start --------------------------------------------------------------------------------------

  function start() {
    showNet();
    window.addEventListener("online", () => { showNet(); syncOutbox(true); loadWork(); });
    window.addEventListener("offline", showNet);
    $("#search-form").addEventListener("submit", (e) => { e.preventDefault(); search($("#q").value); });
    setupScanner();
    $("#sync-now").addEventListener("click", () => syncOutbox(true));
    $("#work-near").addEventListener("click", askPosition);
    // /m/?lng=…&lat=… gives the position; otherwise the phone's own, when it allows it.
    const params = new URLSearchParams(window.location.search);
    const lng = parseFloat(params.get("lng")), lat = parseFloat(params.get("lat"));
    if (Number.isFinite(lng) && Number.isFinite(lat)) position = { lng, lat };
    loadWork().then(() => { if (!position && navigator.onLine) askPosition(); });
    $$("[data-goto]").forEach((b) => b.addEventListener("click", () => goto(b.dataset.goto)));
    $("#add-photo").addEventListener("change", (e) => addFiles(e.target, "photo"));
    $("#add-voice").addEventListener("change", (e) => addFiles(e.target, "voice"));
    $("#add-video").addEventListener("change", (e) => addFiles(e.target, "video"));
    $("#add-text").addEventListener("click", () => { $("#text-box").hidden = false; $("#text-input").focus(); });
    $("#text-save").addEventListener("click", addText);
    setupDecision();
    if (navigator.storage && navigator.storage.persist) navigator.storage.persist().catch(() => {});
    Promise.all([renderPrepared(), renderOutbox()]).then(() => {
      document.documentElement.dataset.ready = "1";
      syncOutbox();
    });
    // A link from a task page (/m/?entity=<credit code>) lands on that entity, ready to prepare.
    const linked = new URLSearchParams(window.location.search).get("entity");
    if (linked && CREDIT_CODE.test(linked.toUpperCase())) {
      $("#q").value = linked.toUpperCase();
      search(linked.toUpperCase());
    }
    setInterval(() => { if (navigator.onLine) syncOutbox(); }, 5000);
    registerWorker();
  }

  start();
})();
