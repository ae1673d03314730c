// keyboard.test.mjs — the login request's own time limit, and the pages
// timers.test.mjs does not walk, by keyboard only (WCAG 2.1.1 Keyboard,
// 2.2.1 Timing Adjustable, 2.2.6 Timeouts, 2.4.7 Focus Visible; issue 13
// item 4):
//
//   - the form pages of a login (key choice, app number form, consent)
//     say the request's time limit up front in words, also without
//     script; with fewer than 2 minutes left the status region warns,
//     once, and once more when it is over (the page's clock runs fast:
//     [oidc] request_lifetime 180); "I need more time" by Tab and Enter
//     starts the window again (the focus comes back on the news), also
//     without script;
//   - the Smart-ID registration pages (intro, eID, questions, code,
//     confirm) by keyboard, with a virtual eID card and the test phone:
//     the confirm page says the code's time left up front, warns once
//     under 2 minutes, "Ik heb meer tijd nodig" by Tab and Enter starts
//     the code's window again (the focus on the news), and the page says
//     plainly what to do when it is over; axe zero on each;
//   - the consent page: every control by Tab with its focus showing,
//     "Share" by Enter, axe zero;
//   - the account page: Tab reaches the notices' "This was not me", the
//     devices' removal, the consent withdrawal and the export links, each
//     works by Enter, axe zero after each.
//
//   ninja -C build && eval "$(sh scripts/test-env.sh build)" && node --test tests/browser/keyboard.test.mjs
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { startServer, DEMO_PERSON } from '../integration/lib/harness.mjs';
import { sql as dbSql } from '../integration/lib/db.mjs';
import { enrolPhone } from '../integration/lib/phone.mjs';
import { launchBrowser, Watch, shareDir, assertAxe, newContext as newContextIn, at, pageText } from './lib/browser.mjs';
import { startRp } from './lib/rp.mjs';
import { loadCatalogs, staleCatalogs, translator } from './lib/i18n.mjs';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { issueCard, PIN } from '../integration/lib/eid.mjs';
import { SmartIdPhone, PORTAL } from '../integration/lib/smartid.mjs';
import { tabThrough as tabThroughIn, tabTo as tabToIn } from './lib/keyboard.mjs';

const RP_NAME = 'Mijn gezondheid';
const LIFETIME = 180; // [oidc] request_lifetime: the login request's own
const watch = new Watch();
let server;
let chrome;
let rp;
let share;
let work;
let T;

before(async () => {
  const stale = staleCatalogs();
  if (stale.length) throw new Error(`po/${stale.join(', ')} older than po/*.po: run ninja first`);
  T = translator(loadCatalogs());
  share = shareDir();
  work = mkdtempSync(path.join(tmpdir(), 'sleutel-kbd-'));
  server = await startServer({
    demo: true, // the PKI the Smart-ID registration's eID card needs
    config: { portal: { data_dir: share }, oidc: { request_lifetime: LIFETIME }, smartid: { key_bits: 1024 } },
  });
  [chrome, rp] = await Promise.all([launchBrowser(server), startRp(server, { name: RP_NAME })]);
});

after(async () => {
  await Promise.all([chrome?.close(), rp?.close()]);
  await server?.stop();
  if (share) rmSync(share, { recursive: true, force: true });
  if (work) rmSync(work, { recursive: true, force: true });
});

const newContext = (label, opts) => newContextIn(chrome.browser, watch, label, { consent: false, ...opts });
const tabThrough = (page, label) => tabThroughIn(page, server.base, label);
const tabTo = (page, label, pred, keyName) => tabToIn(page, server.base, label, pred, keyName);
const sql = (q) => dbSql(server, q);
const limitText = (lang, minutes) => minutes > 1
  ? T.t(lang, 'Time limit: this login request ends in %1 minutes. After that, go back to the site you came from and start again.').replace('%1', String(minutes))
  : T.t(lang, 'Time limit: this login request ends within a minute. After that, go back to the site you came from and start again.');
const WARNING = 'Less than 2 minutes left to finish logging in. Need more time? Use the button below.';

