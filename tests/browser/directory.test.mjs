// The partner directory in a real browser (headless Chromium), on a 360 px
// phone: a field worker searches by need and "open now", opens a service and
// the picker page; a coordinator adds a structure of their organisation
// (errors next to the fields first); the instance administrator previews a
// data·inclusion import, runs it, and sees a malformed file refused line by
// line. Every page passes axe and nothing is wider than the screen.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';

import { REPO_ROOT, checkAxe, launchBrowser, newPhonePage, startServer } from './lib/harness.mjs';

const DEMO_PASSWORD = 'démo veille paris 2026';
const FIXTURES = path.join(REPO_ROOT, 'crates/app/tests/fixtures/data-inclusion');

let browser;
before(async () => { browser = await launchBrowser(); });
after(async () => { await browser?.close(); });

async function login(page, email) {
  await page.goto('/login');
  await page.fill('#email', email);
  await page.fill('#password', DEMO_PASSWORD);
  await page.click('button.primary');
}

async function checkPhone(page, label) {
  await checkAxe(page, label);
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 1, `${label} overflows a 360 px screen by ${overflow}px`);
}

test('a field worker finds an open shelter on a phone; a coordinator adds a structure; the administrator imports', async () => {
  const server = await startServer({ demo: true });
  try {
    // Search by need and open now: the demo's 24/7 emergency shelter is always open.
    const phone = await newPhonePage(browser, server.baseURL);
    await login(phone, 'terrain@demo.veille.invalid');
    await phone.click('nav a[href="/directory"]');
    assert.match(await phone.textContent('h1'), /Annuaire des partenaires/);
    await checkPhone(phone, 'phone_directory');
    await phone.selectOption('#need', 'logement-hebergement');
    await phone.check('#open_now');
    await phone.click('form[role="search"] button.primary');
    const results = await phone.textContent('#results');
    assert.match(results, /Mise à l'abri d'urgence/);
    assert.match(results, /Ouvert maintenant/);
    assert.doesNotMatch(results, /Consultation en addictologie/);
    assert.equal(await phone.isChecked('#open_now'), true, 'the filters are kept');
    await checkPhone(phone, 'phone_directory_results');
    await phone.click('a.svc-link:has-text("Mise à l\'abri d\'urgence")');
    assert.match(await phone.textContent('#open-state'), /Ouvert maintenant/);
    assert.match(await phone.textContent('#capacity'), /Peu de places/);
    assert.match(await phone.textContent('main'), /Centre d'hébergement d'urgence L'Étoile \(démo\)/);
    assert.equal(await phone.locator('form[action$="/local"]').count(), 0, 'a field worker changes nothing here');
    await checkPhone(phone, 'phone_directory_service');
    // By language: a service whose staff speaks Tigrinya.
    await phone.goto('/directory?language=ti');
    assert.match(await phone.textContent('#results'), /Nuit au chaud pour femmes/);
    // The picker (as a page of its own, in its own form): with JavaScript the
    // search swaps the results in place (htmx), the address stays the same.
    await phone.goto('/directory/picker');
    assert.equal(await phone.locator('input[type="radio"][name="service_id"]').count(), 0);
    await phone.selectOption('#dir_need', 'sante--addictions');
    await phone.click('button[name="dir_search"]');
    await phone.locator('input[type="radio"][name="service_id"]').first().waitFor();
    assert.ok(await phone.locator('input[type="radio"][name="service_id"]').count() >= 2);
    assert.equal(new URL(phone.url()).search, '', 'swapped by htmx, not reloaded');
    await phone.check('#service_id');
    await checkPhone(phone, 'phone_directory_picker');
    // Without JavaScript the same search reloads the page with the filters kept.
    const noJs = await browser.newContext({ javaScriptEnabled: false, viewport: { width: 360, height: 740 }, baseURL: server.baseURL, locale: 'fr-FR' });
    await noJs.addCookies((await phone.context().cookies()).map((c) => ({ ...c })));
    const plain = await noJs.newPage();
    await plain.goto('/directory/picker');
    await plain.selectOption('#dir_need', 'sante--addictions');
    await plain.click('button[name="dir_search"]');
    assert.match(new URL(plain.url()).search, /dir_need=sante--addictions/);
    assert.ok(await plain.locator('input[type="radio"][name="service_id"]').count() >= 2);
    await noJs.close();
    await phone.context().close();

    // A coordinator adds a structure of their organisation.
    const coord = await newPhonePage(browser, server.baseURL);
    await login(coord, 'coordination@demo.veille.invalid');
    await coord.goto('/directory');
    await coord.click('a[href="/directory/structures/new"]');
    await coord.fill('#name', 'AB');
    await coord.fill('#opening_hours', 'le soir');
    await coord.click('form.stack button.primary');
    assert.equal(await coord.locator('#name-error').count(), 1);
    assert.equal(await coord.locator('#opening_hours-error').count(), 1);
    assert.equal(await coord.inputValue('#opening_hours'), 'le soir', 'what was typed is kept');
    await checkPhone(coord, 'phone_structure_form_errors');
    await coord.fill('#name', 'Local de coordination (démo)');
    await coord.fill('#opening_hours', 'Mo-Fr 09:00-18:00');
    // Tapping the map fills the point; typed coordinates win afterwards.
    await coord.locator('#point-map').scrollIntoViewIfNeeded();
    await coord.locator('#point-map').click({ position: { x: 150, y: 100 } });
    assert.match(await coord.inputValue('#lat'), /^4[89]\.\d+$/);
    assert.match(await coord.inputValue('#lon'), /^[0-9]\.\d+$/);
    await coord.fill('#lat', '48.8760');
    await coord.fill('#lon', '2.3590');
    await coord.click('form.stack button.primary');
    assert.match(await coord.textContent('h1'), /Local de coordination/);
    assert.match(await coord.textContent('main'), /75110/, 'the territory comes from the point');
    await checkPhone(coord, 'phone_structure_page');
    await coord.click('a[href$="/services/new"]');
    await coord.fill('#name', 'Permanence sociale');
    await coord.fill('#description', 'Écoute et orientation, service de démonstration.');
    await coord.check('input[name="themes"][value="remobilisation--lien-social"]');
    await coord.check('input[name="languages"][value="uk"]');
    await checkPhone(coord, 'phone_service_form');
    await coord.click('form.stack button.primary');
    assert.match(await coord.textContent('h1'), /Permanence sociale/);
    assert.match(await coord.textContent('main'), /ukrainien/);
    await coord.context().close();

    // The administrator: dry run, import, a malformed file refused line by line.
    const admin = await newPhonePage(browser, server.baseURL);
    await login(admin, 'admin@demo.veille.invalid');
    await admin.goto('/directory/import');
    await checkPhone(admin, 'phone_directory_import');
    await admin.setInputFiles('#files', [path.join(FIXTURES, 'structures.json'), path.join(FIXTURES, 'services.json')]);
    assert.equal(await admin.isChecked('#dry_run'), true, 'a dry run by default');
    await admin.click('form[action="/directory/import"] button.primary');
    assert.match(await admin.textContent('#outcome-title'), /Simulation/);
    assert.match(await admin.textContent('#import-counts'), /Créés\s*3\s*4/);
    await checkPhone(admin, 'phone_directory_import_dry_run');
    await admin.setInputFiles('#files', [path.join(FIXTURES, 'structures.json'), path.join(FIXTURES, 'services.json')]);
    await admin.uncheck('#dry_run');
    await admin.click('form[action="/directory/import"] button.primary');
    assert.match(await admin.textContent('#outcome-title'), /Import effectué/);
    await admin.setInputFiles('#files', path.join(FIXTURES, 'malformed.json'));
    await admin.uncheck('#dry_run');
    await admin.click('form[action="/directory/import"] button.primary');
    assert.match(await admin.textContent('#outcome-title'), /rien n'a été écrit/);
    const problems = await admin.textContent('#import-problems');
    assert.match(problems, /ligne 2 · structure « test--sans-date » · date_maj/);
    assert.match(problems, /ligne 11 · service « test--orphelin »/);
    await checkPhone(admin, 'phone_directory_import_refused');
    await admin.goto('/directory?q=fictif');
    assert.match(await admin.textContent('#results'), /Douches et vestiaire/);
    await admin.context().close();
  } finally {
    await server.stop();
  }
});
