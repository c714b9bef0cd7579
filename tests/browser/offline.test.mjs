// Offline work on phones (issue 19, decision 90) in a real browser (headless
// Chromium), the network cut with Playwright's context.setOffline — not CDP
// network emulation, which the service worker does not see.
//
// Several phones (each a browser context: its own service worker, caches and
// IndexedDB outbox) open the pages of the round online, lose the network,
// record encounters and observations of a site and change the pseudonyms of
// the same people (the contested fields) through the pages' forms, then get
// the network back. Every operation must be on the server, each contested
// field must have one value applied and the others waiting as conflicts (the
// badge "conflit à résoudre" on the file, the coordinators' queue), and every
// outbox must be empty.
//
// Size: the 5 devices × 100 operations with 5 contested fields, on
// SQLite and on PostgreSQL (each took 167–204 s on the 2-core build machine);
// OFFLINE_TEST_DEVICES and OFFLINE_TEST_OPS change it.
//
// Faults: a 500 and a lost acknowledgement (the server committed, the phone
// never heard) on the way back, shown on "Mes envois" and sent again, each
// operation applied once; a server update while operations wait; a refusal
// kept until read. (Kill -9 mid-batch: crates/veille/tests/durability.rs.)
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';

import { checkOnPhone, launchBrowser, login, newPhonePage, REPO_ROOT, startServer } from './lib/harness.mjs';

const DEVICES = Number(process.env.OFFLINE_TEST_DEVICES || 5);
const OPS = Number(process.env.OFFLINE_TEST_OPS || 100);
const CONTESTED = 5;
const SITE = 'Campement du quai fictif (démo)';
const WORKER = 'terrain@demo.veille.invalid';
const PG = process.env.VEILLE_TEST_PG_URL || 'postgres://root@127.0.0.1:5432/test';

function psql(sql) {
  const admin = new URL(PG);
  execFileSync('psql', ['-h', admin.hostname, '-p', admin.port || '5432', '-U', admin.username, '-d', admin.pathname.slice(1), '-v', 'ON_ERROR_STOP=1', '-qc', sql]);
}

let browser;
before(async () => { browser = await launchBrowser(); });
after(async () => { await browser?.close(); });

/** The JSON of a GET of the API, with the page's session. */
const api = (page, path) => page.evaluate(async (p) => (await fetch(p, { headers: { Accept: 'application/json' } })).json(), path);

/** The id of the demo's camp site, read through the API with the page's session. */
async function demoSite(page) {
  const sites = await api(page, '/api/v1/sites');
  const site = (sites.sites || sites).find((s) => (s.name || s.site?.name) === SITE);
  assert.ok(site, 'the demo site');
  return site.id || site.site.id;
}

/** Waits for the page's service worker to control it. */
async function controlled(page) {
  await page.evaluate(() => navigator.serviceWorker.ready.then(() => true));
  // A page loaded while the worker was still activating is not claimed:
  // the next load is controlled.
  for (let i = 0; i < 3 && !(await page.evaluate(() => !!navigator.serviceWorker.controller)); i++) {
    await page.waitForTimeout(300);
    await page.reload();
  }
  assert.ok(await page.evaluate(() => !!navigator.serviceWorker.controller), 'the service worker controls the page');
}

/** The operations still in the page's outbox. */
const outbox = (page) => page.evaluate(async () => (await window.veilleOutbox.pending()).length);

/** Waits until the page's outbox is empty, failing with `message` after `ms`. */
async function emptied(page, ms, message) {
  const deadline = Date.now() + ms;
  while ((await outbox(page)) > 0) {
    assert.ok(Date.now() < deadline, message);
    await page.waitForTimeout(250);
  }
}

async function newPeople(page, n, tag) {
  const ids = [];
  for (let i = 0; i < n; i++) {
    const id = await page.evaluate(async (pseudonym) => {
      const r = await fetch('/api/v1/people', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
        body: JSON.stringify({ pseudonym, duplicates_reviewed: true }),
      });
      if (r.status !== 201) throw new Error(`${r.status} ${await r.text()}`);
      return (await r.json()).id;
    }, `Contesté ${tag} ${i + 1}`);
    ids.push(id);
  }
  return ids;
}