// Count what the status region says: each change is one announcement.
const countAnnouncements = (page) => page.evaluate(() => {
  window.__said = [];
  const el = document.getElementById('timelimit-status');
  new MutationObserver(() => window.__said.push(el.textContent)).observe(el, { childList: true, characterData: true, subtree: true });
});

test('the login request\'s time limit: said up front, warned once under 2 minutes', async () => {
  const ctx = await newContext('keyboard-limit', { locale: 'nl-BE' });
  const page = await ctx.newPage();
  try {
    await page.clock.install();
    await page.goto(`${rp.base}/?ui_locales=nl`);
    await tabTo(page, 'RP home', (s) => s.id === 'login');
    await page.waitForURL(at(server.base, '/login'));
    assert.equal(await pageText(page, '#timelimit-text'), limitText('nl', 3), 'the limit, in whole minutes');
    assert.equal(await page.locator('#timelimit-status').getAttribute('role'), 'status');
    assert.equal(await page.locator('#timelimit-status').innerText(), '');
    await countAnnouncements(page);
    await page.clock.runFor(50000);
    assert.equal(await page.locator('#timelimit-status').innerText(), '', 'nothing said with more than 2 minutes left');
    await page.clock.runFor(15000);
    assert.equal(await pageText(page, '#timelimit-status'), T.t('nl', WARNING));
    assert.ok(await page.locator('#timelimit-status.notice').isVisible(), 'the warning shows');
    await page.clock.runFor(100000);
    assert.equal((await page.evaluate(() => window.__said)).length, 1, 'said once, not every second');
    await assertAxe(page, 'key choice with the time warning (nl)');
    // The end, said once more: the request is over, start again.
    await page.clock.runFor(20000);
    const over = `${T.t('nl', 'This login request has expired')}. ${T.t('nl', 'Go back to the site you came from and start again.')}`;
    assert.equal(await pageText(page, '#timelimit-status'), over);
    await page.clock.runFor(30000);
    assert.equal((await page.evaluate(() => window.__said)).length, 2, 'the end said once');

    // The app number form says it too, and the key choice by keyboard.
    await tabTo(page, 'key choice', (s) => s.href.startsWith('/key/app?'));
    await page.waitForURL(at(server.base, '/key/app'));
    assert.match(await pageText(page, '#timelimit-text'), /^Tijdslimiet: /);
    await assertAxe(page, 'app form with the time limit (nl)');
  } finally {
    await ctx.close();
  }
  // Without script the words are there, the warning is not needed.
  const plain = await newContext('keyboard-limit-nojs', { javaScriptEnabled: false });
  const p2 = await plain.newPage();
  try {
    await p2.goto(`${rp.base}/?ui_locales=en`);
    await p2.click('#login');
    await p2.waitForURL(at(server.base, '/login'));
    assert.equal(await pageText(p2, '#timelimit-text'), limitText('en', 3));
  } finally {
    await plain.close();
  }
});

test('the consent page by keyboard: the time limit, every control, Share by Enter', async () => {
  const ctx = await newContext('keyboard-consent', { locale: 'en-GB' });
  const page = await ctx.newPage();
  try {
    await page.goto(`${rp.base}/?ui_locales=en&prompt=consent`);
    await tabTo(page, 'RP home', (s) => s.id === 'login');
    await page.waitForURL(at(server.base, '/login'));
    await tabTo(page, 'key choice', (s) => s.href.startsWith('/key/test?'));
    await page.waitForURL(at(server.base, '/key/test'));
    await tabTo(page, 'test key', (s) => s.tag === 'button' && s.text === T.t('en', 'Log in'));
    await page.waitForURL(at(server.base, '/login/consent'));
    const minutes = Number((await pageText(page, '#timelimit-text')).match(/ (\d+) /)?.[1] ?? 1);
    assert.ok(minutes >= 2 && minutes <= 3, `the consent page says the limit: ${minutes} minutes`);
    const stops = await tabThrough(page, 'consent');
    for (const d of ['Share', 'Do not share'])
      assert.ok(stops.some((s) => s.tag === 'button' && s.text === T.t('en', d)), `"${d}" by Tab`);
    assert.ok(stops.some((s) => s.id === 'timelimit-more' && s.action === '/login/more'), '"more time" by Tab');
    await assertAxe(page, 'consent (en)');
    await tabTo(page, 'consent', (s) => s.text === T.t('en', 'Share'));
    await page.waitForURL(at(rp.base, '/cb'));
    await page.locator('#claims').waitFor();
    assert.equal(rp.last().userinfo.national_register_number, DEMO_PERSON.rrn);
  } finally {
    await ctx.close();
  }
});

