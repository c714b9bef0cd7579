// Foundation in a real browser (headless Chromium): login with a TOTP second
// factor, recovery codes, language switch, demo roles and their scope, and an
// axe-core check of every page that exists. Also validates the OpenAPI
// document and the territories GeoJSON with outside validators.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { check as checkGeojson } from '@placemarkio/check-geojson';

import { REPO_ROOT, checkAxe, launchBrowser, newDesktopPage, newPhonePage, startServer, totp } from './lib/harness.mjs';

const BIN = path.resolve(REPO_ROOT, process.env.VEILLE_BIN || 'target/debug/veille');
const DEMO_PASSWORD = 'démo veille paris 2026';
const ADMIN = { email: 'chef@exemple.fr', password: 'la lune se lève sur le canal' };

let browser;
before(async () => { browser = await launchBrowser(); });
after(async () => { await browser?.close(); });

async function login(page, email, password) {
  await page.goto('/login');
  await page.fill('#email', email);
  await page.fill('#password', password);
  await page.click('button.primary');
}

test('an administrator enrols TOTP, logs in with a code or a recovery code, and switches language', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'veille-browser-'));
  const databaseUrl = `sqlite://${dir}/veille.db`;
  execFileSync(BIN, ['admin', 'create-admin', '--email', ADMIN.email, '--name', 'Chef de test', '--password-stdin'], {
    env: { ...process.env, DATABASE_URL: databaseUrl },
    input: ADMIN.password,
  });
  const server = await startServer({ databaseUrl });
  try {
    const page = await newPhonePage(browser, server.baseURL);
    await page.goto('/');
    assert.match(page.url(), /\/login$/, 'not logged in: sent to the login page');
    await checkAxe(page, 'login');
    // A wrong password: a clear message next to the field, the e-mail kept.
    await login(page, ADMIN.email, 'pas le bon mot de passe');
    assert.equal(await page.inputValue('#email'), ADMIN.email);
    assert.match(await page.textContent('#password-error'), /incorrect/);
    await checkAxe(page, 'login-error');
    // First login: enrolment is mandatory.
    await login(page, ADMIN.email, ADMIN.password);
    assert.match(page.url(), /\/enrol$/);
    await checkAxe(page, 'enrol');
    const secret = (await page.textContent('#totp-secret')).trim();
    await page.fill('#code', totp(secret));
    await page.click('button.primary');
    const codes = await page.$$eval('#recovery-codes code', (els) => els.map((e) => e.textContent.trim()));
    assert.equal(codes.length, 10);
    await checkAxe(page, 'recovery-codes');
    await page.click('a.button.primary');
    assert.match(await page.textContent('h1'), /Aujourd'hui/);
    // Log out, log in again with a recovery code (the TOTP code of this 30 s step was used).
    // The logout first asks the offline outbox (it may hold unsent work), then
    // submits: wait for the login page before typing, as a person would.
    await Promise.all([page.waitForURL((u) => u.pathname === '/login'), page.click('header form[action="/logout"] button')]);
    await login(page, ADMIN.email, ADMIN.password);
    assert.match(page.url(), /\/login\/second-factor$/);
    await checkAxe(page, 'second-factor');
    await page.fill('#code', '000000');
    await page.click('button.primary');
    assert.match(await page.textContent('#code-error'), /pas valide/);
    await page.fill('#code', codes[0]);
    await page.click('button.primary');
    assert.match(await page.textContent('h1'), /Aujourd'hui/);
    // Language switch, remembered.
    await page.click('form.lang button');
    assert.equal(await page.getAttribute('html', 'lang'), 'en');
    assert.match(await page.textContent('h1'), /Today/);
    await page.goto('/account');
    assert.match(await page.textContent('h1'), /My account/);
    await page.context().close();
    // Privacy: after all this, the server's logs hold no e-mail, password, secret or recovery code.
    const logs = server.logs();
    assert.ok(logs.includes('route=/login') || logs.includes('/login'), 'request lines were logged');
    for (const marker of [ADMIN.email, ADMIN.password, 'pas le bon mot de passe', secret, ...codes]) {
      assert.ok(!logs.includes(marker), `the logs contain a planted marker: ${marker.slice(0, 4)}…`);
    }
  } finally {
    await server.stop();
  }
});