/** Opens, online, every page the phone will need offline, once its worker controls it. */
async function openPages(page, site, people) {
  await page.goto('/');
  await controlled(page);
  for (const path of ['/', `/encounters/new?site=${site}`, '/encounters', `/sites/${site}/observations/new`, `/sites/${site}`, '/sync/outbox', ...people.map((p) => `/people/${p}`)]) {
    await page.goto(path);
  }
}

async function encounterOffline(page, site, marker) {
  await page.goto(`/encounters/new?site=${site}`);
  await page.fill('#place', marker);
  await page.fill('#unidentified', '1');
  await page.check('input[name="actions"][value="listening"]');
  await Promise.all([page.waitForURL((u) => u.pathname === '/encounters'), page.click('form[data-outbox="encounter"] button.primary')]);
}

async function observationOffline(page, site, marker, people) {
  await page.goto(`/sites/${site}/observations/new`);
  await page.fill('#people', String(people));
  await page.fill('#comment', marker);
  await Promise.all([page.waitForURL((u) => u.pathname === `/sites/${site}`), page.click('form[data-outbox="observation"] button.primary')]);
}

async function pseudonymOffline(page, person, value) {
  await page.goto(`/people/${person}`);
  await page.fill('#offline-pseudonym', value);
  // Back on the same page once the change is kept.
  await Promise.all([page.waitForEvent('load'), page.click('#pseudonym-offline button')]);
}