test('the account page by keyboard: "This was not me", removal, withdrawal, export', async () => {
  const outbox = {
    code: (number) => sql(`SELECT text FROM sms_outbox WHERE phone = '${number}' ORDER BY seq DESC LIMIT 1`)
      .match(/\b(\d{5})\b/)[1],
  };
  const kept = await enrolPhone(server, outbox, '0470 12 34 57', DEMO_PERSON);
  const stolen = await enrolPhone(server, outbox, '0470 12 34 58', DEMO_PERSON);
  const ctx = await newContext('keyboard-account', { locale: 'en-GB' });
  const page = await ctx.newPage();
  const onAccount = (param) => (u) => at(server.base, '/account')(u) && u.searchParams.get(param) === '1';
  try {
    await page.goto(`${server.base}/account`);
    await tabTo(page, 'account log-in', (s) => s.href.startsWith('/account/login'));
    await page.waitForURL(at(server.base, '/login'));
    await tabTo(page, 'key choice (account)', (s) => s.href.startsWith('/key/test?'));
    await page.waitForURL(at(server.base, '/key/test'));
    await tabTo(page, 'test key', (s) => s.tag === 'button' && s.text === T.t('en', 'Log in'));
    await page.waitForURL((u) => at(server.base, '/account')(u) && !u.searchParams.has('code'));

    const stops = await tabThrough(page, 'account');
    const has = (pred, what) => assert.ok(stops.some(pred), `${what} by Tab`);
    has((s) => s.action === '/account/notme' && s.text === T.t('en', 'This was not me'), '"This was not me"');
    has((s) => s.action === '/account/devices/remove', 'device removal');
    has((s) => s.action === '/account/consents/withdraw', 'consent withdrawal');
    has((s) => s.href.startsWith('/account/export?format=csv'), 'CSV export');
    has((s) => s.href.startsWith('/account/export?format=json'), 'JSON export');
    await assertAxe(page, 'account (en)');

    // The export by Enter: a download.
    const dl = page.waitForEvent('download');
    await tabTo(page, 'account', (s) => s.href.startsWith('/account/export?format=json'));
    assert.match((await dl).suggestedFilename(), /\.json$/);

    // The newest device's notice: "This was not me".
    await tabTo(page, 'account', (s) => s.action === '/account/notme' && s.text === T.t('en', 'This was not me'));
    await page.waitForURL(onAccount('notme'));
    assert.equal(sql(`SELECT count(*) FROM devices WHERE id IN ('${kept.deviceId}', '${stolen.deviceId}') AND status = 'removed'`),
      '1', 'one of the phones was blocked');
    await assertAxe(page, 'account after "This was not me"');

    // Remove a device, then withdraw the consent, each by Enter.
    await tabTo(page, 'account', (s) => s.action === '/account/devices/remove');
    await page.waitForURL(onAccount('removed'));
    await assertAxe(page, 'account after a removal');
    await tabTo(page, 'account', (s) => s.action === '/account/consents/withdraw');
    await page.waitForURL(onAccount('withdrawn'));
    assert.equal(await page.locator('form[action="/account/consents/withdraw"]').count(), 0, 'the consent is gone');
    assert.equal(sql(`SELECT count(*) FROM devices WHERE id IN ('${kept.deviceId}', '${stolen.deviceId}') AND status <> 'removed'`), '0');
    await assertAxe(page, 'account after the withdrawal');
  } finally {
    await ctx.close();
  }
});

