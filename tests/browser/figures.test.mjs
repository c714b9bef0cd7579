// The figures dashboard in a real browser (headless Chromium), on a 360 px
// phone: a coordinator opens the dashboard (last month by default, beside
// the month before), goes back one month to compare, and downloads the
// spreadsheet; the people list exported with chosen columns and its progress.
// Every page passes axe and fits the screen.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';

import { checkOnPhone as check, launchBrowser, login, newPhonePage, startServer } from './lib/harness.mjs';

let browser;
before(async () => { browser = await launchBrowser(); });
after(async () => { await browser?.close(); });

function month(d) {
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}`;
}

test('on a phone: a coordinator opens last month\'s figures, compares with the month before and downloads the XLSX', async () => {
  const server = await startServer({ demo: true });
  try {
    const phone = await newPhonePage(browser, server.baseURL);
    await login(phone, 'coordination@demo.veille.invalid');
    // Reached from the header.
    await phone.goto('/');
    await phone.click('nav a[href="/figures"]');
    await phone.waitForURL(/\/figures$/);
    const now = new Date();
    const last = new Date(now.getFullYear(), now.getMonth() - 1, 1);
    const before = new Date(now.getFullYear(), now.getMonth() - 2, 1);
    const earlier = new Date(now.getFullYear(), now.getMonth() - 3, 1);
    assert.equal((await phone.textContent('#period-label')).trim(), month(last));
    assert.match(await phone.textContent('#comparison'), new RegExp(month(before)));
    assert.match(await phone.textContent('#reports-source thead'), new RegExp(`${month(last)}[\\s\\S]*${month(before)}`));
    await phone.locator('#chart-trend-reports').waitFor();
    // The map of territories (a choropleth, never a point) and its data table.
    await phone.locator('#figures-map.leaflet-container').waitFor();
    await phone.waitForFunction(() => document.getElementById('figures-map').dataset.count !== undefined);
    assert.equal(await phone.locator('#figures-map .leaflet-marker-icon').count(), 0, 'no record drawn as a point');
    assert.ok(await phone.locator('#map-table').isVisible());
    await check(phone, 'phone_figures_last_month');
    // A mistake is told next to its field, what was typed kept.
    await phone.fill('#at', '2026-13');
    await phone.click('#figures-form button.primary');
    await phone.locator('#at-error').waitFor();
    assert.equal(await phone.inputValue('#at'), '2026-13');
    await check(phone, 'phone_figures_refused');
    // The month before, compared with the one before it.
    await phone.fill('#at', month(before));
    await phone.click('#figures-form button.primary');
    await phone.waitForURL(/at=/);
    assert.equal((await phone.textContent('#period-label')).trim(), month(before));
    assert.match(await phone.textContent('#comparison'), new RegExp(month(earlier)));
    await check(phone, 'phone_figures_month_before');
    // The spreadsheet.
    const [download] = await Promise.all([phone.waitForEvent('download'), phone.click('#export-xlsx')]);
    assert.match(download.suggestedFilename(), /^chiffres-\d{4}-\d{2}\.xlsx$/);
    const bytes = await readFile(await download.path());
    assert.ok(bytes.length > 1000 && bytes[0] === 0x50 && bytes[1] === 0x4b, 'an XLSX (a zip) was downloaded');
    // A funder's view: the activity report with two chosen sections, kept in the address.
    await phone.click('#activity-report');
    await phone.waitForURL(/activity-report/);
    await phone.check('#section-territories');
    await phone.check('#section-sites');
    await phone.click('#sections-form button');
    await phone.waitForURL(/section=territories&section=sites/);
    assert.ok(await phone.isChecked('#section-sites'));
    assert.equal(await phone.isChecked('#section-reports'), false);
    assert.match(await phone.getAttribute('#report-pdf', 'href'), /section=territories&section=sites/);
    assert.match(await phone.getAttribute('#report-xlsx', 'href'), /section=territories&section=sites/);
    await check(phone, 'phone_figures_funder_view');
  } finally {
    await server.stop();
  }
});

test('on a phone: the people list exported with three chosen columns, the progress counting the lines the server announced', async () => {
  const server = await startServer({ demo: true });
  try {
    const phone = await newPhonePage(browser, server.baseURL);
    // The field worker: the files of their organisation.
    await login(phone, 'terrain@demo.veille.invalid');
    await phone.goto('/people');
    await phone.click('details.export summary');
    const wanted = ['id', 'gender', 'age_band'];
    for (const box of await phone.locator('details.export input[name="col"]').all()) {
      const code = await box.getAttribute('value');
      if (wanted.includes(code)) await box.check();
      else await box.uncheck();
    }
    await check(phone, 'phone_people_export_columns');
    const [download] = await Promise.all([phone.waitForEvent('download'), phone.click('details.export button[type="submit"]')]);
    const text = await readFile(await download.path(), 'utf8');
    const lines = text.split(/\r?\n/).filter((l) => l.length > 0);
    assert.deepEqual(lines[0].replace(/^\uFEFF/, '').split(/[;,]/), ['id', 'age_band', 'gender'], 'only the chosen columns, in the list\'s order');
    // The script read the answer as it came and says how many lines it got.
    const said = await phone.locator('details.export .export-progress output').textContent();
    const total = Number((said.match(/(\d+) lignes/) || [])[1]);
    assert.ok(total > 0, `the progress says how many lines: ${said}`);
    assert.equal(lines.length - 1, total, 'as many lines as announced');
    assert.equal(await phone.locator('details.export progress').evaluate((p) => p.value === p.max), true, 'the bar is full');
  } finally {
    await server.stop();
  }
});