async function manyPhones(databaseUrl) {
  const started = Date.now();
  const server = await startServer({ demo: true, databaseUrl });
  try {
    const coord = await newPhonePage(browser, server.baseURL);
    await login(coord, 'coordination-nord@demo.veille.invalid');
    const siteId = await demoSite(coord);
    const tag = Date.now().toString(36);
    const people = await newPeople(coord, CONTESTED, tag);

    // The phones, online: log in, open the pages.
    const phones = [];
    for (let d = 0; d < DEVICES; d++) {
      const page = await newPhonePage(browser, server.baseURL);
      await login(page, WORKER);
      await openPages(page, siteId, people);
      phones.push(page);
    }
    await checkOnPhone(phones[0], 'phone_outbox_empty');

    // Offline: each phone records its operations.
    const facts = OPS - CONTESTED;
    await Promise.all(
      phones.map(async (page, d) => {
        await page.context().setOffline(true);
        for (let i = 0; i < CONTESTED; i++) await pseudonymOffline(page, people[i], `Pseudo ${tag} tél ${d + 1}`);
        for (let k = 0; k < facts; k++) {
          const marker = `hors ligne ${tag} tél ${d + 1} n° ${k + 1}`;
          if (k % 2 === 0) await encounterOffline(page, siteId, marker);
          else await observationOffline(page, siteId, marker, k);
        }
        assert.equal(await outbox(page), OPS, `phone ${d + 1} holds its ${OPS} operations`);
      }),
    );
    // "Mes envois", offline, from the worker's cache: what waits, and the badge.
    const first = phones[0];
    await first.goto('/sync/outbox');
    await first.waitForFunction((n) => document.querySelectorAll('#outbox-waiting li').length === n, OPS);
    assert.equal((await first.textContent('#outbox-badge .count')).trim(), String(OPS));
    assert.match(await first.textContent('#outbox-summary'), /Des envois attendent le réseau/);
    await checkOnPhone(first, 'phone_outbox_waiting');

    // Back online: every phone sends (the `online` event; a page load would too).
    await Promise.all(
      phones.map(async (page) => {
        await page.context().setOffline(false);
        await emptied(page, 120_000, 'the outbox empties within two minutes');
      }),
    );
    await first.goto('/sync/outbox');
    await first.waitForFunction(() => document.querySelectorAll('#outbox-conflicts li').length > 0 || document.querySelector('#outbox-summary').textContent.includes('Tout'));
    assert.match(await first.textContent('#outbox-summary'), /Tout a été envoyé/);

    // On the server: every operation.
    // Each device: every number applied, none held nor refused.
    await coord.goto('/sync/devices');
    const rows = await coord.locator('#sync-devices tbody tr').allTextContents();
    const full = rows.filter((r) => new RegExp(`\\b${OPS}\\b`).test(r));
    assert.equal(full.length, DEVICES, `each phone's ${OPS} numbers applied: ${rows.join(' | ')}`);
    const encounters = await api(coord, '/api/v1/encounters');
    const mine = encounters.filter((e) => String(e.place || '').includes(`hors ligne ${tag}`));
    const perPhone = Math.ceil(facts / 2);
    const byPhone = (list, key) => list.map((e) => String(e[key]).replace(/ n° \d+$/, '')).reduce((m, k) => ({ ...m, [k]: (m[k] || 0) + 1 }), {});
    assert.equal(mine.length, DEVICES * perPhone, `every encounter recorded offline: ${JSON.stringify(byPhone(mine, 'place'))}`);
    const siteNow = await api(coord, `/api/v1/sites/${siteId}`);
    const obs = siteNow.observations.filter((o) => String(o.comment || '').includes(`hors ligne ${tag}`));
    assert.equal(obs.length, DEVICES * (facts - perPhone), 'every observation recorded offline');
    // The contested fields: one value applied, the others in the queue.
    for (const p of people) {
      const person = await api(coord, `/api/v1/people/${p}`);
      assert.match(person.pseudonym, new RegExp(`^Pseudo ${tag} tél \\d+$`), 'one phone\'s value applied');
      await coord.goto(`/people/${p}`);
      assert.match(await coord.textContent('#sync-conflicts-badge'), new RegExp(`${DEVICES - 1} conflits? à résoudre`));
    }
    await coord.goto('/sync/conflicts');
    assert.match(await coord.textContent('#sync-conflicts-count'), new RegExp(`${CONTESTED * (DEVICES - 1)} conflits? en attente`));
    // The phones were told of their own conflicts on "Mes envois".
    let told = 0;
    for (const page of phones) told += await page.evaluate(async () => (await window.veilleOutbox.told()).length);
    assert.equal(told, CONTESTED * (DEVICES - 1));
    await checkOnPhone(first, 'phone_outbox_sent');

    // A lost phone revoked by the coordinator wipes what it holds on its next page.
    const lost = phones[DEVICES - 1];
    const lostId = await lost.evaluate(() => window.veilleOutbox.device());
    assert.ok(lostId, 'the phone has a device');
    await coord.goto('/sync/devices');
    await Promise.all([coord.waitForURL((u) => u.pathname === '/sync/devices'), coord.click(`form[action="/sync/devices/${lostId}/revoke"] button`)]);
    await lost.goto('/sync/outbox');
    await lost.locator('#outbox-revoked').waitFor();
    assert.equal(await lost.evaluate(() => window.veilleOutbox.device()), undefined, 'the outbox was wiped');
    assert.deepEqual(await lost.evaluate(async () => (await caches.keys()).filter((k) => k.startsWith('veille-'))), [], 'the pages kept were wiped');

    // Logging out wipes the outbox and the pages kept (the login page may
    // keep the static files again: code and styles, nobody's data).
    await first.goto('/');
    await Promise.all([first.waitForURL((u) => u.pathname === '/login'), first.click('form[action="/logout"] button')]);
    assert.deepEqual(await first.evaluate(async () => (await caches.keys()).filter((k) => k.startsWith('veille-') && !k.startsWith('veille-static-'))), []);
    assert.equal((await first.evaluate(() => indexedDB.databases())).filter((d) => d.name.startsWith('veille-outbox')).length, 0);
    for (const page of phones) await page.context().close();
    await coord.context().close();
  } finally {
    await server.stop();
    // eslint-disable-next-line no-console
    console.log(`offline test: ${DEVICES} × ${OPS} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  }
}

const MANY = `${DEVICES} phones × ${OPS} operations offline, ${CONTESTED} contested fields: all on the server, the conflicts shown, the outboxes empty`;

test(`${MANY} (SQLite)`, async () => {
  await manyPhones(undefined);
});

test(`${MANY} (PostgreSQL)`, async () => {
  const name = `veille_offline_${process.pid}_${Date.now()}`;
  psql(`CREATE DATABASE ${name}`);
  try {
    const url = new URL(PG);
    url.pathname = `/${name}`;
    await manyPhones(url.toString());
  } finally {
    psql(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  }
});

test('offline, one phone turns on the heatwave flag of a site and two phones add needs to one file: on the server, the needs merged without a conflict', async () => {
  const server = await startServer({ demo: true });
  try {
    const coord = await newPhonePage(browser, server.baseURL);
    await login(coord, 'coordination-nord@demo.veille.invalid');
    const siteId = await demoSite(coord);
    const tag = Date.now().toString(36);
    const [person] = await newPeople(coord, 1, tag);
    const site = async () => { const s = await api(coord, `/api/v1/sites/${siteId}`); return s.site || s; };
    const heatwaveBefore = (await site()).heatwave;
    const phones = [];
    for (let d = 0; d < 2; d++) {
      const page = await newPhonePage(browser, server.baseURL);
      await login(page, WORKER);
      await openPages(page, siteId, [person]);
      phones.push(page);
    }
    const [a, b] = phones;
    await a.goto(`/people/${person}`);
    const codes = await a.$$eval('#needs-offline input[name="needs"]', (els) => els.map((e) => e.value));
    assert.ok(codes.length >= 2, 'needs to add are offered');
    for (const page of phones) await page.context().setOffline(true);
    // The site's heatwave flag, from the site's page kept on the phone.
    await a.goto(`/sites/${siteId}`);
    await Promise.all([a.waitForEvent('load'), a.click('#heatwave-form button')]);
    // Each phone adds a different need to the same file.
    for (const [page, code] of [[a, codes[0]], [b, codes[1]]]) {
      await page.goto(`/people/${person}`);
      await page.check(`#needs-offline input[value="${code}"]`);
      await Promise.all([page.waitForEvent('load'), page.click('#needs-offline button')]);
    }
    assert.equal(await outbox(a), 2);
    assert.equal(await outbox(b), 1);
    await checkOnPhone(b, 'phone_needs_offline');
    for (const page of phones) {
      await page.context().setOffline(false);
      await page.evaluate(() => window.veilleOutbox.send());
      await emptied(page, 60_000, 'the outbox empties');
    }
    assert.equal((await site()).heatwave, !heatwaveBefore, 'the heatwave flag changed');
    const file = await api(coord, `/api/v1/people/${person}`);
    const needs = file.needs || file.fields?.needs || [];
    assert.ok(needs.includes(codes[0]) && needs.includes(codes[1]), `both needs on the file: ${JSON.stringify(needs)}`);
    await coord.goto(`/people/${person}`);
    assert.equal(await coord.locator('#sync-conflicts-badge').count(), 0, 'no conflict: a set merges');
    for (const page of [...phones, coord]) await page.context().close();
  } finally {
    await server.stop();
  }
});