test('the login request: "I need more time" by keyboard, and without script', async () => {
  const ctx = await newContext('keyboard-more', { locale: 'fr-BE' });
  const page = await ctx.newPage();
  try {
    await page.clock.install();
    await page.goto(`${rp.base}/?ui_locales=fr`);
    await tabTo(page, 'RP home', (s) => s.id === 'login');
    await page.waitForURL(at(server.base, '/login'));
    assert.equal(await pageText(page, '#timelimit-text'), limitText('fr', 3));
    await countAnnouncements(page);
    await page.clock.runFor(65000);
    assert.equal(await pageText(page, '#timelimit-status'), T.t('fr', WARNING), 'the warning names the button');
    await page.clock.runFor(30000);
    assert.equal((await page.evaluate(() => window.__said)).length, 1, 'said once');
    await assertAxe(page, 'key choice with the warning and the button (fr)');
    // The server's clock: as little left as the page's says.
    const req = new URL(page.url()).searchParams.get('req');
    sql(`UPDATE auth_requests SET expires = ${Math.floor(Date.now() / 1000) + 85} WHERE id = '${req}'`);
    await tabTo(page, 'key choice', (s) => s.id === 'timelimit-more');
    await page.waitForURL((u) => u.pathname === '/login' && u.searchParams.get('more') === '1');
    await page.locator('#timelimit-extended').waitFor();
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'timelimit-extended', 'the focus is on the news');
    assert.equal(await pageText(page, '#timelimit-extended'), T.t('fr', 'More time was added.'));
    assert.equal(await pageText(page, '#timelimit-text'), limitText('fr', 3), 'the window started again');
    assert.equal(await page.locator('#timelimit-status').innerText(), '', 'no warning on the new page');
    await assertAxe(page, 'key choice after more time (fr)');
  } finally {
    await ctx.close();
  }
  const plain = await newContext('keyboard-more-nojs', { javaScriptEnabled: false });
  const p2 = await plain.newPage();
  try {
    await p2.goto(`${rp.base}/?ui_locales=en`);
    await p2.click('#login');
    await p2.waitForURL(at(server.base, '/login'));
    // A minute left (a fresh request has its whole window: nothing to add).
    const req = new URL(p2.url()).searchParams.get('req');
    sql(`UPDATE auth_requests SET expires = ${Math.floor(Date.now() / 1000) + 60} WHERE id = '${req}'`);
    await p2.click('#timelimit-more');
    await p2.waitForURL((u) => u.pathname === '/login' && u.searchParams.get('more') === '1');
    assert.equal(await pageText(p2, '#timelimit-text'), limitText('en', 3), 'three minutes again');
    assert.equal(await pageText(p2, '#timelimit-extended'), 'More time was added.');
  } finally {
    await plain.close();
  }
});