const ROLES = [
  ['admin@demo.veille.invalid', 7, true],
  ['orga@demo.veille.invalid', 1, true],
  ['coordination@demo.veille.invalid', 1, false],
  ['terrain@demo.veille.invalid', 1, false],
  ['sante@demo.veille.invalid', 1, false],
  ['partenaire@demo.veille.invalid', 1, false],
  ['lecture@demo.veille.invalid', 1, false],
];

test('on the demo instance every role logs in and sees its scope; every page passes axe', async () => {
  const server = await startServer({ demo: true });
  try {
    for (const [email, orgs, audit] of ROLES) {
      const page = await newPhonePage(browser, server.baseURL);
      await login(page, email, DEMO_PASSWORD);
      assert.match(await page.textContent('.demo-banner'), /démonstration/);
      await page.goto('/organisations');
      assert.equal(await page.locator('main ul.list li').count(), orgs, `${email} sees ${orgs} organisation(s)`);
      const auditResp = await page.goto('/audit');
      assert.equal(auditResp.status() === 200, audit, `${email}: audit log ${audit ? 'readable' : 'refused'}`);
      await page.context().close();
    }

    // Every HTML page of the registry, as the instance administrator, on a phone and a desktop.
    const routes = JSON.parse(execFileSync(BIN, ['routes']).toString());
    const page = await newPhonePage(browser, server.baseURL);
    await login(page, 'admin@demo.veille.invalid', DEMO_PASSWORD);
    const api = async (p) => page.evaluate(async (u) => (await fetch(u)).json(), p);
    const me = await api('/api/v1/me');
    const orgsList = await api('/api/v1/organisations');
    const terrs = await api('/api/v1/territories');
    await page.goto(`/organisations/${me.account.organisation_id}`);
    const teamHref = await page.getAttribute('a[href^="/teams/"]', 'href');
    const ids = { organisations: orgsList[0].id, users: me.account.id, teams: teamHref.split('/')[2], territories: terrs[0].id };
    const pages = routes.filter((r) => r.method === 'GET' && r.access !== 'pending_second_factor'
      && !r.path.startsWith('/api/') && !r.path.startsWith('/open311/') && !r.path.startsWith('/static/')
      && !['/healthz', '/readyz', '/metrics'].includes(r.path) && !/\.(geojson|json|webmanifest|js|csv|ics|xlsx|pdf)$/.test(r.path));
    assert.ok(pages.length >= 10, `pages found: ${pages.length}`);
    const desktop = await newDesktopPage(browser, server.baseURL);
    await login(desktop, 'admin@demo.veille.invalid', DEMO_PASSWORD);
    for (const r of pages) {
      const kind = r.path.split('/')[1];
      const url = r.path.replace('{id}', ids[kind] || 'x').replace('{token}', 'lien-inconnu');
      for (const [p, label] of [[page, 'phone'], [desktop, 'desktop']]) {
        await p.goto(url);
        await checkAxe(p, `${label}${url.replaceAll('/', '_')}`);
        // Usable at 360 px: nothing wider than the screen.
        if (label === 'phone') {
          const overflow = await p.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
          assert.ok(overflow <= 1, `${url} overflows a 360 px screen by ${overflow}px`);
        }
      }
    }
    // The "who can see this" panel is on record pages.
    await page.goto(`/users/${me.account.id}`);
    assert.ok(await page.locator('#who-can-see').count() === 1);

    // Outside validators: the OpenAPI document and the territories GeoJSON.
    const spec = await (await fetch(`${server.baseURL}/api/v1/openapi.json`)).text();
    const specFile = path.join(os.tmpdir(), `veille-openapi-${process.pid}.json`);
    await writeFile(specFile, spec);
    execFileSync(path.join(REPO_ROOT, '.venv/bin/openapi-spec-validator'), [specFile]);
    const geo = await page.evaluate(async () => (await fetch('/territories.geojson')).text());
    const parsed = checkGeojson(geo);
    assert.equal(parsed.features.length, 143);
    await page.context().close();
    await desktop.context().close();
  } finally {
    await server.stop();
  }
});