test('a shared phone: a session that ended without a logout leaves its sendings waiting for that account, never sent under the next one', async () => {
  const server = await startServer({ demo: true });
  try {
    const phone = await newPhonePage(browser, server.baseURL);
    await login(phone, WORKER);
    const siteId = await demoSite(phone);
    await openPages(phone, siteId, []);
    const tag = Date.now().toString(36);
    await phone.context().setOffline(true);
    await encounterOffline(phone, siteId, `téléphone partagé ${tag} premier compte`);
    assert.equal(await outbox(phone), 1);
    // The session ends while offline (expired), then the network is back:
    // the first account's sending cannot leave (no session) and stays.
    await phone.context().clearCookies();
    await phone.context().setOffline(false);
    // The teammate logs in on the same phone and records an encounter.
    await login(phone, 'binome@demo.veille.invalid');
    await controlled(phone);
    await phone.goto(`/encounters/new?site=${siteId}`);
    await phone.fill('#place', `téléphone partagé ${tag} second compte`);
    await phone.fill('#unidentified', '1');
    await phone.check('input[name="actions"][value="listening"]');
    await Promise.all([phone.waitForURL((u) => u.pathname === '/encounters'), phone.click('form[data-outbox="encounter"] button.primary')]);
    await emptied(phone, 30_000, "the second account's outbox empties");
    const places = async () => (await api(phone, '/api/v1/encounters')).map((e) => String(e.place || '')).filter((p) => p.includes(`téléphone partagé ${tag}`));
    assert.deepEqual(await places(), [`téléphone partagé ${tag} second compte`], "only the second account's encounter was sent");
    await phone.goto('/sync/outbox');
    await phone.locator('#outbox-others').waitFor({ state: 'visible' });
    await checkOnPhone(phone, 'phone_outbox_others');
    // The teammate logs out: their outbox goes, the first account's stays.
    await Promise.all([phone.waitForURL((u) => u.pathname === '/login'), phone.click('form[action="/logout"] button')]);
    assert.equal((await phone.evaluate(() => indexedDB.databases())).filter((d) => d.name.startsWith('veille-outbox')).length, 1);
    // The first account back: its sending leaves, under its name.
    await login(phone, WORKER);
    await emptied(phone, 30_000, "the first account's outbox empties");
    assert.equal((await places()).length, 2, 'both encounters on the server');
    await phone.context().close();
  } finally {
    await server.stop();
  }
});

