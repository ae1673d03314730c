// timers.test.mjs — timers people can use (WCAG 2.2.1 Timing Adjustable,
// 2.2.6 Timeouts; issue 13 item 4) in a real browser, by keyboard only:
//
//   - the sleutel app's wait page: the countdown is a silent role="timer";
//     the status region says "2 minutes left", "1 minute left" and, with
//     30 seconds left, a visible warning that offers more time — each once,
//     not every second; "I need more time" by Tab and Enter adds time (the
//     page comes back with the focus on "More time was added."), up to 10
//     times (past the login request's own end, which moves with it),
//     after which the page says no more can be added;
//   - the Smart-ID wait page announces the same thresholds and offers
//     more time the same way;
//   - a keyboard-only walkthrough: RP → key choice → eID page → key choice
//     → app form → wait page, and key choice → Smart-ID form → wait page:
//     every control is reached by Tab, shows its focus, and works by
//     Enter; axe finds nothing on any of those pages.
//
// The window is short by config ([app] request_lifetime 150, a legal
// value) and the page's clock runs fast (Playwright's page.clock), so the
// thresholds pass in milliseconds; the server's own expiry is real time.
// The numbers typed have no account: the decoy request's pages are the
// same, and no phone is needed.
//
//   ninja -C build && eval "$(sh scripts/test-env.sh build)" && node --test tests/browser/timers.test.mjs
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { startServer } from '../integration/lib/harness.mjs';
import { launchBrowser, Watch, shareDir, assertAxe, newContext as newContextIn, at } from './lib/browser.mjs';
import { startRp } from './lib/rp.mjs';
import { rrn } from '../integration/lib/eid.mjs';
import { loadCatalogs, staleCatalogs, translator } from './lib/i18n.mjs';
import { focused, tabThrough as tabThroughIn, tabTo as tabToIn } from './lib/keyboard.mjs';

const RP_NAME = 'Mijn gezondheid';
const LIFETIME = 150; // [app] and [smartid] request_lifetime: the wait and one extension's step
let server;
let chrome;
let rp;
let share;
let T;
const watch = new Watch();

before(async () => {
  const stale = staleCatalogs();
  if (stale.length) throw new Error(`po/${stale.join(', ')} older than po/*.po: run ninja first`);
  T = translator(loadCatalogs());
  share = shareDir();
  server = await startServer({
    demo: true,
    config: {
      portal: { data_dir: share },
      app: { rate_phone: 1000, rate_ip: 1000, rate_rp: 1000, request_lifetime: LIFETIME },
      smartid: { key_bits: 1024, request_lifetime: LIFETIME },
    },
  });
  [chrome, rp] = await Promise.all([launchBrowser(server), startRp(server, { name: RP_NAME })]);
});

after(async () => {
  await chrome?.close();
  await rp?.close();
  await server?.stop();
  if (share) rmSync(share, { recursive: true, force: true });
});

const newContext = (label, opts) => newContextIn(chrome.browser, watch, label, opts);

const tabThrough = (page, label) => tabThroughIn(page, server.base, label);
const tabTo = (page, label, pred, keyName) => tabToIn(page, server.base, label, pred, keyName);

const statusText = (page) => page.locator('#wait-status').innerText();
// The countdown is one translated sentence with the number in it.
const countdownText = async (page) => (await page.locator('#countdown').innerText()).trim();
const countdown = async (page) => Number((await countdownText(page)).match(/\d+/)[0]);
// The sentence the catalog gives for n seconds left: its singular form for 1
// (fr: also for 0), its plural form otherwise.
const secondsLeft = (lang, n) =>
  T.t(lang, (lang === 'fr' ? n <= 1 : n === 1) ? '%1 second left' : '%1 seconds left').replace('%1', String(n));

// The RP's login link by keyboard: the key choice.
async function keyChoiceByKeyboard(page, query = '?ui_locales=en') {
  await page.goto(`${rp.base}/${query}`);
  await tabTo(page, 'RP home', (s) => s.id === 'login');
  await page.waitForURL(at(server.base, '/login'));
  const stops = await tabThrough(page, 'key choice');
  for (const k of ['/key/eid?', '/key/app?', '/key/smartid?'])
    assert.ok(stops.some((s) => s.href.startsWith(k)), `the key choice reaches ${k} by Tab`);
  assert.ok(stops.some((s) => s.action === '/login/cancel'), 'the key choice reaches "cancel" by Tab');
  assert.ok(stops.some((s) => s.href.includes('lang=nl')), 'the language switch is reached by Tab');
  await assertAxe(page, 'key choice (en)');
  return stops;
}

