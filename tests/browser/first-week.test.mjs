// The first week of a real team, in a real browser (headless Chromium) on the
// demo instance. Every demo account `veille serve --demo` prints logs in on a
// 375x740 phone, lands on the home page of its role's work of the day, is
// offered only links it may follow (each one answers 200), and the demo banner
// plus the header leave the screen to the page. A field worker of each team on
// the schedule checks in to today's round with a second member, from the home
// page. The shared schedule fits a 1280 px screen, Sunday included.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';

import { checkAxe, launchBrowser, login, newDesktopPage, startServer } from './lib/harness.mjs';

// What each role's home page is about (`data-focus`) and a word of its work.
const FOCUS = {
  instance_admin: ['administration', /Territoires/],
  org_admin: ['coordination', /Signalements à traiter/],
  coordinator: ['coordination', /Signalements à traiter/],
  field_worker: ['field', /Maraudes du jour/],
  health_professional: ['field', /Maraudes du jour/],
  partner: ['partner', /Orientations en attente de réponse/],
  reader: ['figures', /Voir les chiffres/],
};

let browser;
let server;
before(async () => {
  browser = await launchBrowser();
  server = await startServer({ demo: true });
});
after(async () => {
  await server?.stop();
  await browser?.close();
});

async function phone() {
  const context = await browser.newContext({ viewport: { width: 375, height: 740 }, baseURL: server.baseURL, locale: 'fr-FR', timezoneId: 'Europe/Paris' });
  return context.newPage();
}

/** The demo accounts as `veille serve --demo` printed them: [email, role]. */
function printedAccounts() {
  const rows = [...server.logs().matchAll(/^\s+(\S+@demo\.veille\.invalid)\s+(\S+)/gm)].map((m) => [m[1], m[2]]);
  return [...new Map(rows).entries()];
}

test('every printed demo account lands on its work of the day, is offered only links it may follow, and keeps the phone screen for the page', async () => {
  const accounts = printedAccounts();
  assert.ok(accounts.length >= 15, `${accounts.length} demo accounts printed`);
  const roles = new Set(accounts.map(([, role]) => role));
  for (const role of Object.keys(FOCUS)) assert.ok(roles.has(role), `a demo account for ${role}`);
  for (const [email, role] of accounts) {
    const page = await phone();
    await login(page, email);
    assert.equal(new URL(page.url()).pathname, '/', `${email} lands on the home page`);
    const [focus, words] = FOCUS[role];
    assert.equal(await page.getAttribute('#today', 'data-focus'), focus, `${email}: ${focus}`);
    assert.match(await page.textContent('main'), words, `${email}: ${words}`);
    // The demo banner and the header take less than a third of the screen; the page's title is visible at once.
    const { headerBottom, h1Top } = await page.evaluate(() => ({
      headerBottom: document.querySelector('header.top').getBoundingClientRect().bottom,
      h1Top: document.querySelector('main h1').getBoundingClientRect().top,
    }));
    assert.ok(headerBottom <= 740 / 3, `${email}: banner and header end at ${headerBottom}px`);
    assert.ok(h1Top < 740 / 2, `${email}: the title starts at ${h1Top}px`);
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 1, `${email}: the home page overflows by ${overflow}px`);
    // Every link of the header answers 200 for this account.
    const links = await page.$$eval('header nav a[href]', (as) => as.map((a) => a.getAttribute('href')));
    assert.ok(links.length >= 3, `${email}: ${links}`);
    for (const href of links) {
      const r = await page.request.get(href);
      assert.equal(r.status(), 200, `${email} (${role}) follows ${href}`);
    }
    // Role-specific: what must not be offered.
    if (role === 'reader') {
      assert.ok(links.includes('/figures'), 'a reader has the figures');
      for (const no of ['/people', '/reports', '/referrals', '/rounds']) assert.ok(!links.includes(no), `a reader is not offered ${no}`);
    }
    if (role === 'partner') {
      assert.ok(links.includes('/referrals'), 'a partner has its referrals');
      for (const no of ['/people', '/reports', '/rounds', '/audit']) assert.ok(!links.includes(no), `a partner is not offered ${no}`);
    }
    if (role === 'field_worker' || role === 'health_professional') {
      assert.equal(await page.getAttribute('#record-encounter', 'href'), '/encounters/new');
    }
    if (email === 'terrain@demo.veille.invalid') {
      assert.match(await page.textContent('#handovers'), /Point d'eau du quai fermé/, 'the handover of last night');
      await checkAxe(page, 'phone_home_field_worker');
    }
    if (email === 'coordination@demo.veille.invalid') await checkAxe(page, 'phone_home_coordinator');
    await page.context().close();
  }
});

test('a field worker of each team checks in to today\'s round with a second member, from the home page', async () => {
  for (const [email, team] of [
    ['terrain@demo.veille.invalid', 'Maraude du soir 18e-19e'],
    ['mediateur@demo.veille.invalid', 'Médiation Chapelle – Éole'],
    ['sante@demo.veille.invalid', 'Équipe mobile santé'],
    ['rdr@demo.veille.invalid', 'Maraude RdR Stalingrad'],
  ]) {
    const page = await phone();
    await login(page, email);
    await page.click(`#today-rounds a:has-text("${team}")`);
    assert.match(await page.textContent('h1'), new RegExp(team));
    const me = page.locator('#members-field input[type=checkbox]:checked');
    assert.equal(await me.count(), 1, `${email} is ticked`);
    const others = page.locator('#members-field input[type=checkbox]:not(:checked)');
    assert.ok((await others.count()) >= 1, `${team} has a second member`);
    await others.first().check();
    await page.click('form[action$="/check-in"] button.primary');
    assert.match(await page.textContent('#round-status'), /En cours/, `${team} is out`);
    await page.context().close();
  }
});

test('the shared schedule fits a 1280 px screen, Sunday included', async () => {
  const page = await newDesktopPage(browser, server.baseURL);
  await login(page, 'mediation@demo.veille.invalid');
  await page.goto('/schedule');
  const { overflow, sunday, width } = await page.evaluate(() => {
    const r = document.querySelector('#weekday-7').getBoundingClientRect();
    return { overflow: document.documentElement.scrollWidth - window.innerWidth, sunday: { left: r.left, right: r.right }, width: window.innerWidth };
  });
  assert.ok(overflow <= 1, `the schedule overflows 1280 px by ${overflow}px`);
  assert.ok(sunday.left >= 0 && sunday.right <= width, `Sunday is on screen: ${JSON.stringify(sunday)}`);
  assert.match(await page.textContent('#weekday-7'), /Dimanche/);
  // The seven days side by side.
  const tops = await page.$$eval('.week > .day', (ds) => ds.map((d) => Math.round(d.getBoundingClientRect().top)));
  assert.equal(tops.length, 7);
  assert.equal(new Set(tops).size, 1, `one row of seven days: ${tops}`);
  await checkAxe(page, 'desktop_schedule');
  await page.context().close();
});
