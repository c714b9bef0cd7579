// Signalements in a real browser (headless Chromium): on a 360 px phone a
// member of the public files a report by tapping the map and gets the
// follow-up link; a coordinator writes an internal note and a public answer
// (with its preview); the reporter sees the answer and never the note. Every
// page passes axe.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

import { checkAxe, launchBrowser, newDesktopPage, newPhonePage, startServer } from './lib/harness.mjs';

const DEMO_PASSWORD = 'démo veille paris 2026';
const NOTE = 'NOTE-INTERNE : personne connue, suivi en cours';
// A 1 x 1 PNG.
const PNG_BASE64 = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==';
const ANSWER = 'Une équipe de maraude est passée ce soir et repassera demain.';

let browser;
before(async () => { browser = await launchBrowser(); });
after(async () => { await browser?.close(); });

async function login(page, email, password) {
  await page.goto('/login');
  await page.fill('#email', email);
  await page.fill('#password', password);
  await page.click('button.primary');
}

async function noOverflow(page, label) {
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 1, `${label} overflows a 360 px screen by ${overflow}px`);
}

test('a report filed on a phone by tapping the map is answered by staff; the reporter sees only the answer', async () => {
  const server = await startServer({ demo: true });
  try {
    const phone = await newPhonePage(browser, server.baseURL);
    await phone.goto('/signaler');
    // Emergency numbers come first.
    assert.match(await phone.textContent('main'), /15[\s\S]*112[\s\S]*115/);
    await checkAxe(phone, 'phone_signaler');
    await noOverflow(phone, '/signaler');
    // Sending nothing: messages next to the fields.
    await phone.click('form[action="/signaler"] button.primary');
    assert.ok(await phone.locator('#description-error').count() === 1);
    assert.ok(await phone.locator('#lat-error').count() === 1);
    await checkAxe(phone, 'phone_signaler_errors');
    // Tap the map: the coordinates are filled in.
    await phone.locator('#report-map').scrollIntoViewIfNeeded();
    await phone.locator('#report-map').click({ position: { x: 180, y: 120 } });
    const lat = await phone.inputValue('#lat');
    const lon = await phone.inputValue('#lon');
    assert.match(lat, /^4[89]\.\d+$/, `latitude from the tap: ${lat}`);
    assert.match(lon, /^[0-9]\.\d+$/, `longitude from the tap: ${lon}`);
    await phone.check('input[name="situation"][value="family_with_children"]');
    // A photo (a tiny PNG made here), kept across a refusal of another field.
    const dir = await mkdtemp(path.join(os.tmpdir(), 'veille-photo-'));
    const png = path.join(dir, 'porche.png');
    await writeFile(png, Buffer.from(PNG_BASE64, 'base64'));
    await phone.setInputFiles('#photo', png);
    await phone.click('form[action="/signaler"] button.primary');
    assert.ok(await phone.locator('#photo-kept').count() === 1, 'the accepted photo is kept while the form is shown again');
    await checkAxe(phone, 'phone_signaler_photo_kept');
    await phone.fill('#adults', '2');
    await phone.fill('#children', '1');
    await phone.fill('#description', 'Une famille sous un porche, il pleut depuis ce matin.');
    await phone.click('form[action="/signaler"] button.primary');
    // The link is built on the configured public base URL; keep its path for this server.
    const href = await phone.getAttribute('#follow-link', 'href');
    assert.equal(await phone.inputValue('#follow-url'), href);
    const link = new URL(href).pathname;
    assert.match(link, /^\/suivi\/[A-Za-z0-9_-]{40,}$/);
    const reference = (await phone.textContent('p.notice')).match(/S-[A-Z0-9]{4}-[A-Z0-9]{4}/)[0];
    await checkAxe(phone, 'phone_received');
    await noOverflow(phone, 'received');
    await phone.goto(link);
    assert.match(await phone.textContent('main'), /Pas encore de réponse/);
    await checkAxe(phone, 'phone_follow');

    // Staff: the coordinating organisation's coordinator (no routing rule in the demo).
    const staff = await newDesktopPage(browser, server.baseURL);
    await login(staff, 'coordination@demo.veille.invalid', DEMO_PASSWORD);
    await staff.goto('/reports');
    // The map of open reports of the list draws their points.
    await staff.waitForFunction(() => document.getElementById('reports-map')?.dataset.points === '1');
    assert.ok(await staff.locator('#reports-map .leaflet-interactive').count() >= 1);
    await checkAxe(staff, 'desktop_reports');
    await staff.click(`a:has-text("${reference}")`);
    assert.match(await staff.textContent('h1'), new RegExp(reference));
    assert.match(await staff.textContent('main'), /Famille avec enfants/);
    // The photo, re-encoded, shown to staff.
    const shown = await staff.locator('img.report-photo').evaluate((img) => img.complete && img.naturalWidth > 0);
    assert.ok(shown, 'the photo is shown on the report page');
    assert.ok(await staff.locator('#who-can-see').count() === 1);
    await checkAxe(staff, 'desktop_report');
    await staff.fill('#note', NOTE);
    await staff.click('form[action$="/notes"] button');
    assert.match(await staff.textContent('ul.notes'), /NOTE-INTERNE/);
    await staff.fill('#answer', ANSWER);
    await staff.click('button[value="preview"]');
    assert.match(await staff.textContent('#preview'), /repassera demain/);
    assert.doesNotMatch(await staff.textContent('#preview'), /NOTE-INTERNE/);
    await checkAxe(staff, 'desktop_report_preview');
    await staff.click('button[value="publish"]');
    await staff.selectOption('#status', 'answered');
    await staff.click('form[action$="/status"] button');
    assert.match(await staff.textContent('main'), /Réponse apportée/);
    await staff.context().close();

    // The reporter sees the answer and the status, never the note.
    await phone.goto(link);
    const seen = await phone.textContent('main');
    assert.match(seen, /repassera demain/);
    assert.match(seen, /Réponse apportée/);
    assert.doesNotMatch(seen, /NOTE-INTERNE|connue|porche/);
    await checkAxe(phone, 'phone_follow_answered');
    await noOverflow(phone, 'follow-up');
    await phone.context().close();

    // Partner intake and figures, on a phone.
    const coord = await newPhonePage(browser, server.baseURL);
    await login(coord, 'coordination@demo.veille.invalid', DEMO_PASSWORD);
    await coord.goto('/reports/new');
    await checkAxe(coord, 'phone_reports_new');
    await noOverflow(coord, '/reports/new');
    await coord.selectOption('#source', 'mairie_arrondissement');
    await coord.selectOption('#channel', 'phone');
    await coord.fill('#reporter_name', 'Cabinet du maire (exemple)');
    await coord.fill('#address', 'Devant le gymnase, rue d\'exemple');
    await coord.check('input[name="situation"][value="minors"]');
    await coord.fill('#description', 'Deux enfants seuls signalés par la mairie.');
    await coord.click('form[action="/reports/new"] button.primary');
    await coord.click('#report-link');
    assert.match(await coord.textContent('#reporter'), /Cabinet du maire/);
    assert.match(await coord.textContent('main'), /Niveau 2/);
    await checkAxe(coord, 'phone_report_taken_in');
    await coord.goto('/reports/stats');
    await checkAxe(coord, 'phone_reports_stats');
    await noOverflow(coord, '/reports/stats');
    await coord.goto('/reports');
    await checkAxe(coord, 'phone_reports');
    await noOverflow(coord, '/reports');
    await coord.context().close();

    // The routing table, as the instance administrator, on a phone.
    const admin = await newPhonePage(browser, server.baseURL);
    await login(admin, 'admin@demo.veille.invalid', DEMO_PASSWORD);
    await admin.goto('/reports/routing');
    await checkAxe(admin, 'phone_routing');
    await noOverflow(admin, '/reports/routing');
    await admin.context().close();
  } finally {
    await server.stop();
  }
});

test('the notice for the people recorded reads on a phone in each language, right to left for Arabic and Dari', async () => {
  const server = await startServer({ demo: true });
  try {
    const phone = await newPhonePage(browser, server.baseURL);
    await phone.goto('/signaler');
    await phone.click('footer a[href="/vie-privee"]');
    assert.equal(await phone.getAttribute('html', 'lang'), 'fr');
    for (const [code, lang, dir] of [['fr', 'fr', 'ltr'], ['ar', 'ar', 'rtl'], ['prs', 'fa-AF', 'rtl'], ['ro', 'ro', 'ltr'], ['en', 'en', 'ltr']]) {
      await phone.click(`a[href="/vie-privee/${code}"]`);
      assert.equal(await phone.getAttribute('html', 'lang'), lang);
      assert.equal(await phone.getAttribute('html', 'dir'), dir);
      // The demo's organisations are named, and the page fits the screen.
      assert.match(await phone.textContent('main'), /Maraude/);
      await noOverflow(phone, `/vie-privee/${code}`);
      await checkAxe(phone, `phone_notice_${code}`);
    }
  } finally {
    await server.stop();
  }
});
