// smartid-register-time.test.mjs — the Smart-ID registration code's time
// limit in a real browser, by keyboard only (WCAG 2.2.1 Timing Adjustable,
// 2.2.6 Timeouts, 2.1.1 Keyboard; issue 13 item 4; reg_more.c):
//
//   - the code page (the visit's clock): said up front; under 2 minutes
//     the status region warns, once, and points to "I need more time";
//     axe zero with the warning shown; the button by Tab and Enter (no
//     code typed) starts the page's window again, the focus on the news;
//   - the code typed, then "I need more time" by keyboard: the code
//     matches and its own window starts again (the confirm page says so);
//   - the confirm page: the warning once in the status region, axe zero
//     with it shown, "Confirm" by Enter still works.
//
// In German (the translations read in place: no English left). The page's
// clock runs fast (Playwright's page.clock); the server's expiries are
// brought near by SQL so that a press counts.  The integration side (the
// counts, the cap, CSRF, both engines) is
// tests/integration/smartid-register-time.test.mjs.
//
//   ninja -C build && eval "$(sh scripts/test-env.sh build)" && node --test tests/browser/smartid-register-time.test.mjs
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startServer } from '../integration/lib/harness.mjs';
import { sql as dbSql, sqlRows } from '../integration/lib/db.mjs';
import { issueCard, PIN } from '../integration/lib/eid.mjs';
import { SmartIdPhone, PORTAL } from '../integration/lib/smartid.mjs';
import { launchBrowser, Watch, assertAxe, newContext as newContextIn, at, pageText, untranslated } from './lib/browser.mjs';
import { portalTexts } from './lib/i18n.mjs';
import { tabTo as tabToIn } from './lib/keyboard.mjs';

const LANG = 'de';
const watch = new Watch();
let server;
let chrome;
let work;
let T;
let msgids;

before(async () => {
  ({ T, msgids } = portalTexts());
  // Words German writes as English does ("Name") are no English left.
  msgids = msgids.filter((id) => T.t(LANG, id) !== id);
  work = mkdtempSync(path.join(tmpdir(), 'sleutel-sidtime-'));
  server = await startServer({ demo: true, config: { smartid: { key_bits: 1024 } } });
  chrome = await launchBrowser(server);
});

