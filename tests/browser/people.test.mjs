// People, encounters and referrals in a real browser (headless Chromium), on
// a 360 px phone: a street worker records an encounter with a new person
// (the consent captured on the spot), sees a probable duplicate suggested
// while typing, links the two files, then unlinks them. A referral is
// answered in the partner's queue, another through the partner link opened
// with the code given orally. Every page passes axe and fits the screen.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';

import { checkOnPhone, launchBrowser, login, newPhonePage, startServer } from './lib/harness.mjs';

let browser;
before(async () => { browser = await launchBrowser(); });
after(async () => { await browser?.close(); });

test('on a phone: an encounter with a new person and consent, a probable duplicate suggested, linked then unlinked', async () => {
  const server = await startServer({ demo: true });
  try {
    const phone = await newPhonePage(browser, server.baseURL);
    await login(phone, 'terrain@demo.veille.invalid');
    await phone.goto('/people');
    assert.match(await phone.textContent('main'), /Gavroche/);
    await checkOnPhone(phone, 'phone_people');
    // Typing filters the page shown at once, in the browser; the search by
    // name reads the whole list, posted: the name never reaches the address bar.
    await phone.fill('#people-q', 'cosette');
    assert.equal(await phone.locator('#people-table tbody tr:not([hidden])').count(), 1);
    assert.ok(await phone.locator('#people-table tbody tr[hidden]').count() > 0);
    await phone.click('#people-search button[type="submit"]');
    await phone.waitForURL((u) => u.pathname === '/people/search');
    assert.equal(new URL(phone.url()).search, '');
    assert.equal(await phone.locator('#people-table tbody tr').count(), 1);
    assert.match(await phone.textContent('#people-table'), /Cosette/);
    assert.equal(await phone.inputValue('#people-q'), 'cosette');
    await checkOnPhone(phone, 'phone_people_search');

    await phone.goto('/encounters/new');
    await checkOnPhone(phone, 'phone_encounter_new');
    await phone.fill('#place', 'Porte de la Chapelle, sous le pont');
    await phone.check('input[name="actions"][value="listening"]');
    await phone.check('input[name="actions"][value="distribution"]');
    await phone.click('details.new-person > summary');
    await phone.fill('#new_pseudonym', 'Gavroche');
    await phone.fill('#new_age', '36');
    await phone.selectOption('#new_gender', 'man');
    // While typing: the probable duplicates of the demo, with what agrees.
    await phone.locator('#suggestions .suggestion').first().waitFor();
    const suggested = await phone.textContent('#suggestions');
    assert.match(suggested, /Gavroche/);
    assert.match(suggested, /Nom : identique/);
    await checkOnPhone(phone, 'phone_encounter_suggestions');
    // The consent, captured on the spot.
    await phone.check('#consent_purpose');
    await phone.check('#consent_access');
    await phone.check('#consent_rights');
    await phone.selectOption('#consent_language', 'fr');
    await phone.check('#duplicates_reviewed');
    await phone.click('form[action="/encounters"] button.primary');
    // Kept in the phone's outbox, sent, then the list of encounters (decision 90).
    await phone.waitForURL((u) => u.pathname === '/encounters');
    await phone.locator('ul.list li', { hasText: /sous le pont · Gavroche/ }).locator('a').first().click();
    await phone.waitForURL(/\/encounters\/[0-9a-f-]{36}$/);
    assert.match(await phone.textContent('main'), /Porte de la Chapelle/);
    await checkOnPhone(phone, 'phone_encounter');

    // The new file: consent recorded, the demo's Gavroche suggested.
    await phone.click('#met a:has-text("Gavroche")');
    await phone.waitForURL(/\/people\/[0-9a-f-]{36}$/);
    const mine = new URL(phone.url()).pathname;
    assert.equal(await phone.locator('#no-consent').count(), 0, 'the consent was recorded');
    assert.match(await phone.textContent('#consent'), /informée/);
    assert.equal(await phone.locator('#duplicates .suggestion').count() >= 1, true);
    await checkOnPhone(phone, 'phone_person_duplicates');
    // The demo has two look-alikes (Gavroche 1990, Gavroch 1991) that the
    // model may rank either way: link the demo's Gavroche.
    const gavroche = phone.locator('#duplicates .suggestion').filter({ has: phone.locator('a', { hasText: /^Gavroche$/ }) }).first();
    const other = await gavroche.locator('a').first().getAttribute('href');
    await gavroche.locator('button.primary').click();
    await phone.waitForURL((u) => u.pathname === mine);
    const linked = await phone.textContent('#linked');
    assert.match(linked, /Gavroche/);
    assert.equal(await phone.locator(`#linked a[href="${other}"]`).count(), 1);
    // The merged view: the demo file's encounters show here too.
    assert.match(await phone.textContent('main'), /Porte de la Chapelle, sous le pont \(exemple\)/);
    await checkOnPhone(phone, 'phone_person_linked');
    // Unlinked: two files again, the suggestion back.
    await phone.click('#linked button');
    await phone.waitForURL((u) => u.pathname === mine);
    assert.equal(await phone.locator('#linked').count(), 0);
    assert.ok(await phone.locator(`#duplicates a[href="${other}"]`).count() >= 1);
    await checkOnPhone(phone, 'phone_person_unlinked');
    await phone.context().close();
  } finally {
    await server.stop();
  }
});

