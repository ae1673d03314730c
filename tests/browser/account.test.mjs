// account.test.mjs — the citizen's page /account in a real browser
// (Debian's Chromium through playwright-core): the log-in page, the login
// through the portal's key choice with the test key, the page with a phone
// and the login history in the four languages, removing the phone; a
// second phone's notice and "This was not me", the export links; every
// page checked with axe-core (WCAG 2.0/2.1 A and AA: zero violations) and
// without CSP violations or console errors.
//
//   ninja -C build && eval "$(sh scripts/test-env.sh)" && node --test tests/browser/account.test.mjs
//
// Screenshots go to tests/artifacts/browser/7N-name.png.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { startServer, DEMO_PERSON } from '../integration/lib/harness.mjs';
import { sql as dbSql } from '../integration/lib/db.mjs';
import { enrolPhone } from '../integration/lib/phone.mjs';
import { launchBrowser, Watch, clearArtifacts, screenshot, axe, shots, at } from './lib/browser.mjs';

let server;
let chrome;
let phone;
const watch = new Watch();


const sql = (q) => dbSql(server, q);

// The outbox as phone.mjs's SMS gateway: the last code sent to a number.
const outbox = {
  code: (number) => sql(`SELECT text FROM sms_outbox WHERE phone = '${number}' ORDER BY seq DESC LIMIT 1`)
    .match(/\b(\d{5})\b/)[1],
};

async function assertAccessible(page, label) {
  const violations = await axe(page, label);
  assert.equal(violations.length, 0, `${label}: ${violations.length} axe violation(s)`);
}

// From the account's log-in page through the key choice and the test key.
async function logIn(page) {
  await page.click('a.button[href^="/account/login"]');
  await page.waitForURL(at(server.base, '/login'));
  assert.match(await page.locator('p.rp').innerText(), /sleutel/, 'the key choice names sleutel itself');
  await page.click('a.key[href^="/key/test?"]');
  await page.waitForURL(at(server.base, '/key/test'));
  await page.click('button[name="mode"][value="direct"]');
  await page.waitForURL((u) => at(server.base, '/account')(u) && !u.searchParams.has('code'));
}

before(async () => {
  clearArtifacts(/^7\d-/);
  server = await startServer();
  chrome = await launchBrowser(server);
  phone = await enrolPhone(server, outbox, '0470 12 34 56', DEMO_PERSON);
});

after(async () => {
  await chrome?.close();
  await server?.stop();
  if (shots.length) console.log(`screenshots: ${shots.length} in tests/artifacts/browser/`);
});

test('the account page: log in, see the phone and the history in four languages, remove the phone', async () => {
  const ctx = await chrome.browser.newContext({ locale: 'en-GB', viewport: { width: 1024, height: 800 } });
  ctx.setDefaultTimeout(10000);
  await watch.attach(ctx, 'account');
  const page = await ctx.newPage();
  try {
    await page.goto(`${server.base}/account`);
    assert.equal(await page.getAttribute('html', 'lang'), 'en', 'Accept-Language en-GB');
    await screenshot(page, '70-account-login');
    await assertAccessible(page, 'account log-in page');

    await logIn(page);
    assert.equal(new URL(page.url()).searchParams.get('state'), null, 'the code and state left the address');
    assert.match(await page.locator('p.rp').innerText(), /Demo Citizen/);
    assert.equal(await page.locator('th[scope="row"]').first().innerText(), 'Test phone');
    assert.equal(await page.locator('table.history tbody tr').count(), 1);
    await screenshot(page, '71-account-en');
    await assertAccessible(page, 'account page (en)');

    for (const [i, lang] of ['nl', 'fr', 'de'].entries()) {
      await page.click(`nav.langs a[hreflang="${lang}"]`);
      await page.waitForURL((u) => at(server.base, '/account')(u) && u.searchParams.get('lang') === lang);
      assert.equal(await page.getAttribute('html', 'lang'), lang);
      await screenshot(page, `${72 + i}-account-${lang}`);
      await assertAccessible(page, `account page (${lang})`);
    }

    await page.click(`nav.langs a[hreflang="en"]`);
    await page.waitForURL((u) => u.searchParams.get('lang') === 'en');
    await page.locator('form[action="/account/devices/remove"] button').click();
    await page.waitForURL((u) => at(server.base, '/account')(u) && u.searchParams.get('removed') === '1');
    assert.match(await page.locator('p.notice[role="status"]').innerText(), /removed/);
    assert.equal(await page.locator('form[action="/account/devices/remove"]').count(), 0);
    assert.equal(sql(`SELECT status FROM devices WHERE id = '${phone.deviceId}'`), 'removed');
    await screenshot(page, '75-account-removed');
    await assertAccessible(page, 'account page after the removal');

    assert.deepEqual(watch.cspProblems(server.base), [], 'no CSP violations');
    assert.deepEqual(watch.otherProblems(server.base), [], 'no console errors');
  } finally {
    await ctx.close();
  }
});

test('a new phone: its notice at the top, "This was not me" blocks it; the export links', async () => {
  const second = await enrolPhone(server, outbox, '0470 12 34 56', DEMO_PERSON);
  const ctx = await chrome.browser.newContext({ locale: 'en-GB', viewport: { width: 1024, height: 800 } });
  ctx.setDefaultTimeout(10000);
  await watch.attach(ctx, 'account-notme');
  const page = await ctx.newPage();
  try {
    await page.goto(`${server.base}/account`);
    await logIn(page);
    const alerts = page.locator('section.alerts li');
    assert.match(await alerts.first().innerText(), /A device was added to your account: Test phone/);
    assert.equal(await page.locator('a[download][href^="/account/export?format=csv"]').count(), 1);
    assert.equal(await page.locator('a[download][href^="/account/export?format=json"]').count(), 1);
    await screenshot(page, '76-account-notice');
    await assertAccessible(page, 'account page with a notice');

    await alerts.first().locator('form[action="/account/notme"] button').click();
    await page.waitForURL((u) => at(server.base, '/account')(u) && u.searchParams.get('notme') === '1');
    assert.match(await page.locator('div.notice[role="status"]').innerText(), /The device was blocked\.[\s\S]*What happens next/);
    assert.equal(sql(`SELECT status FROM devices WHERE id = '${second.deviceId}'`), 'removed');
    await screenshot(page, '77-account-notme');
    await assertAccessible(page, 'account page after "This was not me"');
    assert.deepEqual(watch.cspProblems(server.base), [], 'no CSP violations');
    assert.deepEqual(watch.otherProblems(server.base), [], 'no console errors');
  } finally {
    await ctx.close();
  }
});
