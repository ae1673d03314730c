// portal.test.mjs — the portal in a real browser (Debian's Chromium through
// playwright-core): the whole login of a relying party, the four languages,
// accessibility (axe-core, WCAG 2.0/2.1 A and AA), the wait page moved on by
// the waiter registry, the portal without JavaScript, and the CSP.
//
//   ninja -C build && eval "$(sh scripts/test-env.sh)" && node --test tests/browser/
//
// Screenshots of the steps go to tests/artifacts/browser/NN-name.png.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { startServer, DEMO_PERSON } from '../integration/lib/harness.mjs';
import { launchBrowser, Watch, clearArtifacts, screenshot, axe, formatViolations, untranslated, shots, axeBuilder, certInfo,
  newContext as newContextIn, at, pageText } from './lib/browser.mjs';
import { startRp } from './lib/rp.mjs';
import { loadCatalogs, staleCatalogs, englishMsgids, translator, LANG_NAMES } from './lib/i18n.mjs';

const CHOOSE = 'Choose your digital key';

let server;
let chrome;
let rp;
let T;
let msgids;
const watch = new Watch();

before(async () => {
  const stale = staleCatalogs();
  if (stale.length) throw new Error(`build/po/${stale.join(', ')} older than po/*.po: run ninja -C build first`);
  T = translator(loadCatalogs());
  // A name every catalog "translates" to itself ("Smart-ID") is the same
  // in every language: seeing it is no sign of a missing translation.
  msgids = englishMsgids().filter((id) => !['nl', 'fr', 'de'].every((l) => T.has(l, id) && T.t(l, id) === id));
  clearArtifacts(/^[0-3]\d-/); // its own screenshots; eid.test.mjs keeps its 40-*
  server = await startServer();
  chrome = await launchBrowser(server);
  rp = await startRp(server);
});

after(async () => {
  await chrome?.close();
  await rp?.close();
  await server?.stop();
  if (shots.length) console.log(`screenshots: ${shots.length} in tests/artifacts/browser/`);
});

const newContext = (label, opts) => newContextIn(chrome.browser, watch, label, opts);


const text = pageText;

// The page shows `msgid` in `lang`: what po/LANG.po says, and for any
// language but English not the English message id itself.
function assertTranslated(actual, lang, msgid, where) {
  if (lang !== 'en') {
    assert.notEqual(actual, msgid, `${where}: "${msgid}" is still English on the ${lang} page` +
      (T.has(lang, msgid) ? '' : ` (po/${lang}.po has no translation for it)`));
  }
  assert.equal(actual, T.t(lang, msgid), `${where}: not the po/${lang}.po text`);
}

async function assertLanguage(page, lang, msgid, where) {
  assert.equal(await page.getAttribute('html', 'lang'), lang, `${where}: <html lang>`);
  assertTranslated(await text(page, 'h1'), lang, msgid, `${where} <h1>`);
  assert.equal(await page.getAttribute(`nav.langs a[hreflang="${lang}"]`, 'aria-current'), 'true',
    `${where}: the language switch marks ${LANG_NAMES[lang]} as current`);
}

async function assertNoEnglish(page, lang, where) {
  if (lang === 'en') return;
  const left = await untranslated(page, msgids);
  assert.deepEqual(left, [], `${where} (${lang}): English text left on the page: ${JSON.stringify(left)}`);
}

// RP home → its login link → the portal's key-choice page. Returns the req id.
async function rpToChoose(page, query = '') {
  await page.goto(`${rp.base}/${query}`);
  await page.click('#login');
  await page.waitForURL(at(server.base, '/login'));
  return new URL(page.url()).searchParams.get('req');
}

async function chooseTestKey(page) {
  await page.click('a.key[href^="/key/test?"]');
  await page.waitForURL(at(server.base, '/key/test'));
}