test('app wait: silent timer, announcements at 2 min, 1 min, 30 s, more time by keyboard (10 times)', async () => {
  const ctx = await newContext('timers-app');
  const page = await ctx.newPage();
  try {
    await page.clock.install();
    await keyChoiceByKeyboard(page);
    // eID: its page by Enter, every control by Tab, back by keyboard.
    await tabTo(page, 'key choice', (s) => s.href.startsWith('/key/eid?'));
    await page.waitForURL(at(server.base, '/key/eid'));
    const eid = await tabThrough(page, 'eID page');
    assert.ok(eid.some((s) => s.text === T.t('en', 'Log in')), 'the eID "Log in" is reached by Tab');
    assert.ok(eid.some((s) => s.id === 'timelimit-more'), 'the eID page\'s "more time" is reached by Tab');
    await assertAxe(page, 'eID page (en)');
    await tabTo(page, 'eID page', (s) => s.href.startsWith('/login?'));
    await page.waitForURL(at(server.base, '/login'));
    // The app: the number typed, sent with Enter.
    await tabTo(page, 'key choice', (s) => s.href.startsWith('/key/app?'));
    await page.waitForURL(at(server.base, '/key/app'));
    const form = await tabThrough(page, 'app form');
    assert.ok(form.some((s) => s.id === 'phone'));
    await assertAxe(page, 'app form (en)');
    await tabTo(page, 'app form', (s) => s.id === 'phone', 'End');
    await page.keyboard.type('470 99 00 01');
    await page.keyboard.press('Enter');
    await page.waitForURL(at(server.base, '/key/app/wait'));

    // The wait page: a silent timer, an empty status region.
    assert.equal(await page.locator('.countdown').getAttribute('role'), 'timer');
    assert.equal(await page.locator('.countdown').getAttribute('aria-live'), 'off');
    assert.equal(await page.locator('#wait-status').getAttribute('role'), 'status');
    const start = await countdown(page);
    assert.ok(start > 140 && start <= LIFETIME, `starts near ${LIFETIME}: ${start}`);
    const stops = await tabThrough(page, 'app wait');
    assert.ok(stops.some((s) => s.id === 'extend'), '"more time" is reached by Tab');
    assert.ok(stops.some((s) => s.action === '/login/cancel'));
    await assertAxe(page, 'app wait (en)');

    // Time passes (the page's clock): each threshold once, in words.
    await page.clock.runFor((start - 125) * 1000);
    assert.equal(await statusText(page), '', 'nothing said before 2 minutes');
    await page.clock.runFor(6000);
    assert.equal(await statusText(page), T.t('en', '2 minutes left'));
    await page.clock.runFor(50000);
    assert.equal(await statusText(page), T.t('en', '2 minutes left'), 'not every second');
    await page.clock.runFor(12000);
    assert.equal(await statusText(page), T.t('en', '1 minute left'));
    await page.clock.runFor(25000);
    assert.equal(await statusText(page), T.t('en', '1 minute left'));
    await page.clock.runFor(8000);
    const warning = T.t('en', 'Less than 30 seconds left. Need more time? Use the button below.');
    assert.equal(await statusText(page), warning, 'the warning at 30 s offers more time');
    assert.ok(await page.locator('#wait-status.notice').isVisible(), 'the warning shows');
    const left = await countdown(page);
    assert.ok(left <= 30 && left > 20, `the countdown follows: ${left}`);
    await assertAxe(page, 'app wait with the warning (en)');

    // More time, by keyboard, ten times (past the login request's 15
    // minutes: it moves with the wait); then none.
    for (let i = 1; i <= 10; i++) {
      await tabTo(page, `app wait ${i}`, (s) => s.id === 'extend');
      await page.waitForURL((u) => u.pathname === '/key/app/wait' && u.searchParams.get('more') === '1');
      await page.locator('#wait-extended').waitFor();
      assert.equal(await page.evaluate(() => document.activeElement?.id), 'wait-extended', 'the focus is on the news');
      assert.equal((await page.locator('#wait-extended').innerText()).trim(), T.t('en', 'More time was added.'));
      const now = await countdown(page);
      assert.ok(now > LIFETIME, `extension ${i}: ${now} s left`);
      assert.equal(await page.locator('#extend').count(), i < 10 ? 1 : 0, `the button after ${i}`);
      // Tab goes on from the news to the next control.
      await page.keyboard.press('Tab');
      const next = await focused(page);
      assert.ok(next && next.visible, 'Tab from the news reaches a control, with visible focus');
    }
    assert.equal((await page.locator('p.hint').first().innerText()).trim(), T.t('en', 'No more time can be added.'));
    await assertAxe(page, 'app wait after 10 extensions (en)');
    // Cancel, by keyboard: back to the RP.
    await tabTo(page, 'app wait', (s) => s.action === '/login/cancel');
    await page.waitForURL((u) => u.origin === rp.base);
  } finally {
    await ctx.close();
  }
});

