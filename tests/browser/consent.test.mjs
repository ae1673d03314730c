// consent.test.mjs — the consent page in Chromium: after the test key, the
// data the RP asks for in the person's words, in the four languages, with
// zero axe violations; "Niet delen" sends access_denied to the RP, "Share"
// a code with the national register number; and the same without
// JavaScript; the account page listing the site (axe, four languages) and
// its Withdraw button.  The contexts here do not answer the page by themselves
// ({ consent: false }); prompt=consent makes every login ask.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, DEMO_PERSON } from '../integration/lib/harness.mjs';
import { launchBrowser, Watch, clearArtifacts, screenshot, axe, untranslated, shots, newContext as newContextIn,
  at, pageText } from './lib/browser.mjs';
import { startRp } from './lib/rp.mjs';
import { portalTexts } from './lib/i18n.mjs';

const RP_NAME = 'Mijn gezondheid';
const ITEMS = ['Your name', 'Your date of birth', 'Your national register number'];
const watch = new Watch();
const { T, msgids } = portalTexts();
let server;
let chrome;
let rp;

before(async () => {
  clearArtifacts(/^5\d-/);
  server = await startServer();
  chrome = await launchBrowser(server);
  rp = await startRp(server, { name: RP_NAME });
});

after(async () => {
  await chrome?.close();
  await rp?.close();
  await server?.stop();
  if (shots.length) console.log(`screenshots: ${shots.length} in tests/artifacts/browser/`);
});

// English text left on a page in `lang`, but for words the same in both
// ("Site", "Action" in French).
const english = async (page, lang) =>
  untranslated(page, msgids.filter((id) => !(T.has(lang, id) && T.t(lang, id) === id)));

const newContext = (label, opts) => newContextIn(chrome.browser, watch, label, { consent: false, ...opts });

// RP → key choice → test key → the consent page.
async function toConsent(page, lang) {
  await page.goto(`${rp.base}/?ui_locales=${lang}&prompt=consent`);
  await page.click('#login');
  await page.waitForURL(at(server.base, '/login'));
  await page.click('a.key[href^="/key/test?"]');
  await page.waitForURL(at(server.base, '/key/test'));
  await page.click('button[name="mode"][value="direct"]');
  await page.waitForURL(at(server.base, '/login/consent'));
}

async function assertConsentPage(page, lang, { a11y = true } = {}) {
  assert.equal(await page.getAttribute('html', 'lang'), lang);
  // pageText folds white space (French puts a no-break space before "?").
  assert.equal(await pageText(page, 'h1'), T.t(lang, 'Share your data with %1?').replace('%1', RP_NAME).replace(/\s+/g, ' '));
  const items = (await page.locator('ul.consent li').allInnerTexts()).map((s) => s.trim());
  assert.deepEqual(items, ITEMS.map((id) => T.t(lang, id)));
  assert.equal((await page.locator('button[value="share"]').innerText()).trim(), T.t(lang, 'Share'));
  assert.equal((await page.locator('button[value="deny"]').innerText()).trim(), T.t(lang, 'Do not share'));
  if (lang !== 'en') assert.deepEqual(await english(page, lang), [], `English left on the ${lang} page`);
  if (a11y) assert.deepEqual(await axe(page, `consent ${lang}`), [], `axe violations on the ${lang} consent page`);
}

test('the consent page in nl, fr, de and en: the data in words, zero axe violations; deny and share', async () => {
  for (const [i, lang] of ['nl', 'fr', 'de', 'en'].entries()) {
    const ctx = await newContext(`consent-${lang}`, { locale: `${lang}-BE` });
    const page = await ctx.newPage();
    try {
      const n = rp.callbacks.length;
      await toConsent(page, lang);
      await screenshot(page, `5${i}-consent-${lang}`);
      await assertConsentPage(page, lang);
      if (lang === 'nl') {
        await page.click('button[value="deny"]');
        await page.waitForURL(at(rp.base, '/cb'));
        await page.locator('#error').waitFor();
        assert.equal(rp.callbacks.length, n + 1);
        assert.equal(rp.last().error, 'access_denied');
      } else {
        await page.click('button[value="share"]');
        await page.waitForURL(at(rp.base, '/cb'));
        await page.locator('#claims').waitFor();
        assert.equal(rp.last().failure, undefined, `the RP could not redeem the code: ${rp.last().failure}`);
        assert.equal(rp.last().userinfo.national_register_number, DEMO_PERSON.rrn);
      }
      assert.deepEqual(watch.cspProblems(server.base), [], 'no CSP violation on the portal');
    } finally {
      await ctx.close();
    }
  }
});

test('the consent page works without JavaScript', async () => {
  const ctx = await newContext('consent-nojs', { javaScriptEnabled: false, locale: 'en-GB' });
  const page = await ctx.newPage();
  try {
    await toConsent(page, 'en');
    await assertConsentPage(page, 'en', { a11y: false }); // axe ran on the same page with JavaScript
    await page.click('button[value="share"]');
    await page.waitForURL(at(rp.base, '/cb'));
    assert.ok(rp.last().query.code, 'a code without JavaScript');
    assert.equal(rp.last().userinfo.national_register_number, DEMO_PERSON.rrn);
  } finally {
    await ctx.close();
  }
});

test('the account page lists the site with the data shared, in four languages; Withdraw removes it', async () => {
  const ctx = await newContext('consent-account', { locale: 'en-GB' });
  const page = await ctx.newPage();
  try {
    // A login that shares (and leaves the SSO session the page needs).
    await toConsent(page, 'en');
    await page.click('button[value="share"]');
    await page.waitForURL(at(rp.base, '/cb'));
    const row = page.locator('table.consents tbody tr').filter({ hasText: RP_NAME });
    for (const [i, lang] of ['nl', 'fr', 'de', 'en'].entries()) {
      await page.goto(`${server.base}/account?lang=${lang}`);
      await screenshot(page, `5${5 + i}-consent-account-${lang}`);
      assert.equal(await pageText(page, 'table.consents caption'), T.t(lang, 'What you agreed to share, per site'));
      assert.deepEqual((await row.locator('li').allInnerTexts()).map((s) => s.trim()), ITEMS.map((id) => T.t(lang, id)));
      if (lang !== 'en') assert.deepEqual(await english(page, lang), [], `English left on the ${lang} page`);
      assert.deepEqual(await axe(page, `account ${lang}`), [], `axe violations on the ${lang} account page`);
    }
    await row.locator('button').click();
    await page.waitForURL((u) => u.pathname === '/account' && u.searchParams.has('withdrawn'));
    assert.equal(await pageText(page, 'p.notice[role="status"]'),
      T.t('en', 'Your consent was withdrawn. The site no longer receives your data and will ask you again the next time you log in there.'));
    assert.equal(await row.count(), 0, 'the site is no longer listed');
    assert.deepEqual(await axe(page, 'account after withdrawal'), []);
    assert.deepEqual(watch.cspProblems(server.base), [], 'no CSP violation on the portal');
  } finally {
    await ctx.close();
  }
});
