// layout.test.mjs — reflow and tables in a real browser (Debian's Chromium
// through playwright-core):
//
//   - reflow at 320 CSS px (WCAG 1.4.10; what a 1280 px window shows at
//     400 % zoom): the public site's pages, the key choice, the eID, app
//     and Smart-ID pages and the citizen's page, in German (the longest
//     words; the citizen's page also in Dutch), need no horizontal
//     scrolling; a data table may scroll inside its own region (1.4.10's
//     exception for tables).  It found the language switch 25-29 px too
//     wide on every page: it now wraps (data/static/sleutel.css);
//   - focus order follows reading order on the key choice and the test
//     key page, and a button works by Space;
//   - the citizen's page at 1024 px in nl, fr, de and en: no table is cut,
//     i.e. every table fits its scroll region's visible width (the German
//     table's last column was cut before data/static/sleutel.css widened
//     the page's column: shown by putting the old width back);
//   - at 320 px, where the tables do not fit, each scroll region is
//     labelled by its caption, reached by Tab, shows its focus and scrolls
//     with the arrow keys (WCAG 2.1.1, 2.4.7, 4.1.2).
//
//   ninja -C build && eval "$(sh scripts/test-env.sh build)" && node --test tests/browser/layout.test.mjs
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { startServer, DEMO_PERSON } from '../integration/lib/harness.mjs';
import { smsGateway, enrolPhone } from '../integration/lib/phone.mjs';
import { registerSmartId } from '../integration/lib/smartid.mjs';
import { launchBrowser, Watch, shareDir, newContext as newContextIn, at, toKeyPage } from './lib/browser.mjs';
import { startRp } from './lib/rp.mjs';
import { focused } from './lib/keyboard.mjs';
import { accountByTestKey } from './lib/flows.mjs';
import { LANGS } from './lib/i18n.mjs';

let server;
let chrome;
let rp;
let gw;
let share;
const watch = new Watch();

before(async () => {
  share = shareDir();
  gw = await smsGateway();
  server = await startServer({
    demo: true,
    config: { portal: { data_dir: share }, sms: { driver: 'webhook', webhook_url: gw.url },
      smartid: { key_bits: 1024 } },
  });
  [chrome, rp] = await Promise.all([launchBrowser(server), startRp(server)]);
  // The test key's person, with an app phone and a Smart-ID device: the
  // citizen's page then has all three kinds of table.
  await enrolPhone(server, gw, '0470 12 34 56', DEMO_PERSON);
  await registerSmartId(server, { given: DEMO_PERSON.given_name, family: DEMO_PERSON.family_name, rrn: DEMO_PERSON.rrn },
    { deviceName: 'Pixel 7' });
});

after(async () => {
  await chrome?.close();
  await rp?.close();
  await server?.stop();
  await gw?.close();
  if (share) rmSync(share, { recursive: true, force: true });
});

const newContext = (label, opts) => newContextIn(chrome.browser, watch, label, opts);

// How much wider than the window the page is (0: no horizontal scrolling).
const pageOverflow = (page) => page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);

// Each table's scroll region: its size, its table's width, its label.
const regions = (page) => page.$$eval('.table-scroll', (els) => els.map((el) => {
  const label = document.getElementById(el.getAttribute('aria-labelledby') || '');
  return {
    caption: label ? label.textContent.trim() : '', role: el.getAttribute('role'), tabindex: el.getAttribute('tabindex'),
    visible: el.clientWidth, table: el.querySelector('table').getBoundingClientRect().width, scroll: el.scrollWidth,
  };
}));

async function logIn(page) {
  await page.goto(`${server.base}/account?lang=en`);
  await accountByTestKey(page, server.base);
}

test('reflow at 320 px: no horizontal scrolling on the main pages (de; the citizen\'s page also nl)', async () => {
  const ctx = await newContext('reflow', { viewport: { width: 320, height: 640 } });
  const page = await ctx.newPage();
  try {
    const wide = [];
    const check = async (lang, name) => {
      assert.equal(await page.getAttribute('html', 'lang'), lang, `${name}: <html lang>`);
      const px = await pageOverflow(page);
      if (px > 0) wide.push(`${lang} ${name}: ${px} px too wide`);
    };
    // Every page in German; the Dutch pages share the layout (their
    // tables are checked below and on the citizen's page here).
    for (const lang of ['de']) {
      for (const slug of ['', 'safety', 'get-started', 'partners', 'faq', 'no-such-page']) {
        await page.goto(`${server.base}/${lang}/${slug}`);
        await check(lang, `site /${slug}`);
      }
      await toKeyPage(page, rp.base, server.base, '/key/eid', `?ui_locales=${lang}&prompt=login`);
      await check(lang, '/key/eid');
      const req = new URL(page.url()).searchParams.get('req');
      for (const where of ['/login', '/key/app', '/key/smartid']) {
        await page.goto(`${server.base}${where}?req=${req}&lang=${lang}`);
        await check(lang, where);
      }
      await page.goto(`${server.base}/account?lang=${lang}`);
      await check(lang, 'account log-in page');
    }
    await logIn(page);
    for (const lang of ['de', 'nl']) {
      await page.goto(`${server.base}/account?lang=${lang}`);
      await check(lang, 'account page');
    }
    assert.deepEqual(wide, []);
  } finally {
    await ctx.close();
  }
});