/** A small PNG (a 40 × 30 gradient), with a text chunk standing for what a camera writes beside the picture. */
function photo() {
  const { deflateSync, crc32 } = zlib;
  const chunk = (type, data) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(body) >>> 0);
    return Buffer.concat([len, body, crc]);
  };
  const [w, h] = [40, 30];
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0);
  ihdr.writeUInt32BE(h, 4);
  ihdr.set([8, 2, 0, 0, 0], 8);
  const rows = [];
  for (let y = 0; y < h; y++) {
    rows.push(Buffer.from([0, ...Array.from({ length: w }, (_, x) => [x * 6, y * 8, 128]).flat()]));
  }
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('tEXt', Buffer.from('Comment\0GPS 48.8897 2.3601 appareil-du-terrain', 'latin1')),
    chunk('IDAT', deflateSync(Buffer.concat(rows))),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

test('offline, a logbook entry with a photo: re-encoded on the phone, uploaded by its hash (again when the server had lost it), the entry once in the book', async () => {
  const server = await startServer({ demo: true });
  try {
    const phone = await newPhonePage(browser, server.baseURL);
    await login(phone, WORKER);
    const siteId = await demoSite(phone);
    await openPages(phone, siteId, []);
    const book = `/logbooks/site/${siteId}`;
    await phone.goto(book);
    const tag = Date.now().toString(36);
    await phone.context().setOffline(true);
    await phone.goto(book);
    await phone.fill('#body', `Journal hors ligne ${tag} : passage au campement, photo de l'accès.`);
    await phone.setInputFiles('#attachment', { name: 'IMG_0042.png', mimeType: 'image/png', buffer: photo() });
    await Promise.all([phone.waitForEvent('load'), phone.click('form[data-outbox="log_entry"] button.primary')]);
    assert.equal(await outbox(phone), 1);
    const [kept] = await phone.evaluate(async () => (await window.veilleOutbox.blobs()).map((b) => ({ sha256: b.sha256, type: b.type, size: b.bytes.byteLength, text: new TextDecoder('latin1').decode(b.bytes) })));
    assert.equal(kept.type, 'image/jpeg', 'the photo was re-encoded on the phone');
    assert.ok(!kept.text.includes('GPS'), 'what the camera wrote beside the picture is gone');
    const [op] = await phone.evaluate(() => window.veilleOutbox.pending());
    assert.equal(op.op.attachment.sha256, kept.sha256);
    assert.equal(op.op.attachment.name, 'IMG_0042.jpg');

    // Back online, the server answers the first upload but loses it (as if
    // dropped): the entry is answered `missing_attachment`, the phone uploads
    // it again and sends the entry again.
    let puts = 0;
    await phone.context().route('**/api/v1/blobs/**', async (route) => {
      puts += 1;
      if (puts === 1) return route.fulfill({ status: 201, contentType: 'application/json', body: JSON.stringify({ sha256: kept.sha256, already: false }) });
      return route.continue();
    });
    await phone.context().setOffline(false);
    await phone.evaluate(() => window.veilleOutbox.send());
    await emptied(phone, 60_000, 'the outbox empties');
    assert.equal(puts, 2, 'uploaded again after `missing_attachment`');
    assert.deepEqual(await phone.evaluate(() => window.veilleOutbox.blobs()), [], 'the photo left the phone with its entry');
    await phone.context().unroute('**/api/v1/blobs/**');
    await phone.goto(book);
    const entry = phone.locator('li.log-entry', { hasText: `Journal hors ligne ${tag}` });
    assert.equal(await entry.count(), 1, 'the entry once in the book');
    const link = entry.locator('a[href$="/attachment"]');
    assert.match(await link.textContent(), /IMG_0042\.jpg/);
    const served = await phone.evaluate(async (href) => { const r = await fetch(href); return { status: r.status, type: r.headers.get('content-type') }; }, await link.getAttribute('href'));
    assert.equal(served.status, 200);
    assert.match(served.type, /^image\//);
    await checkOnPhone(phone, 'phone_logbook_entry_synced');
    await phone.context().close();
  } finally {
    await server.stop();
  }
});

test('a 500 and a lost acknowledgement on the way back: "Mes envois" says so, nothing is lost, each operation is applied once', async () => {
  const server = await startServer({ demo: true });
  try {
    const phone = await newPhonePage(browser, server.baseURL);
    await login(phone, WORKER);
    const siteId = await demoSite(phone);
    await openPages(phone, siteId, []);
    const tag = Date.now().toString(36);
    await phone.context().setOffline(true);
    for (let k = 1; k <= 3; k++) await encounterOffline(phone, siteId, `panne ${tag} n° ${k}`);
    assert.equal(await outbox(phone), 3);

    // Every sending meets a 500 until the test has read what "Mes envois"
    // says (a sending cut short by the page changing, as the network comes
    // back, leaves nothing to read); then one reaches the server, which
    // records the batch, but its answer is lost on the way back; then the
    // network behaves.
    let phase = 'error';
    let lost = 0;
    await phone.context().route('**/api/v1/sync/ops', async (route) => {
      if (phase === 'error') return route.fulfill({ status: 500, contentType: 'application/problem+json', body: '{"title":"Erreur interne"}' });
      if (phase === 'lose') {
        phase = 'behave';
        lost += 1;
        const answer = await route.fetch();
        await answer.body();
        return route.abort('connectionreset');
      }
      return route.continue();
    });
    await phone.context().setOffline(false);
    await phone.goto('/sync/outbox');
    const failure = phone.locator('#outbox-failure');
    await phone.waitForFunction(() => /erreur 500/.test(document.querySelector('#outbox-failure').textContent));
    assert.ok(await failure.isVisible());
    assert.match(await failure.textContent(), /erreur 500[\s\S]*Rien n'est perdu/);
    assert.equal(await outbox(phone), 3, 'kept on the phone after the 500');
    await checkOnPhone(phone, 'phone_outbox_failed');
    phase = 'lose';
    // "Mes envois" also says how to install veille on the home screen, and
    // whether the browser keeps the outbox under pressure.
    assert.ok(await phone.locator('#install-steps').isVisible(), 'install guidance shown');
    await phone.locator('#install-storage').waitFor({ state: 'visible' });
    const manifest = await phone.evaluate(async () => (await fetch(document.querySelector('link[rel=manifest]').href)).json());
    assert.equal(manifest.display, 'standalone');
    assert.equal(manifest.start_url, '/');
    // The answer lost: still on the phone (it cannot know), said so.
    await phone.waitForFunction(() => /pas été joint/.test(document.querySelector('#outbox-failure').textContent), null, { timeout: 30_000 });
    assert.equal(lost, 1);
    assert.equal(await outbox(phone), 3, 'kept on the phone after the lost answer');
    // The next try: answered `duplicate` for what was recorded, the outbox empties.
    await emptied(phone, 60_000, 'the outbox empties');
    await failure.waitFor({ state: 'hidden' });
    assert.match(await phone.textContent('#outbox-summary'), /Tout a été envoyé/);
    const encounters = await api(phone, '/api/v1/encounters');
    assert.equal(encounters.filter((e) => String(e.place || '').includes(`panne ${tag}`)).length, 3, 'each encounter recorded once');
    await phone.context().unroute('**/api/v1/sync/ops');
    await phone.context().close();
  } finally {
    await server.stop();
  }
});

/**
 * The next build of veille, for the upgrade test: a copy of the binary whose
 * embedded service worker differs by one byte of a comment, so that its
 * version (a hash of the embedded files) and its script differ — as a
 * deployment of new code does. Everything else is the same program.
 */
async function nextBuild(dir) {
  const bin = path.resolve(REPO_ROOT, process.env.VEILLE_BIN || 'target/debug/veille');
  const bytes = await readFile(bin);
  const from = Buffer.from("// veille's service worker (decision 90)");
  const to = Buffer.from("// Veille's service worker (decision 90)");
  const at = bytes.indexOf(from);
  assert.ok(at >= 0, 'the embedded service worker is found in the binary');
  to.copy(bytes, at);
  const out = path.join(dir, 'veille-next');
  await writeFile(out, bytes, { mode: 0o755 });
  return out;
}

test('operations queued under the previous service worker are sent after the worker is updated', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'veille-upgrade-'));
  const db = path.join(dir, 'veille.db');
  await writeFile(db, '');
  const databaseUrl = `sqlite://${db}`;
  let server = await startServer({ demo: true, databaseUrl });
  try {
    const phone = await newPhonePage(browser, server.baseURL);
    await login(phone, WORKER);
    const siteId = await demoSite(phone);
    await openPages(phone, siteId, []);
    const staticCaches = () => phone.evaluate(async () => (await caches.keys()).filter((k) => k.startsWith('veille-static-')));
    const before = await staticCaches();
    assert.equal(before.length, 1, 'the static files are kept under the version');

    // Offline, three encounters queued under this worker.
    const tag = Date.now().toString(36);
    await phone.context().setOffline(true);
    for (let k = 1; k <= 3; k++) await encounterOffline(phone, siteId, `avant la mise à jour ${tag} n° ${k}`);
    assert.equal(await outbox(phone), 3);

    // Meanwhile the server is updated: the next build, same database, same address.
    const next = await nextBuild(dir);
    await server.stop();
    server = await startServer({ databaseUrl, port: server.port, bin: next });

    // Back online, the sync API still out of reach (the operations must
    // wait through the update): the browser finds the new worker, which
    // replaces the old one and its static cache.
    await phone.context().route('**/api/v1/sync/**', (route) => route.abort());
    await phone.context().setOffline(false);
    await phone.goto('/sync/outbox');
    await phone.evaluate(async () => { await (await navigator.serviceWorker.getRegistration()).update(); });
    const deadline = Date.now() + 60_000;
    for (;;) {
      const now = await staticCaches();
      if (now.length === 1 && now[0] !== before[0]) break;
      assert.ok(Date.now() < deadline, `the new worker replaces the static cache: ${now}`);
      await phone.waitForTimeout(250);
    }
    assert.equal(await outbox(phone), 3, 'the queue survived the update');
    // The API within reach: the next page sends them.
    await phone.context().unroute('**/api/v1/sync/**');
    await phone.goto('/sync/outbox');
    await emptied(phone, 60_000, 'the outbox empties');
    await phone.goto('/sync/outbox');
    const encounters = await api(phone, '/api/v1/encounters');
    assert.equal(encounters.filter((e) => String(e.place || '').includes(`avant la mise à jour ${tag}`)).length, 3, 'the three encounters on the server');
    assert.match(await phone.textContent('#outbox-summary'), /Tout a été envoyé/);
    await phone.context().close();
  } finally {
    await server.stop();
    await rm(dir, { recursive: true, force: true });
  }
});