test('the Smart-ID registration pages by keyboard; the code\'s time limit and more time on the confirm page', async () => {
  const phone = await new SmartIdPhone(server).init();
  const r = await phone.register({ deviceName: 'Pixel 8', language: 'nl' });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  const card = await issueCard(server.pkiDir, work, { given: 'Jan', family: 'Peeters', rrn: '85073003328' });
  const ctx = await newContext('keyboard-sid-register', {
    locale: 'nl-BE',
    clientCertificates: [{ origin: server.eidBase, pfxPath: card.p12, passphrase: PIN }],
    ignoreHTTPSErrors: true, // Playwright's proxy to the eID origin: see tests/browser/eid.test.mjs
  });
  const page = await ctx.newPage();
  try {
    await page.clock.install();
    await page.goto(`${server.base}${PORTAL}?lang=nl`);
    await assertAxe(page, 'registration intro (nl)');
    await tabTo(page, 'registration intro', (s) => s.href.startsWith(`${PORTAL}/login`));
    await page.waitForURL(at(server.base, '/key/eid'));
    await assertAxe(page, 'registration eID page (nl)');
    await tabTo(page, 'registration eID page', (s) => s.tag === 'a' && s.href.includes('/eid/login'));
    await page.waitForURL(at(server.base, `${PORTAL}/questions`));
    await assertAxe(page, 'questions (nl)');
    await tabTo(page, 'questions', (s) => s.id === 'email', 'End');
    await page.keyboard.type('someone@example.be');
    await tabTo(page, 'questions', (s) => s.id === 'phone', 'End');
    await page.keyboard.type('0470 12 34 56');
    await tabTo(page, 'questions', (s) => s.id === 'me', 'Space');
    await tabTo(page, 'questions', (s) => s.tag === 'button' && s.type === 'submit');
    await page.waitForURL(at(server.base, `${PORTAL}/code`));
    await assertAxe(page, 'code (nl)');
    await tabTo(page, 'code', (s) => s.id === 'code', 'End');
    await page.keyboard.type(phone.code);
    await page.keyboard.press('Enter');
    await page.waitForURL(at(server.base, `${PORTAL}/confirm`));

    // The code's time left, up front, in whole minutes (the plural form).
    const text = await pageText(page, '#timelimit-text');
    const m = text.match(/^Tijdslimiet: je registratiecode werkt nog (\d+) minuten\. Daarna begin je de registratie opnieuw/);
    assert.ok(m && Number(m[1]) >= 14 && Number(m[1]) <= 15, text);
    const stops = await tabThrough(page, 'confirm');
    assert.ok(stops.some((s) => s.tag === 'button' && s.text === T.t('nl', 'Confirm')), '"Confirm" by Tab');
    await assertAxe(page, 'confirm with its time limit (nl)');
    await countAnnouncements(page);
    const left = Number(await page.locator('#timelimit').getAttribute('data-remaining'));
    await page.clock.runFor((left - 125) * 1000);
    assert.equal(await page.locator('#timelimit-status').innerText(), '', 'nothing said with more than 2 minutes left');
    await page.clock.runFor(10000);
    const warn = 'Less than 2 minutes left to confirm. Need more time? Use the button below.';
    assert.equal(await pageText(page, '#timelimit-status'), T.t('nl', warn));
    await page.clock.runFor(60000);
    assert.equal((await page.evaluate(() => window.__said)).length, 1, 'said once');
    await assertAxe(page, 'confirm with the warning (nl)');
    // "Ik heb meer tijd nodig" by Tab and Enter: the code's window starts
    // again (the server's own expiry first brought near, so that it counts).
    sql(`UPDATE sid_registrations SET expires = ${Math.floor(Date.now() / 1000) + 60} WHERE id = '${phone.registrationId}'`);
    await tabTo(page, 'confirm with the warning', (s) => s.id === 'timelimit-more');
    await page.waitForURL((u) => u.pathname === `${PORTAL}/confirm` && u.searchParams.get('more') === '1');
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'timelimit-extended', 'the focus is on the news');
    assert.equal(await pageText(page, '#timelimit-extended'), T.t('nl', 'More time was added.'));
    assert.match(await pageText(page, '#timelimit-text'), /^Tijdslimiet: je registratiecode werkt nog 1[45] minuten\./);
    await assertAxe(page, 'confirm after more time (nl)');
    await countAnnouncements(page);
    const left2 = Number(await page.locator('#timelimit').getAttribute('data-remaining'));
    await page.clock.runFor((left2 + 5) * 1000);
    const over = 'Your registration code has expired. Start the registration again in the Smart-ID app: it shows a new code.';
    assert.equal(await pageText(page, '#timelimit-status'), T.t('nl', over), 'what to do at the end, plainly');
    assert.equal((await page.evaluate(() => window.__said)).length, 2, 'the warning, then the end, each said once');
    // The server's own clock has not run: Confirm by Enter still works.
    await tabTo(page, 'confirm', (s) => s.tag === 'button' && s.text === T.t('nl', 'Confirm'));
    await page.waitForSelector('h1');
    assert.equal(await pageText(page, 'h1'), T.t('nl', 'Continue on your phone'));
    await assertAxe(page, 'registration done (nl)');
  } finally {
    await ctx.close();
  }
});

test('the pages walked: no CSP violation, no script error', () => {
  const problems = [...watch.cspProblems(server.base), ...watch.otherProblems(server.base)];
  assert.deepEqual(problems, [], 'what the browser reported on the portal');
});
