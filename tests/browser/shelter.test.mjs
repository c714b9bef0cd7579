// Shelter in a real browser (headless Chromium), on a 360 px phone: the
// coordination books a hotel room for a family from the capacity board; the
// operator's night watchman updates tonight's places, records the family's
// arrival, then its exit with a destination. Every page passes axe and fits
// the screen.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';

import { checkOnPhone as check, launchBrowser, login, newPhonePage, startServer } from './lib/harness.mjs';

let browser;
before(async () => { browser = await launchBrowser(); });
after(async () => { await browser?.close(); });

test('on a phone: a booking from the board, tonight\'s places updated by the operator, an arrival and an exit with its destination', async () => {
  const server = await startServer({ demo: true });
  try {
    const phone = await newPhonePage(browser, server.baseURL);
    await login(phone, 'coordination@demo.veille.invalid');
    await phone.goto('/shelter');
    assert.match(await phone.textContent('#board'), /Hôtel Les Lilas/);
    await check(phone, 'phone_shelter_board');
    // Book tonight in the hotel from its line of the board.
    const hotelRow = phone.locator('#board tbody tr', { hasText: 'Hôtel Les Lilas' });
    await hotelRow.locator('td').first().locator('a').click();
    await phone.waitForURL(/\/shelter\/bookings\/new\?/);
    await check(phone, 'phone_booking_form');
    // A mistake first: no one named, too many places. Both are told, what was typed is kept.
    await phone.fill('#places', '99');
    await phone.fill('#nights', '5');
    await phone.click('form[action="/shelter/bookings"] button.primary');
    assert.match(await phone.textContent('.error-summary'), /Indiquez qui est hébergé/);
    assert.equal(await phone.inputValue('#nights'), '5');
    await check(phone, 'phone_booking_refused');
    await phone.fill('#label', 'Famille Pontmercy (démo)');
    await phone.fill('#places', '3');
    await phone.fill('#booking_ref', 'SAMU-9001');
    await phone.click('form[action="/shelter/bookings"] button.primary');
    await phone.waitForURL(/\/shelter\/stays\/[0-9a-f-]{36}$/);
    const stay = new URL(phone.url()).pathname;
    assert.match(await phone.textContent('#stay-status'), /Réservé/);
    await check(phone, 'phone_stay_booked');

    // The night watchman of the operator.
    const night = await newPhonePage(browser, server.baseURL);
    await login(night, 'veilleur@demo.veille.invalid');
    await night.goto('/shelter');
    await night.click('#operated a:has-text("Centre Saint-Martin")');
    await night.waitForURL(/\/shelter\/facilities\/[0-9a-f-]{36}/);
    await check(night, 'phone_facility');
    await night.fill('#places', '38');
    await night.fill('#note', 'Deux lits hors service');
    await night.click('form[action$="/nights"] button.primary');
    await night.waitForURL(/saved=1/);
    assert.match(await night.textContent('#saved'), /Places enregistrées/);
    assert.match(await night.textContent('#facility-nights tbody tr:first-child'), /38/);
    assert.match(await night.textContent('#facility-nights tbody tr:first-child'), /Deux lits hors service/);
    await check(night, 'phone_facility_saved');

    // The family arrives, then leaves for housing.
    await night.goto('/shelter/stays');
    await check(night, 'phone_stays');
    await night.click('#current a:has-text("Famille Pontmercy")');
    await night.waitForURL(stay);
    await night.click('#enter');
    await night.waitForURL(stay);
    assert.match(await night.textContent('#stay-status'), /Présent/);
    await night.click('#leave button.primary');
    assert.ok(await night.locator('#destination-error').count() === 1, 'a missing destination is told next to its field');
    await night.selectOption('#destination', 'housing');
    await night.click('#leave button.primary');
    await night.waitForURL(stay);
    assert.match(await night.textContent('#stay-status'), /Sorti/);
    assert.match(await night.textContent('#stay-destination'), /Logement/);
    await check(night, 'phone_stay_left');
  } finally {
    await server.stop();
  }
});