async function toWaitPage(page) {
  await page.click('button[name="mode"][value="remote"]');
  await page.waitForURL(at(server.base, '/login/wait'));
  return new URL(page.url()).searchParams.get('req');
}

// The "other device": approves (or refuses) a pending request by its id.
async function approve(req, extra = {}) {
  const r = await fetch(`${server.base}/key/test/approve`, {
    method: 'POST', body: new URLSearchParams({ req, ...DEMO_PERSON, ...extra }),
  });
  const body = await r.text();
  assert.equal(r.status, 200, `approve answered ${r.status}: ${body}`);
  assert.deepEqual(JSON.parse(body), { status: 'ok' });
}

async function assertLoggedInAtRp(page, callbacksBefore) {
  await page.waitForLoadState('load');
  assert.equal(rp.callbacks.length, callbacksBefore + 1, 'the RP got exactly one callback');
  const cb = rp.last();
  assert.ok(cb.query.code, `the RP got a code, not ${JSON.stringify(cb.query)}`);
  assert.equal(cb.query.iss, server.issuer);
  assert.equal(cb.failure, undefined, `the RP could not redeem the code: ${cb.failure}`);
  await page.locator('#claims').waitFor();
  assert.equal(await text(page, '[data-claim="given_name"]'), 'Demo');
  assert.deepEqual(cb.claims.amr, ['test']);
  assert.equal(cb.userinfo.given_name, DEMO_PERSON.given_name);
  assert.equal(cb.userinfo.family_name, DEMO_PERSON.family_name);
  assert.equal(cb.userinfo.national_register_number, DEMO_PERSON.rrn);
}

test('1. RP flow: RP page → key choice (Dutch by default) → test key → back at the RP with the claims', async () => {
  const ctx = await newContext('flow');
  const page = await ctx.newPage();
  try {
    const n = rp.callbacks.length;
    await page.goto(`${rp.base}/`);
    await screenshot(page, '01-rp-start');
    await page.click('#login');
    await page.waitForURL(at(server.base, '/login'));
    await screenshot(page, '02-choose-nl');
    await assertLanguage(page, 'nl', CHOOSE, 'key choice page');
    assert.equal(await page.title(), `${T.t('nl', CHOOSE)} · sleutel`);

    await chooseTestKey(page);
    await screenshot(page, '03-testkey-nl');
    await assertLanguage(page, 'nl', 'Test key', 'test key page');
    const login = page.locator('button[name="mode"][value="direct"]');
    assertTranslated((await login.innerText()).trim(), 'nl', 'Log in', 'test key page, login button');

    await login.click();
    await page.waitForURL(at(rp.base, '/cb'));
    await assertLoggedInAtRp(page, n);
    await screenshot(page, '04-rp-claims');
  } finally {
    await ctx.close();
  }
});