test('Smart-ID: the form and wait page by keyboard; the thresholds announced, more time by keyboard', async () => {
  const ctx = await newContext('timers-sid');
  const page = await ctx.newPage();
  try {
    await page.clock.install();
    await keyChoiceByKeyboard(page, '?ui_locales=nl');
    await tabTo(page, 'key choice', (s) => s.href.startsWith('/key/smartid?'));
    await page.waitForURL(at(server.base, '/key/smartid'));
    const form = await tabThrough(page, 'Smart-ID form');
    assert.ok(form.some((s) => s.tag === 'input' && s.type !== 'hidden'));
    await assertAxe(page, 'Smart-ID form (nl)');
    const field = form.find((s) => s.tag === 'input');
    await tabTo(page, 'Smart-ID form', (s) => s.key === field.key, 'End');
    await page.keyboard.type(rrn('850730', 977)); // no account: a decoy request
    await page.keyboard.press('Enter');
    await page.waitForURL(at(server.base, '/key/smartid/wait'));
    assert.equal(await page.locator('.countdown').getAttribute('aria-live'), 'off');
    const stops = await tabThrough(page, 'Smart-ID wait');
    assert.ok(stops.some((s) => s.action === '/key/smartid/wait'), '"continue" is reached by Tab');
    await assertAxe(page, 'Smart-ID wait (nl)');
    const start = await countdown(page);
    await page.clock.runFor((start - 119) * 1000);
    assert.equal(await statusText(page), T.t('nl', '2 minutes left'));
    await page.clock.runFor(60000);
    assert.equal(await statusText(page), T.t('nl', '1 minute left'));
    await page.clock.runFor(30000);
    assert.equal(await statusText(page), T.t('nl', 'Less than 30 seconds left. Need more time? Use the button below.'));
    // More time by keyboard here too.
    await tabTo(page, 'Smart-ID wait', (s) => s.id === 'extend');
    await page.waitForURL((u) => u.pathname === '/key/smartid/wait' && u.searchParams.get('more') === '1');
    await page.locator('#wait-extended').waitFor();
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'wait-extended');
    assert.equal((await page.locator('#wait-extended').innerText()).trim(), T.t('nl', 'More time was added.'));
    assert.ok(await countdown(page) > LIFETIME, 'the Smart-ID countdown moved on');
    // The sentence follows the number and its plural form (nl: 0 is plural).
    const now = await countdown(page);
    assert.equal(await countdownText(page), secondsLeft('nl', now));
    await page.clock.runFor((now - 1) * 1000);
    assert.equal(await countdownText(page), secondsLeft('nl', 1));
    assert.equal(await countdownText(page), T.t('nl', '%1 second left').replace('%1', '1'));
    await page.clock.runFor(1000);
    assert.equal(await countdownText(page), T.t('nl', '%1 seconds left').replace('%1', '0'));
    await assertAxe(page, 'Smart-ID wait after more time (nl)');
  } finally {
    await ctx.close();
  }
});

test('the countdown in French: the number inside the translated sentence, singular for 1 and 0', async () => {
  const ctx = await newContext('timers-fr');
  const page = await ctx.newPage();
  try {
    await page.clock.install();
    await page.goto(`${rp.base}/?ui_locales=fr`);
    await page.click('#login');
    await page.waitForURL(at(server.base, '/login'));
    await page.click('a[href^="/key/app?"]');
    await page.waitForURL(at(server.base, '/key/app'));
    await page.fill('#phone', '470 99 00 02');
    await page.press('#phone', 'Enter');
    await page.waitForURL(at(server.base, '/key/app/wait'));
    assert.equal(await page.evaluate(() => document.documentElement.lang), 'fr');
    const start = await countdown(page);
    assert.ok(start > 100 && start <= LIFETIME, `starts near ${LIFETIME}: ${start}`);
    const many = T.t('fr', '%1 seconds left');
    assert.notEqual(many, '%1 seconds left', 'fr has the entry');
    assert.equal(await countdownText(page), many.replace('%1', String(start)));
    await page.clock.runFor(10000);
    const later = await countdown(page);
    assert.ok(later < start && later >= start - 11, `the script counts: ${start} → ${later}`);
    assert.equal(await countdownText(page), many.replace('%1', String(later)));
    await page.clock.runFor((later - 2) * 1000);
    assert.equal(await countdownText(page), many.replace('%1', '2'));
    await page.clock.runFor(1000);
    assert.equal(await countdownText(page), T.t('fr', '%1 second left').replace('%1', '1'));
    await page.clock.runFor(1000);
    assert.equal(await countdownText(page), T.t('fr', '%1 second left').replace('%1', '0'), 'fr: 0 is singular');
    assert.equal(await countdownText(page), secondsLeft('fr', 0));
    assert.equal(await page.locator('#countdown').getAttribute('role'), 'timer');
    assert.equal(await page.locator('#countdown').getAttribute('aria-live'), 'off');
  } finally {
    await ctx.close();
  }
});

test('no CSP violation and no script error on those pages', () => {
  assert.deepEqual(watch.cspProblems(server.base), []);
  assert.deepEqual(watch.otherProblems(server.base), []);
});