test('on a phone: a referral answered in the partner queue, and one through the partner link with its code', async () => {
  const server = await startServer({ demo: true });
  try {
    // The day centre's partner user: the demo referral waits in the queue.
    const partner = await newPhonePage(browser, server.baseURL);
    await login(partner, 'partenaire@demo.veille.invalid');
    await partner.goto('/referrals');
    await checkOnPhone(partner, 'phone_partner_queue');
    await partner.click('#queue a');
    assert.match(await partner.textContent('main'), /Douche et laverie/);
    await checkOnPhone(partner, 'phone_partner_referral');
    await partner.check('input[name="status"][value="accepted"]');
    await partner.fill('#message', 'Demain à 9 h, à l’accueil.');
    await partner.click('form[action$="/answer"] button.primary');
    assert.match(await partner.textContent('h1'), /Acceptée/);
    await partner.context().close();

    // A referral to a partner without accounts: the link and the code, shown once.
    const worker = await newPhonePage(browser, server.baseURL);
    await login(worker, 'terrain@demo.veille.invalid');
    await worker.goto('/people');
    await worker.click('a:has-text("Cosette")');
    await worker.click('a[href^="/referrals/new"]');
    await checkOnPhone(worker, 'phone_referral_new');
    // The service comes from the partner directory's picker (htmx search).
    await worker.fill('#dir_q', 'droit');
    await worker.click('button[name="dir_search"]');
    await worker.waitForSelector('input[name="service_id"]');
    assert.match(await worker.textContent('#service-picker-results'), /Point d'accès au droit des Quais/);
    await worker.check(`label.svc-choice:has-text("Point d'accès au droit des Quais") input[name="service_id"]`);
    await worker.fill('#reason', 'Consigne pour les affaires de la famille.');
    await worker.check('#consent_confirmed');
    await worker.check('#send');
    await worker.click('form[action="/referrals"] button.primary');
    const url = await worker.inputValue('#partner-url');
    const code = (await worker.textContent('#partner-code')).trim();
    assert.match(code, /^\d{6}$/);
    assert.match(await worker.textContent('#service'), /Point d'accès au droit des Quais/);
    await checkOnPhone(worker, 'phone_referral_link');
    await worker.context().close();

    const outside = await newPhonePage(browser, server.baseURL);
    await outside.goto(new URL(url).pathname);
    assert.doesNotMatch(await outside.textContent('main'), /Cosette/);
    await checkOnPhone(outside, 'phone_partner_link_code');
    await outside.fill('#code', code);
    await outside.click('form button.primary');
    assert.match(await outside.textContent('main'), /Cosette/);
    await checkOnPhone(outside, 'phone_partner_link_open');
    await outside.check('input[name="status"][value="accepted"]');
    await outside.click('form button.primary');
    assert.match(await outside.textContent('#thanks'), /Merci/);
    assert.match(await outside.textContent('#status-now'), /Acceptée/);
    await outside.context().close();
  } finally {
    await server.stop();
  }
});

test('on a phone: a coordinator searches the restricted archive with a reason', async () => {
  const server = await startServer({ demo: true });
  try {
    const phone = await newPhonePage(browser, server.baseURL);
    await login(phone, 'coordination@demo.veille.invalid');
    await phone.goto('/people');
    await phone.click('a[href="/rights/archive"]');
    await checkOnPhone(phone, 'phone_archive');
    // No reason: refused, what was typed kept, the message next to its field.
    await phone.fill('#text', 'Gavroche');
    await phone.evaluate(() => { document.querySelector('#reason').required = false; });
    await phone.click('form[action="/rights/archive"] button[type=submit]');
    assert.equal(await phone.inputValue('#text'), 'Gavroche');
    assert.ok(await phone.locator('#reason-error').count() === 1);
    await checkOnPhone(phone, 'phone_archive_refused');
    await phone.selectOption('#reason', 'continuity_of_care');
    await phone.click('form[action="/rights/archive"] button[type=submit]');
    // The demo's files are active: the archive holds none of them, and the name is not in the URL.
    assert.match(await phone.textContent('#found'), /0 dossier/);
    assert.ok(!phone.url().includes('Gavroche'));
    await checkOnPhone(phone, 'phone_archive_found');
  } finally {
    await server.stop();
  }
});
