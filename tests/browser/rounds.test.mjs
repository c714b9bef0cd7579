// Sites and maraudes in a real browser (headless Chromium) on the demo
// instance. On a 360 px phone a field worker checks in with the second member
// of the evening team, visits stops, records an observation of a site and the
// distributions, checks out, and the daily report shows exactly what was
// recorded. The shared schedule shows several organisations and its
// iCalendar export passes three outside parsers. The map of sites, a site
// page with its charts and the coverage list pass axe. Every page fits 360 px.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtemp, writeFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import ICAL from 'ical.js';

import { checkAxe, launchBrowser, login, newPhonePage, REPO_ROOT, startServer } from './lib/harness.mjs';

const SITE = 'Campement du quai fictif (démo)';

let browser;
before(async () => { browser = await launchBrowser(); });
after(async () => { await browser?.close(); });

async function noOverflow(page, label) {
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 1, `${label} overflows a 360 px screen by ${overflow}px`);
}

async function fillByLabel(page, text, value) {
  const id = await page.locator('form[action$="/distributions"] label', { hasText: text }).first().getAttribute('for');
  await page.fill(`#${id}`, value);
}

async function pageCheck(page, label) {
  await checkAxe(page, label);
  await noOverflow(page, label);
}

test('on a phone, a pair goes out, visits, observes, distributes, comes back; the daily report shows exactly that', async () => {
  const server = await startServer({ demo: true });
  try {
    const phone = await newPhonePage(browser, server.baseURL);
    await login(phone, 'terrain@demo.veille.invalid');
    await phone.goto('/rounds');
    await pageCheck(phone, 'phone_rounds');
    await phone.click('#rounds-ahead a:has-text("Maraude du soir")');
    assert.match(await phone.textContent('h1'), /Maraude du soir/);
    await pageCheck(phone, 'phone_round_planned');
    // Alone: the pair rule refuses.
    const me = phone.locator('#members-field input[type=checkbox]:checked');
    assert.equal(await me.count(), 1, 'the field worker is ticked');
    await phone.click('form[action$="/check-in"] button.primary');
    assert.match(await phone.textContent('#members-error'), /binôme/);
    await pageCheck(phone, 'phone_round_pair_rule');
    // With the second member.
    await phone.check('#members-field label:has-text("Bao Binôme") input');
    await phone.click('form[action$="/check-in"] button.primary');
    assert.match(await phone.textContent('#round-status'), /En cours/);
    assert.match(await phone.textContent('#members'), /Théo Terrain[\s\S]*Bao Binôme|Bao Binôme[\s\S]*Théo Terrain/);
    await pageCheck(phone, 'phone_round_started');

    // First stop: the camp. Observe it from the round, then mark it visited.
    const stop = phone.locator('ol.stops > li', { hasText: SITE }).first();
    await stop.locator('a.button:has-text("Observer ce lieu")').click();
    await pageCheck(phone, 'phone_observation_form');
    await phone.fill('#people', '11');
    await phone.fill('#women', '3');
    await phone.fill('#men', '8');
    await phone.fill('#tents', '9');
    await phone.selectOption('#water', 'bad');
    await phone.click('form[action$="/observations"] button.primary');
    // Kept in the phone's outbox, sent, then back on the round (decision 90).
    await phone.waitForURL(/\/rounds\/[0-9a-f-]{36}$/);
    assert.match(await phone.textContent('h1'), /Maraude du soir/, 'back on the round');
    const stop2 = phone.locator('ol.stops > li', { hasText: SITE }).first();
    await stop2.locator('input[name=note]').fill('Accueil calme');
    await stop2.locator('button:has-text("Marquer visité")').click();
    assert.match(await phone.locator('ol.stops > li', { hasText: SITE }).first().textContent(), /Visité à/);

    // Distributions.
    await fillByLabel(phone, /^Repas\b/, '8');
    await fillByLabel(phone, /^Kits d'hygiène/, '3');
    await phone.click('form[action$="/distributions"] button');
    await pageCheck(phone, 'phone_round_distributions');
    // Back.
    await phone.click('#check-out');
    assert.match(await phone.textContent('h1'), /Compte rendu/);
    await phone.fill('#people_total', '6');
    await phone.fill('#people_new', '1');
    await phone.fill('#people_known', '5');
    await phone.fill('#handover', 'Repasser voir la famille au quai');
    await phone.click('form[action$="/report"] button.primary');
    await pageCheck(phone, 'phone_daily_report');

    // The report shows exactly what was recorded.
    const stops = await phone.locator('#report-stops li').allTextContents();
    assert.equal(stops.length, 1, `one stop visited: ${stops}`);
    assert.match(stops[0], new RegExp(`${SITE.replace(/[()]/g, '\\$&')}[\\s\\S]*Accueil calme`));
    const obs = await phone.locator('#report-observations li').allTextContents();
    assert.equal(obs.length, 1);
    assert.match(obs[0], /Personnes 11 · Femmes 3 · Mineurs 0 · Tentes 9 · État général Mauvais/);
    const rows = await phone.locator('#report-distributions tbody tr').allTextContents();
    assert.deepEqual(rows.map((r) => r.replace(/\s+/g, ' ').trim()).sort(), ['Kits d\'hygièneHygiène3', 'RepasAlimentation8'].sort());
    assert.match(await phone.textContent('#report-people'), /Total 6 · Rencontrées pour la première fois 1 · Déjà connues 5/);
    assert.match(await phone.textContent('#report-handover'), /Repasser voir la famille au quai/);
    assert.equal(await phone.locator('#report-incidents li').count(), 0);
    assert.match(await phone.textContent('section[aria-labelledby="r-inc"]'), /Aucun incident/);
    assert.match(await phone.textContent('#report-members'), /Bao Binôme/);
    await phone.context().close();
  } finally {
    await server.stop();
  }
});

test('the shared schedule, the map of sites, a site with its charts and the coverage list, on a phone; the iCalendar export parses', async () => {
  const server = await startServer({ demo: true });
  const tmp = await mkdtemp(path.join(os.tmpdir(), 'veille-ics-'));
  try {
    const phone = await newPhonePage(browser, server.baseURL);
    await login(phone, 'mediation@demo.veille.invalid');
    await phone.goto('/schedule');
    await pageCheck(phone, 'phone_schedule');
    const text = await phone.textContent('main');
    for (const org of ['Maraude Solidarité Nord (démo)', 'CAARUD La Chapelle (démo)', 'Santé dans la rue (démo)', 'Équipe de médiation Nord-Est (démo)']) {
      assert.ok(text.includes(org), `${org} in the shared schedule`);
    }
    // The iCalendar export, through three parsers nobody on the team wrote.
    const resp = await phone.request.get('/schedule.ics');
    assert.equal(resp.status(), 200);
    const ics = await resp.text();
    const jcal = ICAL.parse(ics);
    const cal = new ICAL.Component(jcal);
    assert.equal(cal.getFirstPropertyValue('version'), '2.0');
    assert.ok(cal.getFirstPropertyValue('prodid'));
    const events = cal.getAllSubcomponents('vevent');
    assert.ok(events.length >= 10, `${events.length} events`);
    for (const e of events) {
      for (const p of ['uid', 'dtstamp', 'dtstart', 'dtend', 'rrule']) assert.ok(e.getFirstPropertyValue(p), `${p} on every VEVENT`);
    }
    const file = path.join(tmp, 'maraudes.ics');
    await writeFile(file, ics);
    const py = path.join(REPO_ROOT, '.venv/bin/python');
    const out = execFileSync(py, ['-c', `
import sys, icalendar
from ical.calendar_stream import IcsCalendarStream
text = open(sys.argv[1], encoding="utf-8").read()
strict = IcsCalendarStream.calendar_from_ics(text)
cal = icalendar.Calendar.from_ical(text)
errors = [e for c in cal.walk() for e in c.errors]
assert not errors, errors
assert cal.get("VERSION") == "2.0" and cal.get("PRODID"), "VERSION and PRODID"
events = list(cal.walk("VEVENT"))
for e in events:
    for p in ("UID", "DTSTAMP", "DTSTART"):
        assert e.get(p) is not None, p
print(len(strict.events), len(events))
`, file]).toString().trim();
    const [strictCount, count] = out.split(' ').map(Number);
    assert.equal(strictCount, events.length, 'the strict parser reads every event');
    assert.equal(count, events.length);

    await phone.goto('/sites/map');
    await phone.waitForSelector('#sites-map .site-marker');
    assert.equal(await phone.locator('#sites-map .site-marker').count(), 5);
    assert.match(await phone.textContent('.legend'), /moins de 7 jours[\s\S]*Jamais observé/);
    await pageCheck(phone, 'phone_sites_map');
    await phone.goto('/sites');
    await pageCheck(phone, 'phone_sites');
    await phone.click(`a:has-text("${SITE}")`);
    assert.equal(await phone.locator('figure.chart svg').count(), 7);
    await pageCheck(phone, 'phone_site');
    await phone.goto('/coverage?days=7');
    const stale = await phone.textContent('#stale-sites');
    assert.ok(stale.includes('Squat de la rue Imaginaire (démo)') && stale.includes('Bidonville du talus inventé (démo)'), stale);
    assert.ok(!stale.includes('Scène de consommation de la rotonde'), 'seen yesterday');
    await pageCheck(phone, 'phone_coverage');
    await phone.goto('/sites/new');
    await pageCheck(phone, 'phone_site_new');
    await phone.context().close();
  } finally {
    await rm(tmp, { recursive: true, force: true });
    await server.stop();
  }
});