test('2. languages: ui_locales, the language switch and its cookie, Accept-Language', async (t) => {
  await t.test('ui_locales=fr, de, en, nl: <html lang> and the heading follow it', async () => {
    const ctx = await newContext('ui_locales');
    const page = await ctx.newPage();
    try {
      for (const [i, lang] of ['fr', 'de', 'en', 'nl'].entries()) {
        const res = await page.goto(`${rp.base}/start?ui_locales=${lang}`);
        assert.ok(at(server.base, '/login')(new URL(page.url())), `ui_locales=${lang} ended at ${page.url()}`);
        await screenshot(page, `${String(5 + i).padStart(2, '0')}-choose-${lang}`);
        assert.equal(res.headers()['content-language'], lang);
        await assertLanguage(page, lang, CHOOSE, `key choice page, ui_locales=${lang}`);
        await assertNoEnglish(page, lang, 'key choice page');
      }
      // ui_locales is a list in order of preference; unknown tags are skipped.
      await page.goto(`${rp.base}/start?ui_locales=${encodeURIComponent('es fr-BE de')}`);
      await assertLanguage(page, 'fr', CHOOSE, 'key choice page, ui_locales="es fr-BE de"');
    } finally {
      await ctx.close();
    }
  });

  await t.test('Accept-Language first; the switch changes it and the cookie remembers it', async () => {
    const ctx = await newContext('switch', { locale: 'de-DE' });
    const page = await ctx.newPage();
    try {
      // Neither ui_locales nor a cookie: the browser's Accept-Language (de-DE).
      const req = await rpToChoose(page);
      await screenshot(page, '09-accept-language-de');
      await assertLanguage(page, 'de', CHOOSE, 'key choice page, Accept-Language de-DE');
      await assertNoEnglish(page, 'de', 'key choice page');

      // The switch, top right: French, same request.
      const fr = page.locator('nav.langs a[hreflang="fr"]');
      assert.equal((await fr.innerText()).trim(), LANG_NAMES.fr);
      assert.equal(await fr.getAttribute('lang'), 'fr');
      await fr.click();
      await page.waitForURL((u) => at(server.base, '/login')(u) && u.searchParams.get('lang') === 'fr');
      assert.equal(new URL(page.url()).searchParams.get('req'), req, 'the switch keeps the request');
      await screenshot(page, '10-switch-fr');
      await assertLanguage(page, 'fr', CHOOSE, 'key choice page after the switch to French');
      const cookie = (await ctx.cookies(server.base)).find((c) => c.name === '__Host-sl_lang');
      assert.ok(cookie, 'the switch sets the __Host-sl_lang cookie');
      assert.equal(cookie.value, 'fr');
      assert.equal(cookie.secure, true);
      assert.equal(cookie.path, '/');

      // The next page without ui_locales (a new login, still Accept-Language
      // de-DE) is French: the cookie beats Accept-Language.
      await rpToChoose(page, '?prompt=login');
      await screenshot(page, '11-cookie-fr');
      await assertLanguage(page, 'fr', CHOOSE, 'next key choice page, cookie fr');
      await chooseTestKey(page);
      await assertLanguage(page, 'fr', 'Test key', 'test key page, cookie fr');
      await page.goto(`${server.base}/`);
      assert.equal(await page.getAttribute('html', 'lang'), 'fr', 'home page, cookie fr');

      // An RP's ui_locales still wins over the cookie.
      await page.goto(`${rp.base}/start?ui_locales=en`);
      await assertLanguage(page, 'en', CHOOSE, 'key choice page, ui_locales=en over cookie fr');
    } finally {
      await ctx.close();
    }
  });
});

