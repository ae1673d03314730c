// site.test.mjs — the public site (src/site) in Debian's Chromium with
// JavaScript off: every page in nl, fr, de and en loads, is in its language
// (title, <h1>, no English left), has the site's menu and the language
// switch top right, its links lead to the other pages, and axe-core finds no
// WCAG 2.0/2.1 A or AA violation.  One browser, one context per language,
// the languages side by side.  Script execution is switched off (CDP's
// Emulation.setScriptExecutionDisabled, what javaScriptEnabled: false does)
// for every load and click, and on only once a page is loaded, for the
// checks that run script in it: axe and the English-left scan.
//
//   ninja -C build && eval "$(sh scripts/test-env.sh)" && node --test tests/browser/site.test.mjs
//
// Screenshots: tests/artifacts/browser/site/LANG-PAGE.png (not committed).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { startServer } from '../integration/lib/harness.mjs';
import { operatorCli } from '../integration/lib/cli.mjs';
import { launchBrowser, Watch, clearArtifacts, screenshot, axe, formatViolations, untranslated, newContext,
  ARTIFACTS } from './lib/browser.mjs';
import { portalTexts, englishMsgids, LANGS, LANG_NAMES } from './lib/i18n.mjs';

// src/site/site.c: the pages, their paths and titles.
const PAGES = [
  { slug: '', name: 'home', title: 'Discover sleutel' },
  { slug: 'safety', name: 'safety', title: 'How safe it is' },
  { slug: 'get-started', name: 'get-started', title: 'Get started' },
  { slug: 'partners', name: 'partners', title: 'Partner sites' },
  { slug: 'faq', name: 'faq', title: 'Frequently asked questions' },
];
const PARTNER = { name: 'Mijn gezondheid', url: 'https://www.mijngezondheid.example/' };

let server;
let chrome;
let T;
let msgids;
const watch = new Watch();

before(async () => {
  ({ T } = portalTexts());
  // Names every catalog gives as themselves ("Smart-ID") are no sign of a
  // missing translation.
  msgids = englishMsgids().filter((id) => !['nl', 'fr', 'de'].every((l) => T.has(l, id) && T.t(l, id) === id));
  clearArtifacts(/^site$/);
  mkdirSync(path.join(ARTIFACTS, 'site'), { recursive: true });
  server = await startServer();
  const { cli } = operatorCli(server);
  const add = await cli('client', 'add', '--name', PARTNER.name, '--redirect-uri', 'https://rp.example/cb',
    '--partner-url', PARTNER.url);
  assert.equal(add.code, 0, add.stderr);
  chrome = await launchBrowser(server);
});

after(async () => {
  await chrome?.close();
  await server?.stop();
});

const text = async (page, sel) => (await page.locator(sel).first().innerText()).replace(/\s+/g, ' ').trim();

// JavaScript off (true) or on for the page's next loads and for evaluate().
const scripts = async (page, on) => page.cdp.send('Emulation.setScriptExecutionDisabled', { value: !on });

// One page as it is now: language, menu, switch, axe, English left.
async function checkPage(page, lang, pg, problems) {
  assert.equal(await page.locator('script').count(), 0, `${lang} ${pg.name}: the site has no script`);
  const where = `${lang} ${pg.name}`;
  const title = T.t(lang, pg.title);
  assert.equal(await page.getAttribute('html', 'lang'), lang, `${where}: <html lang>`);
  assert.equal(await page.title(), `${title} · sleutel`, `${where}: <title>`);
  assert.equal(await text(page, 'main h1'), title, `${where}: <h1>`);
  if (lang !== 'en') assert.notEqual(title, pg.title, `${where}: the title is still English`);
  // The menu: five links, this page marked.
  const menu = page.locator('header nav.site a');
  assert.equal(await menu.count(), PAGES.length, `${where}: the menu`);
  assert.equal(await page.locator('header nav.site a[aria-current="page"]').getAttribute('href'), `/${lang}/${pg.slug}`);
  // The switch, top right: the same page in each language.
  for (const l of LANGS) {
    const a = page.locator(`header nav.langs a[hreflang="${l}"]`);
    assert.equal((await a.innerText()).trim(), LANG_NAMES[l], `${where}: switch to ${l}`);
    assert.equal(await a.getAttribute('href'), `/${l}/${pg.slug}`);
    assert.equal(await a.getAttribute('aria-current'), l === lang ? 'true' : null);
  }
  const box = await page.locator('header nav.langs').boundingBox();
  const vw = page.viewportSize().width;
  assert.ok(box.x + box.width > vw * 0.75 && box.y < 120, `${where}: the switch is top right (${JSON.stringify(box)})`);
  // Skip link to the main landmark, headings in order.
  assert.equal(await page.getAttribute('a.skip', 'href'), '#main');
  await scripts(page, true);
  const levels = await page.$$eval('main h1, main h2, main h3, main h4', (hs) => hs.map((h) => Number(h.tagName[1])));
  assert.equal(levels[0], 1, `${where}: starts with h1`);
  for (let i = 1; i < levels.length; i++) assert.ok(levels[i] <= levels[i - 1] + 1, `${where}: heading levels ${levels}`);
  if (lang !== 'en') {
    const left = await untranslated(page, msgids);
    assert.deepEqual(left, [], `${where}: English left on the page: ${JSON.stringify(left)}`);
  }
  await screenshot(page, `site/${lang}-${pg.name}`);
  const v = await axe(page, where);
  if (v.length) problems.push(`axe on ${where}:\n${formatViolations(v)}`);
  await scripts(page, false);
}

