// account-smartid.test.mjs — the Smart-ID devices on the citizen's page
// /account in a real browser (Debian's Chromium through playwright-core):
// two registered devices (the test phone of lib/smartid.mjs and a virtual
// eID card), the login with the test key as the same person, the page in
// the four languages, a revoked device beside an active one, and removing
// a device; every page checked with axe-core (WCAG 2.0/2.1 A and AA: zero
// violations) and without CSP violations or console errors.
//
//   ninja -C build && eval "$(sh scripts/test-env.sh)" && node --test tests/browser/account-smartid.test.mjs
//
// Screenshots go to tests/artifacts/browser/7sN-name.png.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { startServer } from '../integration/lib/harness.mjs';
import { sql as dbSql } from '../integration/lib/db.mjs';
import { registerSmartId } from '../integration/lib/smartid.mjs';
import { launchBrowser, Watch, clearArtifacts, screenshot, axe, shots, at } from './lib/browser.mjs';

const JAN = { given: 'Jan', family: 'Peeters', rrn: '85073003328' };
let server;
let chrome;
let phone;
let tablet;
const watch = new Watch();

const sql = (q) => dbSql(server, q);

async function assertAccessible(page, label) {
  const violations = await axe(page, label);
  assert.equal(violations.length, 0, `${label}: ${violations.length} axe violation(s)`);
}

before(async () => {
  clearArtifacts(/^7s\d-/);
  server = await startServer({ demo: true, config: { smartid: { key_bits: 1024, rate_ip: 1000 } } });
  chrome = await launchBrowser(server);
  phone = await registerSmartId(server, JAN, { deviceName: 'Pixel 8' });
  tablet = await registerSmartId(server, JAN, { deviceName: 'Tablet' });
});

after(async () => {
  await chrome?.close();
  await server?.stop();
  if (shots.length) console.log(`screenshots: ${shots.length} in tests/artifacts/browser/`);
});

test('Smart-ID devices on the account page: four languages, a revoked one, removing one', async () => {
  const ctx = await chrome.browser.newContext({ locale: 'en-GB', viewport: { width: 1024, height: 800 } });
  ctx.setDefaultTimeout(10000);
  await watch.attach(ctx, 'account-smartid');
  const page = await ctx.newPage();
  const sidRows = page.locator('table.smartid tbody tr');
  try {
    await page.goto(`${server.base}/account/login?lang=en`);
    await page.waitForURL(at(server.base, '/login'));
    await page.click('a.key[href^="/key/test?"]');
    await page.waitForURL(at(server.base, '/key/test'));
    await page.fill('input[name="rrn"]', JAN.rrn);
    await page.fill('input[name="given_name"]', JAN.given);
    await page.fill('input[name="family_name"]', JAN.family);
    await page.click('button[name="mode"][value="direct"]');
    await page.waitForURL((u) => at(server.base, '/account')(u) && !u.searchParams.has('code'));
    assert.match(await page.locator('p.rp').innerText(), /Jan Peeters/);
    assert.equal(await sidRows.count(), 2);
    assert.equal(await sidRows.nth(0).locator('th').innerText(), 'Pixel 8');
    assert.equal(await sidRows.nth(1).locator('td').first().innerText(), tablet.document);
    await screenshot(page, '7s1-account-smartid-en');
    await assertAccessible(page, 'account page with Smart-ID (en)');

    for (const [i, lang] of ['nl', 'fr', 'de'].entries()) {
      await page.click(`nav.langs a[hreflang="${lang}"]`);
      await page.waitForURL((u) => at(server.base, '/account')(u) && u.searchParams.get('lang') === lang);
      assert.equal(await page.getAttribute('html', 'lang'), lang);
      assert.equal(await sidRows.count(), 2);
      await screenshot(page, `7s${2 + i}-account-smartid-${lang}`);
      await assertAccessible(page, `account page with Smart-ID (${lang})`);
    }

    // The tablet is revoked (a copy was seen): shown with why, no button.
    sql(`UPDATE sid_devices SET status = 'revoked', reason = 'clone' WHERE id = '${tablet.deviceId}'`);
    await page.goto(`${server.base}/account?lang=en`);
    assert.match(await sidRows.nth(1).innerText(), /Revoked: a copy of this device was detected/);
    assert.equal(await page.locator('form[action="/account/smartid/remove"]').count(), 1);
    await screenshot(page, '7s5-account-smartid-revoked');
    await assertAccessible(page, 'account page with a revoked Smart-ID device');

    await page.locator('form[action="/account/smartid/remove"] button').click();
    await page.waitForURL((u) => at(server.base, '/account')(u) && u.searchParams.get('sidremoved') === '1');
    assert.match(await page.locator('p.notice[role="status"]').innerText(), /Smart-ID device was removed/);
    assert.equal(await page.locator('form[action="/account/smartid/remove"]').count(), 0);
    assert.equal(sql(`SELECT status || ' ' || reason FROM sid_devices WHERE id = '${phone.deviceId}'`),
      'removed person');
    await screenshot(page, '7s6-account-smartid-removed');
    await assertAccessible(page, 'account page after removing a Smart-ID device');

    assert.deepEqual(watch.cspProblems(server.base), [], 'no CSP violations');
    assert.deepEqual(watch.otherProblems(server.base), [], 'no console errors');
  } finally {
    await ctx.close();
  }
});