after(async () => {
  await chrome?.close();
  await server?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

const tabTo = (page, label, pred, keyName) => tabToIn(page, server.base, label, pred, keyName);
const sql = (q) => dbSql(server, q);
const soon = (s) => Math.floor(Date.now() / 1000) + s;
const countAnnouncements = (page) => page.evaluate(() => {
  window.__said = [];
  const el = document.getElementById('timelimit-status');
  new MutationObserver(() => window.__said.push(el.textContent)).observe(el, { childList: true, characterData: true, subtree: true });
});

// Run the page's clock to 2 minutes before its deadline, then past it:
// nothing said before, the warning once after.
async function warned(page, label, warning) {
  assert.equal(await page.locator('#timelimit-status').getAttribute('role'), 'status');
  await countAnnouncements(page);
  const left = Number(await page.locator('#timelimit').getAttribute('data-remaining'));
  await page.clock.runFor((left - 125) * 1000);
  assert.equal(await page.locator('#timelimit-status').innerText(), '', `${label}: nothing said yet`);
  await page.clock.runFor(10000);
  assert.equal(await pageText(page, '#timelimit-status'), T.t(LANG, warning), `${label}: the warning`);
  await page.clock.runFor(30000);
  assert.equal((await page.evaluate(() => window.__said)).length, 1, `${label}: said once`);
  await assertAxe(page, `${label} with the warning (${LANG})`);
  assert.deepEqual(await untranslated(page, msgids), [], `${label}: English left`);
}

test('the registration code page and confirm page: warned once, more time by keyboard', async () => {
  const phone = await new SmartIdPhone(server).init();
  assert.equal((await phone.register({ deviceName: 'Pixel 8', language: LANG })).status, 201);
  const card = await issueCard(server.pkiDir, work, { given: 'Jan', family: 'Peeters', rrn: '85073003328' });
  const ctx = await newContextIn(chrome.browser, watch, 'sid-register-time', {
    consent: false, locale: 'de-BE',
    clientCertificates: [{ origin: server.eidBase, pfxPath: card.p12, passphrase: PIN }],
    ignoreHTTPSErrors: true, // Playwright's proxy to the eID origin: see tests/browser/eid.test.mjs
  });
  const page = await ctx.newPage();
  try {
    await page.clock.install();
    await page.goto(`${server.base}${PORTAL}/login?lang=${LANG}`);
    await page.waitForURL(at(server.base, '/key/eid'));
    await page.click('a.button');
    await page.waitForURL(at(server.base, `${PORTAL}/questions`));
    const answers = { '#email': 'jan@example.be', '#phone': '0470 12 34 56' };
    for (const [field, value] of Object.entries(answers)) await page.fill(field, value);
    await Promise.all([page.waitForURL(at(server.base, `${PORTAL}/code`)), page.check('#me').then(() => page.click('button[type="submit"]'))]);

    // The code page: the visit's clock.
    const limit = await pageText(page, '#timelimit-text');
    assert.match(limit, /^Zeitlimit: Diese Seite läuft in 1[45] Minuten ab\. Danach beginnen Sie neu: Melden Sie sich mit Ihrer eID-Karte an\. /);
    assert.ok(limit.endsWith(T.t(LANG, 'Need more time? "I need more time" adds time to this page, and to the code too when you have typed it.')), limit);
    await warned(page, 'code page', 'Less than 2 minutes left on this page. Need more time? Use the button below.');
    const visitId = crypto.createHash('sha256').update((await ctx.cookies()).find((c) => c.name === '__Host-sl_sidreg').value).digest('hex');
    sql(`UPDATE sid_visits SET expires = ${soon(60)} WHERE id = '${visitId}'`);
    await tabTo(page, 'code page', (s) => s.id === 'timelimit-more');
    await page.waitForURL((u) => u.pathname === `${PORTAL}/code` && u.searchParams.get('more') === '1');
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'timelimit-extended', 'the focus is on the news');
    assert.equal(await pageText(page, '#timelimit-extended'), T.t(LANG, 'More time was added.'));
    assert.equal(sqlRows(server, `SELECT extended FROM sid_visits WHERE id = '${visitId}'`)[0].extended, 1);
    await assertAxe(page, `code page after more time (${LANG})`);

    // The code typed, then "I need more time": the code's own clock too.
    sql(`UPDATE sid_registrations SET expires = ${soon(60)} WHERE id = '${phone.registrationId}'`);
    await tabTo(page, 'code page', (s) => s.id === 'code', 'End');
    await page.keyboard.type(phone.code);
    await tabTo(page, 'code page', (s) => s.id === 'timelimit-more');
    await page.waitForURL((u) => u.pathname === `${PORTAL}/confirm` && u.searchParams.get('more') === '1');
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'timelimit-extended');
    const reg = sqlRows(server, `SELECT extended, expires FROM sid_registrations WHERE id = '${phone.registrationId}'`)[0];
    assert.equal(reg.extended, 1);
    assert.ok(reg.expires >= soon(890), `the code's window again: ${reg.expires - soon(0)} s`);

    // The confirm page: the code's clock.
    await warned(page, 'confirm page', 'Less than 2 minutes left to confirm. Need more time? Use the button below.');
    await tabTo(page, 'confirm page', (s) => s.tag === 'button' && s.text === T.t(LANG, 'Confirm'));
    await page.waitForSelector('h1');
    assert.equal(await pageText(page, 'h1'), T.t(LANG, 'Continue on your phone'));
    assert.deepEqual([...watch.cspProblems(server.base), ...watch.otherProblems(server.base)], []);
  } finally {
    await ctx.close();
  }
});
