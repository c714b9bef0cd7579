// Neighbourhood work in a real browser (headless Chromium) on the demo
// instance, on SQLite and on PostgreSQL. On a 360 px phone, during the
// mediation team's round, the mediator records a mediation at a stop between
// a shopkeeper of the contact book and a person met, with a follow-up date;
// the coordinator finds that date in the follow-ups of the mediations list.
// Every page of the way passes axe and fits 360 px.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

import { checkAxe, launchBrowser, login, newPhonePage, startServer } from './lib/harness.mjs';

const PG = process.env.VEILLE_TEST_PG_URL || 'postgres://root@127.0.0.1:5432/test';
const TEAM = 'Médiation Chapelle – Éole';
const STOP = 'Carrefour des commerces fictif (démo)';

let browser;
before(async () => { browser = await launchBrowser(); });
after(async () => { await browser?.close(); });

function psql(sql) {
  const admin = new URL(PG);
  execFileSync('psql', ['-h', admin.hostname, '-p', admin.port || '5432', '-U', admin.username, '-d', admin.pathname.slice(1), '-v', 'ON_ERROR_STOP=1', '-qc', sql]);
}

async function pageCheck(page, label) {
  await checkAxe(page, label);
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 1, `${label} overflows a 360 px screen by ${overflow}px`);
}

/** In three days, as the date field takes it and as the list shows it. */
function followUpDate() {
  const d = new Date(Date.now() + 3 * 86_400_000);
  const parts = new Intl.DateTimeFormat('fr-CA', { timeZone: 'Europe/Paris', year: 'numeric', month: '2-digit', day: '2-digit' }).format(d);
  const [y, m, day] = parts.split('-');
  return { iso: `${y}-${m}-${day}`, shown: `${day}/${m}/${y}` };
}

async function mediationDuringARound(label, databaseUrl) {
  const server = await startServer({ databaseUrl, demo: true });
  try {
    // The mediator goes out with the coordinator of the mediation team.
    const phone = await newPhonePage(browser, server.baseURL);
    await login(phone, 'mediateur@demo.veille.invalid');
    await phone.click(`#today-rounds a:has-text("${TEAM}")`);
    assert.match(await phone.textContent('h1'), new RegExp(TEAM));
    await phone.check('#members-field label:has-text("Maé Médiation") input');
    await phone.click('form[action$="/check-in"] button.primary');
    assert.match(await phone.textContent('#round-status'), /En cours/);
    await pageCheck(phone, `${label}_phone_mediation_round`);

    // At the shops' crossroads: a mediation, one of the stop's actions.
    const stop = phone.locator('ol.stops > li', { hasText: STOP }).first();
    await stop.locator('a.button:has-text("Médiation")').click();
    assert.match(await phone.textContent('h1'), /Noter une médiation/);
    assert.equal(await phone.inputValue('#place'), STOP, 'the place comes from the stop');
    await pageCheck(phone, `${label}_phone_mediation_form`);
    const date = followUpDate();
    await phone.selectOption('#subject', 'gatherings');
    await phone.check('#contact label:has-text("Karim, gérant du tabac") input');
    await phone.check('#party_role label:has-text("Personne rencontrée") input');
    await phone.fill('#actions', 'Échange devant le rideau du tabac : la personne accepte de se tenir plus loin aux heures d\'ouverture.');
    await phone.selectOption('#outcome', 'partial');
    await phone.fill('#follow_up_on', date.iso);
    await phone.click('#mediation-form button.primary');
    await phone.waitForURL((u) => u.pathname.startsWith('/rounds/'));
    assert.match(await phone.textContent('#mediations'), /Regroupements[\s\S]*Réglé en partie/);
    assert.match(await phone.textContent('#mediations'), new RegExp(date.shown));
    await pageCheck(phone, `${label}_phone_round_with_mediation`);
    await phone.context().close();

    // The coordinator's list: the follow-up date, the parties by role.
    const coord = await newPhonePage(browser, server.baseURL);
    await login(coord, 'mediation@demo.veille.invalid');
    await coord.goto('/mediations');
    const followUps = await coord.textContent('#follow-ups');
    assert.match(followUps, new RegExp(`${date.shown}[\\s\\S]*Regroupements[\\s\\S]*Commerçant·e[\\s\\S]*Personne rencontrée`));
    await pageCheck(coord, `${label}_phone_mediations_list`);
    // The mediation itself names the shopkeeper to the coordinator (who reads the contact book).
    await coord.locator('#follow-ups li', { hasText: date.shown }).locator('a').first().click();
    assert.match(await coord.textContent('#parties'), /Karim, gérant du tabac/);
    await pageCheck(coord, `${label}_phone_mediation`);
    await coord.context().close();
  } finally {
    await server.stop();
  }
}

test('on a phone during a round, a mediation with a shopkeeper of the contact book and a person met; its follow-up in the coordinator\'s list (SQLite)', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'veille-mediation-'));
  await mediationDuringARound('sqlite', `sqlite://${dir}/veille.db`);
});

test('on a phone during a round, a mediation with a shopkeeper of the contact book and a person met; its follow-up in the coordinator\'s list (PostgreSQL)', async () => {
  const name = `veille_mediation_${process.pid}_${Date.now()}`;
  psql(`CREATE DATABASE ${name}`);
  try {
    const url = new URL(PG);
    url.pathname = `/${name}`;
    await mediationDuringARound('postgres', url.toString());
  } finally {
    psql(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  }
});