test('online, a form refused for what was typed shows its messages and keeps the input; offline, the refusal stays on "Mes envois" with its reason until read', async () => {
  const server = await startServer({ demo: true });
  try {
    const phone = await newPhonePage(browser, server.baseURL);
    await login(phone, WORKER);
    const siteId = await demoSite(phone);
    // Online, an observation whose count is not a number: refused for what
    // was typed, so the form itself says what to fix, next to the field, with
    // what was typed kept; nothing waits in the outbox.
    await phone.goto('/');
    await controlled(phone);
    await phone.goto(`/sites/${siteId}/observations/new`);
    await phone.fill('#people', 'beaucoup');
    await Promise.all([
      phone.waitForURL((u) => u.pathname === `/sites/${siteId}/observations`),
      phone.click('form[data-outbox="observation"] button.primary'),
    ]);
    assert.match(await phone.textContent('#people-error'), /\S/, 'a message next to the field');
    assert.equal(await phone.inputValue('#people'), 'beaucoup', 'what was typed is kept');
    assert.equal(await outbox(phone), 0);
    await checkOnPhone(phone, 'phone_observation_refused_online');
    // Offline, the same: the form is gone from the screen when the answer
    // comes, so the refusal waits on "Mes envois", which says why.
    await phone.goto(`/sites/${siteId}/observations/new`);
    await phone.goto(`/sites/${siteId}`);
    await phone.goto(`/sites/${siteId}/observations/new`);
    await phone.context().setOffline(true);
    await phone.fill('#people', 'beaucoup');
    const before = phone.url();
    await phone.click('form[data-outbox="observation"] button.primary');
    await phone.waitForURL((u) => u.href !== before);
    assert.equal(await outbox(phone), 1, 'kept on the phone');
    await phone.context().setOffline(false);
    await phone.goto('/sync/outbox');
    await phone.locator('#outbox-refused li').first().waitFor();
    assert.match(await phone.textContent('#outbox-refused'), /Observation d'un lieu[\s\S]*la saisie n'est pas valable/);
    assert.equal((await phone.textContent('#outbox-badge .count')).trim(), '1');
    await checkOnPhone(phone, 'phone_outbox_refused');
    // Kept across pages until read.
    await phone.goto('/');
    await phone.goto('/sync/outbox');
    await phone.locator('#outbox-refused li').first().waitFor();
    await phone.click('#outbox-refused li button');
    await phone.locator('#outbox-refused-none').waitFor({ state: 'visible' });
    assert.equal(await outbox(phone), 0);
    assert.ok(await phone.locator('#outbox-badge').isHidden(), 'no badge once read');
    // The session ends without a logout (expired, cookies cleared): the next
    // page is the login, and the pages kept for the previous account go.
    assert.ok(await phone.evaluate(() => caches.has('veille-pages')), 'pages were kept');
    await phone.context().clearCookies();
    await phone.goto('/sync/outbox');
    assert.equal(new URL(phone.url()).pathname, '/login');
    assert.equal(await phone.evaluate(() => caches.has('veille-pages')), false, 'the pages kept are dropped at the login');
    await phone.context().close();
  } finally {
    await server.stop();
  }
});
