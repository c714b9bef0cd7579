// veille's outbox (decision 90): what a phone records goes into IndexedDB
// first, online or not — one code path — then is sent to /api/v1/sync/ops
// in batches. An operation leaves the outbox only on a final reply
// (applied, duplicate, conflict); a refusal stays, with its reason, until a
// person acknowledges it on "Mes envois" (/sync/outbox); a held one (a gap
// in the device's numbers) and one met by a network error or a 5xx are sent
// again later (backoff, the `online` event, every page load).
//
// IndexedDB "veille-outbox-<account id>", one per account on the phone (a
// team's shared phone: one account's sendings are never sent under another's
// session, and a session that expired leaves its outbox waiting for that
// account's next login), schema_version 1 (the database's version; an
// upgrade adds to what is there and never drops a queued operation):
//   meta  {key: "device", id, next_seq, registered}  — the device (UUID v7
//         made here), its next sequence number (persisted, never goes back;
//         on registering, continues after the server's highest_seq)
//   meta  {key: "schema_version", value}
//   ops   {op_id, seq, kind, op, state: pending|held|rejected, reason,
//          missing, written_at, tries}
//   meta  {key: "last_failure", at, status, next}  — the last try that met
//         a network error or a 5xx (status 0: not reached), shown on "Mes
//         envois" until a try goes through
//   told  {op_id, kind, field, written_at}  — conflicts to tell the person
// schema_version 2 adds:
//   blobs {sha256, bytes, type, uploaded}  — a logbook entry's attachment (a
//         photo re-encoded here without its metadata, at most 1600 px, or a
//         PDF as it is), uploaded by its hash before the entry is sent, dropped
//         with the entry's final reply
(() => {
  "use strict";
  const PREFIX = "veille-outbox-";
  const SCHEMA_VERSION = 2;
  const BATCH = 200;
  const account = document.body && document.body.dataset.signed === "1" ? document.body.dataset.account : "";
  if (!account || !window.indexedDB) return;
  const DB_NAME = PREFIX + account;

  // ---------------------------------------------------------------- the database

  function open() {
    return new Promise((resolve, reject) => {
      const req = indexedDB.open(DB_NAME, SCHEMA_VERSION);
      req.onupgradeneeded = (event) => {
        const db = req.result;
        const tx = req.transaction;
        // From nothing to 1. A later version adds its steps after this one
        // (`if (event.oldVersion < 2) …`), keeping what is queued.
        if (event.oldVersion < 1) {
          db.createObjectStore("meta", { keyPath: "key" });
          const ops = db.createObjectStore("ops", { keyPath: "op_id" });
          ops.createIndex("seq", "seq", { unique: true });
          db.createObjectStore("told", { keyPath: "op_id" });
        }
        if (event.oldVersion < 2) db.createObjectStore("blobs", { keyPath: "sha256" });
        tx.objectStore("meta").put({ key: "schema_version", value: SCHEMA_VERSION });
      };
      req.onsuccess = () => {
        const db = req.result;
        // Another tab opened a newer schema: let it upgrade.
        db.onversionchange = () => db.close();
        resolve(db);
      };
      req.onerror = () => reject(req.error);
      req.onblocked = () => reject(new Error("blocked"));
    });
  }

  let dbPromise = null;
  /** Set once this page wiped the outbox: nothing opens (and so re-creates) it again here. */
  let wiped = false;
  const db = () => (wiped ? Promise.reject(new Error("wiped")) : (dbPromise ||= open().catch((e) => { dbPromise = null; throw e; })));

  function run(stores, mode, body) {
    return db().then(
      (d) =>
        new Promise((resolve, reject) => {
          const tx = d.transaction(stores, mode);
          let result;
          Promise.resolve(body(tx)).then(
            (r) => { result = r; },
            (e) => { try { tx.abort(); } catch (_) { /* done */ } reject(e); },
          );
          tx.oncomplete = () => resolve(result);
          tx.onerror = () => reject(tx.error);
          tx.onabort = () => reject(tx.error || new Error("aborted"));
        }),
    );
  }
  const req = (r) => new Promise((resolve, reject) => { r.onsuccess = () => resolve(r.result); r.onerror = () => reject(r.error); });

  // ---------------------------------------------------------------- ids

  const hex = (buf) => [...new Uint8Array(buf)].map((x) => x.toString(16).padStart(2, "0")).join("");

  /** A UUID v7: 48 bits of milliseconds, then random bits (RFC 9562). */
  function uuidv7() {
    const b = new Uint8Array(16);
    crypto.getRandomValues(b);
    let ms = Date.now();
    for (let i = 5; i >= 0; i--) { b[i] = ms % 256; ms = Math.floor(ms / 256); }
    b[6] = (b[6] & 0x0f) | 0x70;
    b[8] = (b[8] & 0x3f) | 0x80;
    const h = hex(b);
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
  }

  /** The device, made on first use (in the same transaction as what asks for it). */
  async function deviceIn(tx) {
    const meta = tx.objectStore("meta");
    let d = await req(meta.get("device"));
    if (!d) {
      d = { key: "device", id: uuidv7(), next_seq: 1, registered: false };
      meta.put(d);
    }
    return d;
  }

  // ---------------------------------------------------------------- queueing

  /**
   * Puts an operation in the outbox: a new op_id and the device's next
   * sequence number, taken in one transaction (a number is never given twice).
   */
  function enqueue(kind, fields, blob) {
    return run(["meta", "ops", "blobs"], "readwrite", async (tx) => {
      if (blob) tx.objectStore("blobs").put({ ...blob, uploaded: false });
      const d = await deviceIn(tx);
      const seq = d.next_seq;
      d.next_seq = seq + 1;
      tx.objectStore("meta").put(d);
      const op_id = uuidv7();
      const op = { op_id, seq, kind, ...fields };
      tx.objectStore("ops").add({ op_id, seq, kind, op, state: "pending", reason: "", missing: [], written_at: new Date().toISOString(), tries: 0 });
      return op;
    });
  }

  const all = (store) => run([store], "readonly", (tx) => req(tx.objectStore(store).getAll()));

  // ---------------------------------------------------------------- sending

  let sending = null;
  let backoff = 0;
  let timer = null;

  function schedule(ms) {
    clearTimeout(timer);
    timer = setTimeout(() => send(), ms);
  }

  async function register() {
    const d = await run(["meta"], "readwrite", (tx) => deviceIn(tx));
    const r = await fetch("/api/v1/sync/devices", {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify({ device_id: d.id }),
    });
    if (!r.ok) throw Object.assign(new Error(String(r.status)), { status: r.status });
    const view = await r.json();
    if (view.revoked) {
      await wipe();
      const note = document.getElementById("outbox-revoked");
      if (note) note.hidden = false;
      return null;
    }
    return run(["meta"], "readwrite", async (tx) => {
      const cur = await deviceIn(tx);
      cur.next_seq = Math.max(cur.next_seq, Number(view.highest_seq) + 1);
      cur.registered = true;
      tx.objectStore("meta").put(cur);
      return cur;
    });
  }

  /** Sends what waits, batch after batch, until nothing moves. */
  function send() {
    if (sending) return sending;
    sending = (async () => {
      try {
        let d = await run(["meta"], "readonly", (tx) => req(tx.objectStore("meta").get("device")));
        for (;;) {
          const waiting = (await all("ops")).filter((o) => o.state === "pending" || o.state === "held").sort((a, b) => a.seq - b.seq);
          if (waiting.length === 0) break;
          if (!d || !d.registered) {
            d = await register();
            if (!d) return;
          }
          const batch = waiting.slice(0, BATCH);
          if (await upload(batch)) {
            // An attachment refused its entry: send the batch without it.
            await changed();
            continue;
          }
          const r = await fetch("/api/v1/sync/ops", {
            method: "POST",
            credentials: "same-origin",
            headers: { "Content-Type": "application/json", Accept: "application/json" },
            body: JSON.stringify({ device_id: d.id, ops: batch.map((o) => o.op) }),
          });
          if (!r.ok) throw Object.assign(new Error(String(r.status)), { status: r.status });
          const { replies } = await r.json();
          const byId = new Map(replies.map((x) => [x.op_id, x]));
          let moved = false;
          await run(["ops", "told", "blobs"], "readwrite", (tx) => {
            const ops = tx.objectStore("ops");
            const blobs = tx.objectStore("blobs");
            for (const o of batch) {
              const reply = byId.get(o.op_id);
              if (!reply) continue;
              const attached = o.op.attachment && o.op.attachment.sha256;
              if (reply.state === "missing_attachment") {
                // Not recorded: upload again (the server lost it, or it was
                // dropped as unused) and send the entry again.
                for (const sha256 of reply.blobs || []) {
                  req(blobs.get(sha256)).then((b) => b && blobs.put({ ...b, uploaded: false }));
                }
                continue;
              }
              if (attached && reply.state !== "held") blobs.delete(attached);
              if (reply.state === "applied" || reply.state === "duplicate" || reply.state === "conflict") {
                ops.delete(o.op_id);
                moved = true;
                if (reply.state === "conflict") {
                  tx.objectStore("told").put({ op_id: o.op_id, kind: o.kind, entity: o.op.set?.entity || "", field: o.op.set?.field || "", written_at: o.written_at });
                }
              } else if (reply.state === "rejected") {
                ops.put({ ...o, state: "rejected", reason: reply.reason || "" });
                moved = true;
              } else if (reply.state === "held") {
                ops.put({ ...o, state: "held", missing: reply.missing || [], tries: o.tries + 1 });
              }
            }
          });
          await changed();
          if (!moved) {
            // Only held operations: they wait for others, sent from a
            // lost outbox or still to come; try again later.
            throw Object.assign(new Error("held"), { status: 0 });
          }
        }
        backoff = 0;
        await run(["meta"], "readwrite", (tx) => tx.objectStore("meta").delete("last_failure"));
        await changed();
      } catch (e) {
        // 401/403: signed out or the account may not send; try on a later page.
        // Wiped (logout, revoked): nothing left to send from this page.
        if (wiped || (e && (e.status === 401 || e.status === 403))) return;
        backoff = Math.min(backoff ? backoff * 2 : 2000, 60000);
        schedule(backoff);
        // A network error or a 5xx (not a held operation, which waits for
        // others): the person reads when it failed and that nothing is lost.
        if (!(e && e.message === "held")) {
          const failure = { key: "last_failure", at: new Date().toISOString(), status: (e && e.status) || 0, next: new Date(Date.now() + backoff).toISOString() };
          await run(["meta"], "readwrite", (tx) => tx.objectStore("meta").put(failure)).catch(() => null);
          await changed();
        }
      } finally {
        sending = null;
      }
    })();
    return sending;
  }

  /**
   * Uploads the attachments a batch names and the server has not taken yet
   * (`PUT /api/v1/blobs/{sha256}`; sent again: 200). A file the server
   * refuses (too large, not a photo nor a PDF) refuses its entry here:
   * answers whether one was refused.
   */
  async function upload(batch) {
    let refused = false;
    for (const o of batch) {
      const sha256 = o.op.attachment && o.op.attachment.sha256;
      if (!sha256) continue;
      const blob = await run(["blobs"], "readonly", (tx) => req(tx.objectStore("blobs").get(sha256)));
      if (!blob || blob.uploaded) continue;
      const r = await fetch(`/api/v1/blobs/${sha256}`, {
        method: "PUT",
        credentials: "same-origin",
        headers: { "Content-Type": blob.type || "application/octet-stream", Accept: "application/json" },
        body: blob.bytes,
      });
      if (r.status === 422) {
        await run(["ops", "blobs"], "readwrite", (tx) => {
          tx.objectStore("ops").put({ ...o, state: "rejected", reason: "attachment" });
          tx.objectStore("blobs").delete(sha256);
        });
        refused = true;
        continue;
      }
      if (!r.ok) throw Object.assign(new Error(String(r.status)), { status: r.status });
      await run(["blobs"], "readwrite", (tx) => tx.objectStore("blobs").put({ ...blob, uploaded: true }));
    }
    return refused;
  }

  // ---------------------------------------------------------------- wiping

  /** Empties the outbox and the pages kept (logout, revoked device). */
  async function wipe() {
    clearTimeout(timer);
    wiped = true;
    try {
      const d = await dbPromise;
      d && d.close();
    } catch (_) {
      /* not open */
    }
    dbPromise = null;
    await new Promise((resolve) => {
      const r = indexedDB.deleteDatabase(DB_NAME);
      r.onsuccess = r.onerror = r.onblocked = () => resolve();
    });
    if (window.caches) {
      const keys = await caches.keys();
      await Promise.all(keys.filter((k) => k.startsWith("veille-")).map((k) => caches.delete(k)));
    }
    await changed();
  }

  // ---------------------------------------------------------------- forms → operations

  const text = (fd, name) => String(fd.get(name) ?? "").trim();
  const orNull = (v) => (v === "" ? null : v);
  /** A number typed, a JSON number; text that is not one is sent as is (the server refuses it: kept, shown). */
  const num = (v) => (v === "" ? null : /^-?\d+([.,]\d+)?$/.test(v) ? Number(v.replace(",", ".")) : v);
  /** A local date-time of the form (the phone's clock), as RFC 3339; now when empty (the operation may be sent much later). */
  const when = (v) => {
    if (v === "") return new Date().toISOString();
    const t = new Date(v);
    return Number.isNaN(t.getTime()) ? v : t.toISOString();
  };

  function encounterOp(form) {
    const fd = new FormData(form);
    const people = fd.getAll("people").map(String);
    const encounter = {
      at: when(text(fd, "at")),
      lat: num(text(fd, "lat")),
      lon: num(text(fd, "lon")),
      place: text(fd, "place"),
      site_id: orNull(text(fd, "site_id")),
      round_id: orNull(text(fd, "round_id")),
      people,
      unidentified_count: num(text(fd, "unidentified")),
      actions: fd.getAll("actions").map(String),
      follow_up: fd.has("follow_up"),
      follow_up_note: text(fd, "follow_up_note"),
      notes: String(fd.get("notes") ?? ""),
    };
    if (form.querySelector("[name=care]")) encounter.care_notes = orNull(String(fd.get("care") ?? "").trim());
    const use = text(fd, "use_person");
    const pseudonym = text(fd, "new_pseudonym");
    if (use) people.push(use);
    else if (pseudonym) {
      const person = {
        pseudonym,
        age: num(text(fd, "new_age")),
        gender: orNull(text(fd, "new_gender")),
        duplicates_reviewed: fd.has("duplicates_reviewed"),
      };
      const told = ["consent_purpose", "consent_access", "consent_rights", "consent_identifying", "consent_sharing", "consent_interpreter"].some((n) => fd.has(n));
      if (told) {
        person.consent = {
          told_purpose: fd.has("consent_purpose"),
          told_access: fd.has("consent_access"),
          told_rights: fd.has("consent_rights"),
          agrees_identifying: fd.has("consent_identifying"),
          agrees_sharing: fd.has("consent_sharing"),
          language: text(fd, "consent_language"),
          interpreter: fd.has("consent_interpreter"),
          given_at: text(fd, "consent_given_at") ? when(text(fd, "consent_given_at")) : null,
        };
      }
      encounter.new_person = person;
    }
    return { encounter };
  }

  function observationOp(form) {
    const fd = new FormData(form);
    const observation = {
      observed_at: when(text(fd, "observed_at")),
      team_id: orNull(text(fd, "team_id")),
      round_id: orNull(text(fd, "round_id")),
      police_presence: fd.has("police_presence"),
      comment: String(fd.get("comment") ?? ""),
    };
    for (const input of form.querySelectorAll("fieldset input[inputmode=numeric]")) {
      const v = num(input.value.trim());
      if (v !== null) observation[input.name] = v;
    }
    for (const select of form.querySelectorAll("fieldset select, select[name=atmosphere]")) observation[select.name] = select.value;
    return { site_id: form.dataset.site, observation };
  }

  /**
   * A change of one field: the value the form states (a toggle's
   * `data-value`), the codes ticked (`data-many`: a set, merged as a union
   * on the server), or the text typed.
   */
  function setOp(form) {
    const fd = new FormData(form);
    const field = form.dataset.field;
    const value = form.dataset.value !== undefined ? form.dataset.value : form.dataset.many !== undefined ? fd.getAll(field).map(String) : text(fd, field);
    return {
      set: {
        entity: form.dataset.entity,
        id: form.dataset.id,
        field,
        value,
        base: { number: Number(form.dataset.baseNumber || "0"), by: form.dataset.baseBy || null },
      },
    };
  }

  /** The largest side of a photo kept on the phone, in pixels. */
  const PHOTO_MAX = 1600;

  /**
   * A photo drawn again at most PHOTO_MAX px as a JPEG: what the camera
   * wrote beside the picture (place, time, device) does not survive.
   */
  async function reencoded(file) {
    const bitmap = await createImageBitmap(file, { imageOrientation: "from-image" });
    const scale = Math.min(1, PHOTO_MAX / Math.max(bitmap.width, bitmap.height));
    const canvas = document.createElement("canvas");
    canvas.width = Math.max(1, Math.round(bitmap.width * scale));
    canvas.height = Math.max(1, Math.round(bitmap.height * scale));
    canvas.getContext("2d").drawImage(bitmap, 0, 0, canvas.width, canvas.height);
    bitmap.close && bitmap.close();
    const out = await new Promise((resolve, reject) => canvas.toBlob((b) => (b ? resolve(b) : reject(new Error("encode"))), "image/jpeg", 0.85));
    return { bytes: await out.arrayBuffer(), type: "image/jpeg" };
  }

  /** A logbook entry, and its attachment kept by its hash. */
  async function logEntryOp(form) {
    const fd = new FormData(form);
    const entry = {
      category: text(fd, "category"),
      body: String(fd.get("body") ?? ""),
      at: text(fd, "at"),
      for_team_id: text(fd, "for_team_id"),
      mention: fd.getAll("mention").map(String),
    };
    const fields = { book_kind: form.dataset.bookKind, book_id: form.dataset.bookId, entry, attachment: null };
    const file = fd.get("attachment");
    if (!(file instanceof File) || file.size === 0) return { fields };
    const photo = file.type.startsWith("image/");
    const { bytes, type } = photo ? await reencoded(file) : { bytes: await file.arrayBuffer(), type: file.type || "application/pdf" };
    const sha256 = hex(await crypto.subtle.digest("SHA-256", bytes));
    const name = photo ? file.name.replace(/\.[^.]*$/, "") + ".jpg" : file.name;
    fields.attachment = { sha256, name };
    return { fields, blob: { sha256, bytes, type } };
  }

  const BUILD = {
    encounter: (form) => ({ fields: encounterOp(form) }),
    observation: (form) => ({ fields: observationOp(form) }),
    set: (form) => ({ fields: setOp(form) }),
    log_entry: logEntryOp,
  };

  /** Refusals about what was typed: online, the form itself shows them. */
  const FIX_ON_THE_FORM = ["invalid", "probable_duplicates"];

  /** How long the page waits for the answer before moving on (the op stays queued). */
  const WAIT_MS = 8000;

  document.addEventListener("submit", async (event) => {
    const form = event.target;
    if (!(form instanceof HTMLFormElement) || !form.dataset.outbox) return;
    const build = BUILD[form.dataset.outbox];
    if (!build) return;
    event.preventDefault();
    const button = form.querySelector("button[type=submit]");
    const status = form.querySelector(".outbox-status");
    if (button) button.disabled = true;
    let op;
    try {
      const { fields, blob } = await build(form);
      op = await enqueue(form.dataset.outbox, fields, blob);
    } catch (e) {
      // Not stored: the values typed stay in the form.
      if (status) { status.hidden = false; status.textContent = form.dataset.storeFailed || ""; }
      if (button) button.disabled = false;
      return;
    }
    await changed();
    let dest = form.dataset.done || "/sync/outbox";
    if (navigator.onLine) {
      await Promise.race([send(), new Promise((r) => setTimeout(r, WAIT_MS))]);
      const left = await run(["ops"], "readonly", (tx) => req(tx.objectStore("ops").get(op.op_id)));
      if (left && left.state === "rejected" && FIX_ON_THE_FORM.includes(left.reason) && form.getAttribute("action")) {
        // Refused for what was typed (nothing was written): the form is sent
        // as it is, so the server draws it again with a message next to each
        // field and what was typed kept; the refusal leaves the outbox.
        await run(["ops"], "readwrite", (tx) => req(tx.objectStore("ops").delete(op.op_id)));
        HTMLFormElement.prototype.submit.call(form);
        return;
      }
      // Refused for another reason: the person reads why on "Mes envois".
      if (left && left.state === "rejected") dest = "/sync/outbox";
    } else {
      schedule(1000);
    }
    window.location.assign(dest);
  });

  // ---------------------------------------------------------------- logout

  document.addEventListener("submit", async (event) => {
    const form = event.target;
    if (!(form instanceof HTMLFormElement) || !form.hasAttribute("data-wipe") || form.dataset.wiped) return;
    event.preventDefault();
    try {
      if (navigator.onLine) await Promise.race([send(), new Promise((r) => setTimeout(r, WAIT_MS))]);
      const left = (await all("ops")).filter((o) => o.state !== "rejected").length;
      if (left > 0 && !window.confirm((form.dataset.unsent || "").replace("%{count}", String(left)))) return;
      await wipe();
    } catch (_) {
      /* nothing stored */
    }
    form.dataset.wiped = "1";
    form.submit();
  });

  // ---------------------------------------------------------------- what the pages show

  async function changed() {
    let ops = [];
    let told = [];
    let failure = null;
    try {
      [ops, told, failure] = await Promise.all([all("ops"), all("told"), run(["meta"], "readonly", (tx) => req(tx.objectStore("meta").get("last_failure")))]);
    } catch (_) {
      /* wiped or unavailable */
    }
    const badge = document.getElementById("outbox-badge");
    if (badge) {
      const n = ops.length + told.length;
      badge.hidden = n === 0;
      const count = badge.querySelector(".count");
      if (count) count.textContent = String(n);
    }
    const page = document.getElementById("outbox");
    if (page) {
      draw(page, ops, told, failure);
      const others = document.getElementById("outbox-others");
      if (others) others.hidden = (await othersWaiting()) === 0;
    }
  }

  /**
   * Sendings of the other accounts of this phone still waiting (their
   * sessions ended without a logout): they leave at their next login here.
   */
  async function othersWaiting() {
    if (!indexedDB.databases) return 0;
    let n = 0;
    try {
      for (const { name } of await indexedDB.databases()) {
        if (!name || !name.startsWith(PREFIX) || name === DB_NAME) continue;
        n += await new Promise((resolve) => {
          const r = indexedDB.open(name);
          // Not an outbox after all (no stores yet): nothing waits; drop the empty shell.
          r.onupgradeneeded = () => { r.transaction.abort(); resolve(0); };
          r.onerror = () => resolve(0);
          r.onsuccess = () => {
            const d = r.result;
            if (!d.objectStoreNames.contains("ops")) { d.close(); return resolve(0); }
            const c = d.transaction("ops", "readonly").objectStore("ops").count();
            c.onsuccess = () => { d.close(); resolve(c.result); };
            c.onerror = () => { d.close(); resolve(0); };
          };
        });
      }
    } catch (_) {
      /* not available */
    }
    return n;
  }

  function draw(page, ops, told, failure) {
    const t = page.querySelector("#outbox-words").dataset;
    const fill = (s, v) => String(s || "").replace(/%\{(\w+)\}/g, (_, k) => String(v[k] ?? ""));
    const fmt = new Intl.DateTimeFormat(document.documentElement.lang || "fr", { dateStyle: "medium", timeStyle: "short" });
    const word = (attr, v) => page.querySelector(`#outbox-words [data-${attr}="${v}"]`)?.textContent || "";
    const kind = (k) => word("kind", k) || k;
    const item = (parts) => {
      const li = document.createElement("li");
      for (const p of parts) {
        if (typeof p === "string") li.append(p);
        else li.append(p);
      }
      return li;
    };
    const list = (id, rows) => {
      const ul = page.querySelector(`#${id}`);
      const none = page.querySelector(`#${id}-none`);
      ul.replaceChildren(...rows);
      ul.hidden = rows.length === 0;
      if (none) none.hidden = rows.length !== 0;
    };
    const ack = (op_id, store) => {
      const b = document.createElement("button");
      b.type = "button";
      b.className = "link";
      b.textContent = t.ack;
      b.addEventListener("click", async () => {
        await run([store], "readwrite", (tx) => tx.objectStore(store).delete(op_id));
        await changed();
        page.querySelector("h1")?.focus();
      });
      return b;
    };
    const waiting = ops.filter((o) => o.state !== "rejected").sort((a, b) => a.seq - b.seq);
    list(
      "outbox-waiting",
      waiting.map((o) => {
        const held = o.state === "held" && o.missing.length
          ? " · " + fill(t.held, { missing: o.missing.map(([a, b]) => (a === b ? a : `${a}–${b}`)).join(", ") })
          : "";
        return item([`${kind(o.kind)} · ${fmt.format(new Date(o.written_at))} · n° ${o.seq}${held}`]);
      }),
    );
    const refused = ops.filter((o) => o.state === "rejected").sort((a, b) => a.seq - b.seq);
    list(
      "outbox-refused",
      refused.map((o) => item([`${kind(o.kind)} · ${fmt.format(new Date(o.written_at))} — ${word("reason", o.reason) || word("reason", "other")} `, ack(o.op_id, "ops")])),
    );
    list(
      "outbox-conflicts",
      told.map((c) => item([`${kind(c.kind)} · ${fmt.format(new Date(c.written_at))} — ${t.conflict} `, ack(c.op_id, "told")])),
    );
    const summary = page.querySelector("#outbox-summary");
    if (summary) summary.textContent = waiting.length === 0 ? t.allSent : fill(t.waiting, { count: waiting.length });
    const failed = page.querySelector("#outbox-failure");
    if (failed) {
      const time = new Intl.DateTimeFormat(document.documentElement.lang || "fr", { timeStyle: "short" });
      failed.hidden = !(failure && waiting.length > 0);
      failed.textContent = failed.hidden
        ? ""
        : fill(failure.status ? t.failedServer : t.failedNetwork, { time: time.format(new Date(failure.at)), status: failure.status, next: time.format(new Date(failure.next)) });
    }
  }

  // ---------------------------------------------------------------- start

  if ("serviceWorker" in navigator) {
    navigator.serviceWorker.register("/sw.js", { scope: "/" }).catch(() => {});
  }
  // Storage that the browser does not erase under pressure; "Mes envois"
  // says whether it was granted and how to install veille (home screen).
  const persisted = navigator.storage && navigator.storage.persist
    ? navigator.storage.persisted().then((p) => p || navigator.storage.persist()).catch(() => false)
    : Promise.resolve(false);
  let installPrompt = null;
  window.addEventListener("beforeinstallprompt", (event) => {
    event.preventDefault();
    installPrompt = event;
    const button = document.getElementById("install-button");
    if (button) button.hidden = false;
  });
  function installGuide() {
    const section = document.getElementById("install");
    if (!section) return;
    const standalone = window.matchMedia("(display-mode: standalone)").matches || navigator.standalone === true;
    document.getElementById("install-installed").hidden = !standalone;
    document.getElementById("install-steps").hidden = standalone;
    const button = document.getElementById("install-button");
    button.addEventListener("click", async () => {
      if (!installPrompt) return;
      installPrompt.prompt();
      await installPrompt.userChoice.catch(() => null);
      installPrompt = null;
      button.hidden = true;
    });
    persisted.then((granted) => {
      const state = document.getElementById("install-storage");
      state.textContent = granted ? state.dataset.persisted : state.dataset.notPersisted;
      state.hidden = false;
    });
  }
  window.addEventListener("online", () => { backoff = 0; send(); });
  const start = () => {
    // Forms that exist only with this script (a change made offline, as an operation).
    for (const f of document.querySelectorAll("form[data-outbox][hidden]")) f.hidden = false;
    installGuide();
    changed();
    // A phone that holds a device asks, on each page, whether it was revoked
    // (lost, stolen): the answer `revoked` wipes the outbox and the pages kept.
    run(["meta"], "readonly", (tx) => req(tx.objectStore("meta").get("device")))
      .then((d) => (d && d.registered && navigator.onLine ? register() : null))
      .catch(() => null)
      .then(() => send());
  };
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();

  // For the browser tests and the console: read-only views (empty once
  // wiped) and a nudge.
  const orNone = (p, none) => p.catch((e) => { if (wiped) return none; throw e; });
  window.veilleOutbox = {
    send,
    pending: () => orNone(all("ops"), []),
    told: () => orNone(all("told"), []),
    blobs: () => orNone(all("blobs"), []),
    device: () => orNone(run(["meta"], "readonly", (tx) => req(tx.objectStore("meta").get("device"))).then((d) => d && d.id), undefined),
    schema: SCHEMA_VERSION,
  };
})();