test('3. accessibility: axe WCAG 2.0/2.1 A+AA on every portal page, in nl and fr', async (t) => {
  await t.test('axe reports known failures (control: the RP\'s probe page)', async () => {
    const ctx = await newContext('a11y-probe');
    try {
      const page = await ctx.newPage();
      await page.goto(`${rp.base}/a11y-probe`);
      const ids = (await axeBuilder(page).analyze()).violations.map((v) => v.id).sort();
      assert.deepEqual(ids, ['color-contrast', 'html-has-lang', 'image-alt']);
    } finally {
      await ctx.close();
    }
  });
  // Both languages at once (one context each), the verdicts afterwards.
  const PAGES = ['home', 'error-expired', 'error-unknown-client', 'logout', 'logged-out', 'choose', 'testkey', 'wait'];
  const sweep = async (lang, shotBase) => {
    const ctx = await newContext(`a11y-${lang}`, { locale: `${lang}-BE` });
    const page = await ctx.newPage();
    const results = [];
    const check = async (name, msgid) => {
      await screenshot(page, `${shotBase + results.length}-a11y-${lang}-${name}`);
      const r = { lang, name, url: page.url(), violations: await axe(page, `${lang} ${name}`) };
      try {
        if (msgid) await assertLanguage(page, lang, msgid, `${name} page`);
        else assert.equal(await page.getAttribute('html', 'lang'), lang);
        await assertNoEnglish(page, lang, `${name} page`);
      } catch (e) {
        r.langError = e;
      }
      results.push(r);
    };
    try {
      await page.goto(`${server.base}/`);
      await check('home', null);

      const expired = await page.goto(`${server.base}/login?req=bogus`);
      assert.equal(expired.status(), 404);
      await check('error-expired', 'This login request has expired');

      const unknown = await page.goto(`${server.base}/authorize?client_id=nobody&response_type=code&scope=openid` +
        `&redirect_uri=${encodeURIComponent(rp.redirectUri)}`);
      assert.ok(unknown.status() >= 400, `an unknown client answered ${unknown.status()}`);
      assert.equal(await page.locator('p.code code').count(), 1, 'the error page shows the technical detail');
      await check('error-unknown-client', 'This site is not known to sleutel');

      // The confirmation page is for a browser with a session: log in first.
      await rpToChoose(page);
      await chooseTestKey(page);
      await page.click('button[name="mode"][value="direct"]');
      await page.waitForURL(at(rp.base, '/cb'));
      await page.goto(`${server.base}/logout`);
      await check('logout', 'Log out');
      await page.click('form[action="/logout"] button[type="submit"]');
      await page.locator('h1').filter({ hasText: T.t(lang, 'You are logged out') }).waitFor();
      await check('logged-out', 'You are logged out');

      await rpToChoose(page);
      await check('choose', CHOOSE);
      await chooseTestKey(page);
      await check('testkey', 'Test key');
      await toWaitPage(page);
      await check('wait', 'Confirm on your other device');
    } catch (e) {
      results.push({ lang, name: `after ${results.at(-1)?.name || 'start'}`, error: e });
    } finally {
      await ctx.close();
    }
    return results;
  };
  const all = (await Promise.all([sweep('nl', 20), sweep('fr', 30)])).flat();
  for (const r of all) {
    if (r.error) {
      await t.test(`${r.lang} ${r.name}: reaching the next page`, () => { throw r.error; });
      continue;
    }
    await t.test(`${r.lang} ${r.name}: zero axe violations`, () => {
      assert.equal(r.violations.length, 0, `axe on the ${r.lang} ${r.name} page (${r.url}):\n${formatViolations(r.violations)}`);
    });
    await t.test(`${r.lang} ${r.name}: in ${r.lang}`, () => { if (r.langError) throw r.langError; });
  }
  for (const lang of ['nl', 'fr']) {
    assert.deepEqual(all.filter((r) => r.lang === lang && !r.error).map((r) => r.name), PAGES, `${lang}: every page checked`);
  }
});