test('the citizen\'s page at 1024 px: no table is cut, in any language; the old column width did cut the German one', async () => {
  const ctx = await newContext('tables-1024');
  const page = await ctx.newPage();
  try {
    await logIn(page);
    for (const lang of LANGS) {
      await page.goto(`${server.base}/account?lang=${lang}`);
      assert.equal(await page.getAttribute('html', 'lang'), lang);
      const rs = await regions(page);
      assert.equal(rs.length, 3, `${lang}: the app phone's, the Smart-ID and the history table`);
      for (const r of rs) {
        assert.ok(r.scroll <= r.visible && r.table <= r.visible + 0.5,
          `${lang} "${r.caption}": the table (${r.table} px, scrolls to ${r.scroll}) is wider than its region (${r.visible} px)`);
      }
      assert.equal(await pageOverflow(page), 0, `${lang}: no horizontal scrolling`);
    }
    // The measurement sees a cut table: the page's column as narrow as
    // the other pages' (40rem), the width that cut the German tables.
    await page.goto(`${server.base}/account?lang=de`);
    await page.evaluate(() => { document.querySelector('main').style.maxWidth = '40rem'; });
    const cut = (await regions(page)).filter((r) => r.scroll > r.visible);
    assert.ok(cut.length >= 1, `at 40rem some German table is cut: ${JSON.stringify(await regions(page))}`);
  } finally {
    await ctx.close();
  }
});

test('at 320 px each table scrolls in a labelled region, by keyboard, with its focus showing', async () => {
  const ctx = await newContext('tables-320', { viewport: { width: 320, height: 640 } });
  const page = await ctx.newPage();
  try {
    await logIn(page);
    await page.goto(`${server.base}/account?lang=de`);
    const rs = await regions(page);
    assert.equal(rs.length, 3);
    for (const r of rs) {
      assert.equal(r.role, 'region');
      assert.equal(r.tabindex, '0');
      assert.ok(r.caption.length > 0, 'labelled by its caption');
      assert.ok(r.scroll > r.visible, `"${r.caption}" does not fit 320 px (so it must scroll): ${JSON.stringify(r)}`);
    }
    const n = rs.length;
    for (let i = 0; i < n; i++) {
      // Tab until a scroll region has the focus (at most 40 stops).
      let f;
      for (let k = 0; k < 40; k++) {
        await page.keyboard.press('Tab');
        f = await focused(page);
        if (f && await page.evaluate(() => document.activeElement.classList.contains('table-scroll') &&
          !document.activeElement.dataset.seen)) break;
      }
      const caption = await page.evaluate(() => {
        const el = document.activeElement;
        if (!el.classList.contains('table-scroll')) return null;
        el.dataset.seen = '1';
        return document.getElementById(el.getAttribute('aria-labelledby')).textContent.trim();
      });
      assert.ok(caption, `region ${i + 1} of ${n} reached by Tab`);
      assert.ok(f.visible, `"${caption}": the focus shows`);
      const before = await page.evaluate(() => document.activeElement.scrollLeft);
      for (let k = 0; k < 5; k++) await page.keyboard.press('ArrowRight');
      // Keyboard scrolling may be animated: wait for it (at most 2 s).
      await page.waitForFunction((b) => document.activeElement.scrollLeft > b, before, { timeout: 2000 }).catch(() => {});
      const after = await page.evaluate(() => document.activeElement.scrollLeft);
      assert.ok(after > before, `"${caption}": ArrowRight scrolls the table (${before} → ${after})`);
    }
    assert.equal(await pageOverflow(page), 0, 'the page itself does not scroll sideways');
  } finally {
    await ctx.close();
  }
});

// Where the focus is, in page coordinates, and what it is.
const focusBox = (page) => page.evaluate(() => {
  const el = document.activeElement;
  if (!el || el === document.body) return null;
  const r = el.getBoundingClientRect();
  return { x: r.left + window.scrollX, y: r.top + window.scrollY, h: r.height, text: (el.innerText || '').trim().slice(0, 40) };
});

test('focus order follows the reading order (key choice, test key); a button works by Space', async () => {
  const ctx = await newContext('order-space');
  const page = await ctx.newPage();
  try {
    await page.goto(`${server.base}/account?lang=nl`);
    await page.click('a.button[href^="/account/login"]');
    await page.waitForURL(at(server.base, '/login'));
    for (const where of ['key choice', 'test key']) {
      const stops = [];
      await page.evaluate(() => document.activeElement?.blur());
      for (let k = 0; k < 40; k++) {
        await page.keyboard.press('Tab');
        const f = await focusBox(page);
        if (!f || (stops.length && f.x === stops[0].x && f.y === stops[0].y)) break;
        stops.push(f);
      }
      assert.ok(stops.length >= 3, `${where}: Tab reaches the controls (${stops.length})`);
      for (let i = 1; i < stops.length; i++) {
        const a = stops[i - 1];
        const b = stops[i];
        // Next is below, or on the same line (overlapping vertically) and to the right.
        const sameLine = b.y < a.y + a.h && a.y < b.y + b.h;
        assert.ok(b.y >= a.y + a.h - 1 || (sameLine && b.x > a.x),
          `${where}: "${b.text}" comes after "${a.text}" by Tab but before it on the page`);
      }
      if (where === 'key choice') {
        await page.click('a.key[href^="/key/test?"]');
        await page.waitForURL(at(server.base, '/key/test'));
      }
    }
    await page.focus('button[name="mode"][value="direct"]');
    await page.keyboard.press('Space');
    await page.waitForURL((u) => at(server.base, '/account')(u) && !u.searchParams.has('code'));
    assert.equal(await page.getAttribute('html', 'lang'), 'nl');
  } finally {
    await ctx.close();
  }
});
