// Complex cases and meetings in a real browser (headless Chromium).
// 1. A level-2 report becomes a case; a cellule's agenda lists it; a decision
//    becomes an action owned by a partner without accounts, who marks it done
//    through its link with the code given orally; the case closes with an outcome.
// 2. At 360 px: a health-promotion session with attendance by public and an
//    evaluation; a residents' meeting whose minutes reach the attendees through
//    a real SMTP sink, without any person's pseudonym (mails carry no case detail; the minutes page does, for the case team).
// Every page passes axe and fits the screen.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';

import { checkOnPhone as check, launchBrowser, login, newPhonePage, startServer, startSmtpSink } from './lib/harness.mjs';

let browser;
before(async () => { browser = await launchBrowser(); });
after(async () => { await browser?.close(); });

function isoDay(daysAhead) {
  const d = new Date(Date.now() + daysAhead * 86_400_000);
  return d.toISOString().slice(0, 10);
}

test('a level-2 report becomes a case, a cellule reviews it, a partner without accounts does the action through its link, the case closes', async () => {
  const sink = await startSmtpSink();
  const server = await startServer({ demo: true, env: { VEILLE_SMTP_HOST: sink.host, VEILLE_SMTP_PORT: String(sink.port) } });
  try {
    const page = await newPhonePage(browser, server.baseURL);
    await login(page, 'coordination@demo.veille.invalid');
    // A level-2 report of the demo (the API answers the session too).
    const reports = await page.evaluate(async () => (await fetch('/api/v1/reports?level=2')).json());
    assert.ok(reports.length > 0, 'the demo has level-2 reports');
    await page.goto(`/reports/${reports[0].id}`);
    await page.click('#open-case');
    await page.waitForURL(/\/cases\?origin=report/);
    await check(page, 'phone_case_open');
    await page.fill('#title', 'Famille B. (démo), sous le métro aérien');
    await page.click('form[action="/cases"] button.primary');
    await page.waitForURL(/\/cases\/[0-9a-f-]{36}$/);
    const casePath = new URL(page.url()).pathname;
    await check(page, 'phone_case');

    // A cellule de veille: the case is suggested for its agenda.
    await page.goto('/meetings');
    await page.selectOption('#kind', 'cellule');
    await page.fill('#title', 'Cellule de veille du 19e');
    await page.fill('#starts_at', `${isoDay(1)}T14:00`);
    await page.click('form[action="/meetings"] button.primary');
    await page.waitForURL(/\/meetings\/[0-9a-f-]{36}$/);
    const meetingPath = new URL(page.url()).pathname;
    const candidate = page.locator('#candidates li', { hasText: 'Famille B. (démo)' });
    await candidate.locator('button').click();
    await page.waitForURL(new RegExp(`${meetingPath}`));
    const item = page.locator('#agenda-items li', { hasText: 'Famille B. (démo)' });
    await item.locator('summary').click();
    await item.locator('textarea[name="notes"]').fill('Deux enfants scolarisés, pas de domiciliation.');
    await item.locator('input[name="decision"]').fill('Domiciliation au CCAS');
    await item.locator('input[name="owner_name"]').fill('CCAS du 19e (démo)');
    await item.locator('input[name="due_on"]').fill(isoDay(7));
    await item.locator('button.primary').click();
    const url = (await page.textContent('#action-link-url')).trim();
    const code = (await page.textContent('#action-link-code')).trim();
    assert.match(code, /^\d{6}$/);
    await check(page, 'phone_meeting_decision');
    // A partner without case access attends; the minutes it receives name no person.
    await page.goto(meetingPath);
    await page.fill('#email', 'samu.social@exemple.fr');
    await page.fill('#name', 'Samu social (démo)');
    await page.click('form[action$="/attendees"] button');
    await page.waitForURL(new RegExp(meetingPath));
    await page.click('#send-minutes');
    await page.waitForURL(/sent=1/);
    const outsider = await sink.waitForMessage((m) => m.to.includes('samu.social@exemple.fr') && /Compte rendu/.test(m.subject), { timeoutMs: 30_000 });
    assert.match(outsider.text, /Situation examinée/);
    assert.doesNotMatch(outsider.text, /Famille B\.|Domiciliation au CCAS|scolarisés/, 'no person, note or decision of the case for who may not read it');
    const own = await sink.waitForMessage((m) => m.to.includes('coordination@demo.veille.invalid') && /Compte rendu/.test(m.subject), { timeoutMs: 30_000 });
    assert.doesNotMatch(own.text, /Famille B\./, 'no mail carries a case\'s detail');
    assert.match(own.text, /\/minutes/, 'an account gets the link to the minutes page');
    await page.goto(`${meetingPath}/minutes`);
    assert.match(await page.textContent('#minutes-text'), /Famille B\. \(démo\)/, 'the case team reads the case on the minutes page');

    // The partner, without an account, opens its link with the code given by phone.
    const partner = await newPhonePage(browser, server.baseURL);
    await partner.goto(new URL(url).pathname);
    await partner.fill('#code', '000000' === code ? '111111' : '000000');
    await partner.click('button.primary');
    assert.equal(await partner.locator('#code-error').count(), 1, 'a wrong code is told');
    await partner.fill('#code', code);
    await partner.click('button.primary');
    assert.match(await partner.textContent('main'), /Domiciliation au CCAS/);
    assert.doesNotMatch(await partner.textContent('main'), /Famille B\./, 'the link shows the action, not the case');
    await check(partner, 'phone_action_link');
    await partner.selectOption('#status', 'done');
    await partner.fill('#result', 'Domiciliation faite le jour même.');
    await partner.click('button.primary');
    await partner.locator('#thanks').waitFor();

    // Back on the case: the action is done; the case closes with an outcome.
    await page.goto(casePath);
    const action = page.locator('#plan-actions li', { hasText: 'Domiciliation au CCAS' });
    assert.equal(await action.locator('[data-status="done"]').count(), 1);
    await page.selectOption('#outcome', 'sheltered');
    await page.click('form[action$="/close"] button');
    await page.waitForURL(new RegExp(casePath));
    assert.match(await page.textContent('#case-status'), /Close/);
    assert.match(await page.textContent('#case-status'), /Mise à l'abri/);
    await check(page, 'phone_case_closed');
  } finally {
    await server.stop();
    await sink.stop();
  }
});

test('on a phone: a health-promotion session counts its public and keeps its evaluation; a residents\' meeting mails its minutes', async () => {
  const sink = await startSmtpSink();
  const server = await startServer({ demo: true, env: { VEILLE_SMTP_HOST: sink.host, VEILLE_SMTP_PORT: String(sink.port) } });
  try {
    const phone = await newPhonePage(browser, server.baseURL);
    await login(phone, 'coordination-sante@demo.veille.invalid');
    await phone.goto('/meetings');
    await check(phone, 'phone_meetings');
    await phone.selectOption('#kind', 'health_session');
    await phone.fill('#title', 'Prévention des overdoses');
    await phone.fill('#starts_at', `${isoDay(2)}T10:00`);
    await phone.fill('#place', 'Local de l\'association');
    await phone.click('form[action="/meetings"] button.primary');
    await phone.waitForURL(/\/meetings\/[0-9a-f-]{36}$/);
    const session = new URL(phone.url()).pathname;
    for (const [pub, n] of [['drug_users', '9'], ['professionals', '3']]) {
      await phone.selectOption('#public', pub);
      await phone.fill('#count', n);
      await phone.click('form[action$="/attendees"] button');
      await phone.waitForURL(new RegExp(session));
    }
    await phone.fill('#evaluation', 'Naloxone distribuée à 9 personnes ; demande de formation des bénévoles.');
    await phone.click('form[action$="/held"] button');
    await phone.waitForURL(new RegExp(session));
    assert.match(await phone.textContent('#meeting-status'), /Tenue/);
    await check(phone, 'phone_session_held');
    await phone.goto(`${session}/minutes`);
    const minutes = await phone.textContent('#minutes-text');
    assert.match(minutes, /9 usagers de drogues/);
    assert.match(minutes, /3 professionnels/);
    assert.match(minutes, /Naloxone/);

    // A residents' meeting: a resident's representative without an account attends; the minutes are mailed.
    await phone.goto('/meetings');
    await phone.selectOption('#kind', 'residents');
    await phone.fill('#title', 'Réunion des résidents de la rue Pajol');
    await phone.fill('#starts_at', `${isoDay(3)}T18:30`);
    await phone.click('form[action="/meetings"] button.primary');
    await phone.waitForURL(/\/meetings\/[0-9a-f-]{36}$/);
    const residents = new URL(phone.url()).pathname;
    await phone.fill('#email', 'amicale.pajol@exemple.fr');
    await phone.fill('#name', 'Amicale des locataires Pajol');
    await phone.click('form[action$="/attendees"] button');
    await phone.waitForURL(new RegExp(residents));
    await phone.fill('#topic', 'Seringues dans la cour de l\'immeuble');
    await phone.click('form[action$="/items"] button');
    await phone.waitForURL(new RegExp(residents));
    const item = phone.locator('#agenda-items li', { hasText: 'Seringues' });
    await item.locator('summary').click();
    await item.locator('input[name="decision"]').fill('Pose d\'un récupérateur et passage de la maraude RdR le jeudi');
    await item.locator('button.primary').click();
    await phone.waitForURL(new RegExp(residents));
    await phone.click('#send-minutes');
    await phone.waitForURL(/sent=1/);
    await check(phone, 'phone_residents_minutes');
    const mail = await sink.waitForMessage((m) => m.to.includes('amicale.pajol@exemple.fr'), { timeoutMs: 30_000 });
    assert.match(mail.subject, /Compte rendu/);
    assert.match(mail.text, /récupérateur/);
    assert.doesNotMatch(mail.text, /Famille|Gavroche|Cosette/, 'no pseudonym in the minutes');
    // The minutes page links its PDF.
    await phone.goto(`${residents}/minutes`);
    await check(phone, 'phone_residents_minutes_page');
    const pdf = await phone.evaluate(async (href) => {
      const r = await fetch(href);
      const bytes = new Uint8Array(await r.arrayBuffer());
      return { status: r.status, type: r.headers.get('content-type'), head: String.fromCharCode(...bytes.slice(0, 5)) };
    }, await phone.getAttribute('#minutes-pdf', 'href'));
    assert.deepEqual(pdf, { status: 200, type: 'application/pdf', head: '%PDF-' });
  } finally {
    await server.stop();
    await sink.stop();
  }
});