test('4. wait page: the phone approves or refuses, the browser moves on by itself (long-poll); cancel', async (t) => {
  const ctx = await newContext('wait');
  const page = await ctx.newPage();
  try {
    await t.test('approve: at the RP within 3 s, no reload', async () => {
      const n = rp.callbacks.length;
      await rpToChoose(page);
      await chooseTestKey(page);
      const polled = page.waitForRequest((r) => r.url().startsWith(`${server.base}/login/poll?`));
      const req = await toWaitPage(page);
      await assertLanguage(page, 'nl', 'Confirm on your other device', 'wait page');
      await polled;

      // The countdown counts down.
      const first = Number((await text(page, '#countdown')).match(/\d+/)[0]);
      assert.ok(first > 0 && first <= 900, `countdown starts at ${first}`);
      const until = Date.now() + 3000;
      let now = first;
      while (now >= first && Date.now() < until) {
        await page.waitForTimeout(200);
        now = Number((await text(page, '#countdown')).match(/\d+/)[0]);
      }
      assert.ok(now < first, `the countdown did not move from ${first}`);
      await screenshot(page, '12-wait-countdown');

      const navigations = [];
      page.on('framenavigated', (f) => { if (f === page.mainFrame()) navigations.push(f.url()); });
      const t0 = Date.now();
      const moved = page.waitForURL(at(rp.base, '/cb'), { timeout: 3000 });
      await approve(req);
      await moved;
      const ms = Date.now() - t0;
      assert.ok(ms < 3000, `the browser took ${ms} ms`);
      assert.ok(navigations.some((u) => u.startsWith(rp.redirectUri)), 'navigated to the RP');
      assert.ok(!navigations.some((u) => new URL(u).pathname === '/login/wait'), 'the wait page was not reloaded');
      await assertLoggedInAtRp(page, n);
      await screenshot(page, '13-rp-after-approve');
      console.log(`wait page → RP ${ms} ms after the approve call`);
    });

    await t.test('refuse: at the RP with error=access_denied', async () => {
      await rpToChoose(page, '?prompt=login'); // the context has an SSO session now
      await chooseTestKey(page);
      const polled = page.waitForRequest((r) => r.url().startsWith(`${server.base}/login/poll?`));
      const req = await toWaitPage(page);
      await polled;
      const moved = page.waitForURL(at(rp.base, '/cb'), { timeout: 3000 });
      await approve(req, { decision: 'refuse' });
      await moved;
      await page.locator('#error').waitFor();
      await screenshot(page, '14-rp-refused');
      const cb = rp.last();
      assert.equal(cb.query.error, 'access_denied');
      assert.equal(cb.query.iss, server.issuer);
      assert.ok(cb.query.state, 'state comes back');
      assert.equal(cb.query.code, undefined);
    });

    await t.test('cancel on the wait page: back at the RP with error=access_denied, and stays there', async () => {
      const n = rp.callbacks.length;
      await rpToChoose(page, '?prompt=login');
      await chooseTestKey(page);
      const polled = page.waitForRequest((r) => r.url().startsWith(`${server.base}/login/poll?`));
      await toWaitPage(page);
      await polled;
      const navigations = [];
      page.on('framenavigated', (f) => { if (f === page.mainFrame()) navigations.push(f.url()); });
      await page.click('form[action="/login/cancel"] button[type="submit"]');
      // Let every navigation the click causes happen, then look where the
      // browser ended.
      await page.waitForURL((u) => u.pathname !== '/login/wait', { timeout: 3000 });
      await page.waitForTimeout(500);
      await page.waitForLoadState('load');
      await screenshot(page, '18-wait-cancelled');
      const where = `${page.url()} ("${await text(page, 'h1')}"); navigations: ${navigations.join(' → ')}`;
      assert.ok(at(rp.base, '/cb')(new URL(page.url())), `after cancel the browser is at ${where}`);
      assert.equal(rp.callbacks.length, n + 1, `the RP got ${rp.callbacks.length - n} callbacks`);
      assert.equal(rp.last().query.error, 'access_denied');
    });
  } finally {
    await ctx.close();
  }
});

test('5. without JavaScript: direct login; the wait page\'s continue and cancel buttons', async () => {
  const ctx = await newContext('nojs', { javaScriptEnabled: false });
  const page = await ctx.newPage();
  try {
    let n = rp.callbacks.length;
    await rpToChoose(page);
    await assertLanguage(page, 'nl', CHOOSE, 'key choice page without JS');
    await chooseTestKey(page);
    await page.click('button[name="mode"][value="direct"]');
    await page.waitForURL(at(rp.base, '/cb'));
    await assertLoggedInAtRp(page, n);
    await screenshot(page, '15-nojs-rp-claims');

    n = rp.callbacks.length;
    await rpToChoose(page, '?prompt=login');
    await chooseTestKey(page);
    const req = await toWaitPage(page);
    const cont = page.locator('form[action="/login/finish"] button[type="submit"]');
    assertTranslated((await cont.innerText()).trim(), 'nl', 'I have confirmed, continue', 'wait page button');
    // Not confirmed yet: "continue" shows the wait page again.
    await cont.click();
    await page.waitForURL(at(server.base, '/login/finish'));
    await assertLanguage(page, 'nl', 'Confirm on your other device', 'wait page after an early continue');
    await screenshot(page, '16-nojs-wait');
    assert.equal(rp.callbacks.length, n, 'no answer to the RP yet');

    await approve(req);
    await page.locator('form[action="/login/finish"] button[type="submit"]').click();
    await page.waitForURL(at(rp.base, '/cb'));
    await assertLoggedInAtRp(page, n);
    await screenshot(page, '17-nojs-rp-claims-after-approve');

    // Cancel on the wait page.
    n = rp.callbacks.length;
    await rpToChoose(page, '?prompt=login');
    await chooseTestKey(page);
    await toWaitPage(page);
    await page.click('form[action="/login/cancel"] button[type="submit"]');
    await page.waitForURL(at(rp.base, '/cb'));
    assert.equal(rp.callbacks.length, n + 1);
    assert.equal(rp.last().query.error, 'access_denied');
  } finally {
    await ctx.close();
  }
});