// A language: the start page, then every page reached through the menu,
// the switch to the next language and back, and the 404 page.
async function sweep(lang) {
  const problems = [];
  const ctx = await newContext(chrome.browser, watch, `site-${lang}`, { locale: `${lang}-BE` });
  const page = await ctx.newPage();
  page.cdp = await ctx.newCDPSession(page);
  await scripts(page, false);
  try {
    const res = await page.goto(`${server.base}/`);
    assert.equal(new URL(page.url()).pathname, `/${lang}/`, `${lang}: "/" leads to the start page in ${lang}`);
    assert.equal(res.status(), 200);
    await checkPage(page, lang, PAGES[0], problems);
    // The keyboard: the first Tab shows the skip link, with a visible focus ring.
    await page.keyboard.press('Tab');
    const skip = page.locator('a.skip');
    const box = await skip.boundingBox();
    assert.ok(box && box.x >= 0 && box.y >= 0, `${lang}: the focused skip link is on screen (${JSON.stringify(box)})`);
    await scripts(page, true);
    const ring = await skip.evaluate((a) => a === document.activeElement && getComputedStyle(a).outlineStyle);
    assert.equal(ring, 'solid', `${lang}: the skip link has the focus and a focus outline`);
    await scripts(page, false);
    // The start page's call to action, then the menu for the other pages.
    await page.click(`main a[href="/${lang}/partners"]`);
    for (const pg of [PAGES[3], PAGES[1], PAGES[2], PAGES[4]]) {
      if (pg !== PAGES[3]) await page.click(`header nav.site a[href="/${lang}/${pg.slug}"]`);
      await page.waitForURL((u) => u.pathname === `/${lang}/${pg.slug}`);
      await checkPage(page, lang, pg, problems);
      if (pg !== PAGES[3]) continue;
      // The Partners page lists the client that opted in.
      const partner = page.locator('ul.partners a');
      assert.equal(await partner.count(), 1, `${lang}: one partner`);
      assert.equal((await partner.innerText()).trim(), PARTNER.name);
      assert.equal(await partner.getAttribute('href'), PARTNER.url);
    }
    // From the FAQ, the switch: the FAQ in the next language; its link to
    // the citizen's page keeps that language.
    const other = LANGS[(LANGS.indexOf(lang) + 1) % LANGS.length];
    await page.click(`header nav.langs a[hreflang="${other}"]`);
    await page.waitForURL((u) => u.pathname === `/${other}/faq`);
    assert.equal(await page.getAttribute('html', 'lang'), other);
    assert.equal(await text(page, 'main h1'), T.t(other, 'Frequently asked questions'));
    await page.click(`main a[href="/account?lang=${other}"]`);
    await page.waitForURL((u) => u.pathname === '/account');
    assert.equal(await page.getAttribute('html', 'lang'), other, `${lang}: the account page follows the site's language`);
    const nf = await page.goto(`${server.base}/${lang}/no-such-page`);
    assert.equal(nf.status(), 404);
    assert.equal(await text(page, 'main h1'), T.t(lang, 'Page not found'));
    await screenshot(page, `site/${lang}-not-found`);
    await scripts(page, true);
    const v = await axe(page, `${lang} not found`);
    if (v.length) problems.push(`axe on ${lang} not found:\n${formatViolations(v)}`);
  } finally {
    await ctx.close();
  }
  return problems;
}

test('the site in nl, fr, de and en without JavaScript: every page, its links, the switch, axe', { timeout: 120000 }, async (t) => {
  const results = await Promise.allSettled(LANGS.map((l) => sweep(l)));
  for (const [i, r] of results.entries()) {
    await t.test(`${LANGS[i]}: every page loads, links work, in ${LANGS[i]}`, () => {
      if (r.status === 'rejected') throw r.reason;
    });
    await t.test(`${LANGS[i]}: zero axe violations`, () => {
      assert.deepEqual(r.status === 'fulfilled' ? r.value : [], []);
    });
  }
  const csp = watch.cspProblems(server.base);
  assert.deepEqual(csp, [], 'no CSP violation on the site');
});