test('6. Content-Security-Policy and TLS: no violation, no console or script error on any portal page', async () => {
  const ctx = await newContext('csp');
  const page = await ctx.newPage();
  try {
    // The watch sees violations: the RP's probe page breaks its own CSP.
    await page.goto(`${rp.base}/csp-probe`);
    const until = Date.now() + 3000;
    while (!watch.cspProblems(rp.base).length && Date.now() < until) await page.waitForTimeout(50);
    assert.ok(watch.cspProblems(rp.base).length > 0, 'the CSP watch saw the probe page\'s violation');

    // A whole login with the wait page, long-poll and countdown running.
    const n = rp.callbacks.length;
    const home = await page.goto(`${server.base}/`);
    const csp = home.headers()['content-security-policy'] || '';
    assert.match(csp, /default-src 'none'/);
    assert.match(csp, /script-src 'self'/);
    // Real TLS: the certificate the browser accepted is the server's, from the test CA.
    const tls = await home.securityDetails();
    assert.ok(tls, 'the portal answered over TLS');
    const cert = certInfo(path.join(server.dir, 'tls', 'server.pem'));
    assert.ok(cert.fromTestCa, 'tls/server.pem is issued by the test CA');
    assert.equal(tls.subjectName, cert.subjectCN);
    assert.equal(tls.issuer, cert.issuerCN);
    await rpToChoose(page);
    await chooseTestKey(page);
    const polled = page.waitForRequest((r) => r.url().startsWith(`${server.base}/login/poll?`));
    const req = await toWaitPage(page);
    await polled;
    await page.waitForTimeout(1200);
    const moved = page.waitForURL(at(rp.base, '/cb'), { timeout: 3000 });
    await approve(req);
    await moved;
    await assertLoggedInAtRp(page, n);
  } finally {
    await ctx.close();
  }
  // Everything every test saw on the portal's origin.
  const csp = watch.cspProblems(server.base);
  const other = watch.otherProblems(server.base);
  if (other.length) console.log(`console messages on portal pages (not CSP):\n${other.map((e) => `  ${JSON.stringify(e)}`).join('\n')}`);
  assert.deepEqual(csp, [], `CSP violations on portal pages:\n${csp.map((e) => `  ${JSON.stringify(e)}`).join('\n')}`);
  // Chromium logs every 4xx it loads. Expected: the error pages this file
  // opens on purpose (the document itself answered 4xx) and /favicon.ico,
  // which the portal does not serve. Anything else is a problem.
  const loadFailure = /^Failed to load resource: the server responded with a status of 4\d\d/;
  const unexpected = other.filter((e) => !(e.kind === 'console' && loadFailure.test(e.text) &&
    (e.url === e.pageUrl || new URL(e.url).pathname === '/favicon.ico')));
  assert.deepEqual(unexpected, [], `console errors or script errors on portal pages:\n${unexpected.map((e) => `  ${JSON.stringify(e)}`).join('\n')}`);
});
