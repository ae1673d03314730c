// gallery.mjs — the screenshot gallery: every page a person sees
// (lib/gallery-pages.mjs), in nl, fr, de and en, at 1024 px wide and at
// 390 px (a phone), full page, as JPEG under docs/screenshots/LANG/, with
// docs/screenshots/README.md listing them.  While on each page it runs
// axe-core (WCAG 2.0/2.1 A and AA) at both widths and fails, after the
// whole run, on any violation, on a page of the list not shot in some
// language, or on a page wider than the window (horizontal scrolling).
//
//   make screenshots
//   (that is: ninja -C build && eval "$(sh scripts/test-env.sh build)" && node tests/browser/gallery.mjs)
//
// Real parts throughout: one sleuteld (demo PKI, SMS webhook gateway, the
// demo bank of lib/bank.mjs, the Smart-ID RP API) on 127.0.0.1 with free
// ports, stopped by PID; Debian's Chromium through playwright-core on a
// fresh --user-data-dir; the test RP of lib/rp.mjs; phones of
// tests/integration/lib.  Two states are set in the database because
// nothing in a browser makes them quickly: the app request the wait page
// shows is marked refused (the phone's answer), and the account's notices
// come from real enrolments.  Not part of `make check` (a few minutes);
// gallery-coverage.test.mjs is, and checks the list covers every template.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ROOT, startServer, DEMO_PERSON } from '../integration/lib/harness.mjs';
import { sql } from '../integration/lib/db.mjs';
import { smsGateway, enrolPhone } from '../integration/lib/phone.mjs';
import { startTestBank, makeEnrollment, addTicket } from '../integration/lib/bank.mjs';
import { issueCard, rrn, PIN } from '../integration/lib/eid.mjs';
import { SmartIdPhone, registerSmartId, PORTAL } from '../integration/lib/smartid.mjs';
import { launchBrowser, shareDir, axe, formatViolations, at, NO_PORTAL_LANGUAGE } from './lib/browser.mjs';
import { startRp } from './lib/rp.mjs';
import { accountByTestKey, proofWithDemoBank } from './lib/flows.mjs';
import { LANGS, staleCatalogs } from './lib/i18n.mjs';
import { PAGES, GROUPS } from './lib/gallery-pages.mjs';

const OUT = path.join(ROOT, 'docs', 'screenshots');
export const VIEWPORTS = [
  { suffix: '', width: 1024, height: 800 },
  { suffix: '-phone', width: 390, height: 844 },
];
const QUALITY = 70;
const RP_NAME = 'Mijn gezondheid';
const THREE = { nl: 'nld', fr: 'fra', de: 'deu', en: 'eng' };
const SID_LINK = 'deviceLinkType=Web2App&sessionToken=wGIrqveE6AuGDATZKmR1mtAZ&sessionType=auth&version=1.0';
// Only some pages are wanted (comma-separated names), e.g. for a quick look.
const ONLY = (process.env.GALLERY_ONLY || '').split(',').filter(Boolean);

const problems = [];
const shot = new Map(); // name → Set(lang)
const sizes = [];

// Both widths of the page as it is now: screenshot, axe, no horizontal
// scrolling.  The window goes back to 1024 px afterwards.
async function shoot(page, lang, name) {
  assert.ok(PAGES.some((p) => p.name === name), `${name} is not in lib/gallery-pages.mjs`);
  if (ONLY.length && !ONLY.includes(name)) return;
  await page.waitForLoadState('load');
  assert.equal(await page.getAttribute('html', 'lang'), lang, `${lang} ${name}: <html lang>`);
  // The language switch: each link in its own language (WCAG 3.1.2).
  const links = await page.$$eval('nav.langs a', (as) => as.map((a) => `${a.getAttribute('lang')}/${a.getAttribute('hreflang')}`));
  if (links.join(' ') !== LANGS.map((l) => `${l}/${l}`).join(' ')) {
    problems.push(`${lang} ${name}: the language switch's links are ${JSON.stringify(links)}`);
  }
  for (const vp of VIEWPORTS) {
    await page.setViewportSize({ width: vp.width, height: vp.height });
    await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => r())));
    const file = path.join(OUT, lang, `${name}${vp.suffix}.jpg`);
    await page.screenshot({ path: file, fullPage: true, type: 'jpeg', quality: QUALITY, animations: 'disabled',
      caret: 'hide' });
    sizes.push(statSync(file).size);
    const label = `${lang} ${name} at ${vp.width} px`;
    const v = await axe(page, label);
    if (v.length) problems.push(`axe on ${label}:\n${formatViolations(v)}`);
    const wide = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    if (wide > 0) problems.push(`${label}: ${wide} px wider than the window (horizontal scrolling)`);
  }
  await page.setViewportSize({ width: VIEWPORTS[0].width, height: VIEWPORTS[0].height });
  if (!shot.has(name)) shot.set(name, new Set());
  shot.get(name).add(lang);
  process.stdout.write(`  ${lang} ${name}\n`);
}

let server;
let chrome;
let rp;
let gw;
let bank;
let share;
let work;

async function context(lang, opts = {}) {
  const ctx = await chrome.browser.newContext({ locale: NO_PORTAL_LANGUAGE, viewport: { width: 1024, height: 800 },
    ignoreHTTPSErrors: true, ...opts });
  ctx.setDefaultTimeout(15000);
  return ctx;
}

// RP (in `lang`, with `prompt`) → the key choice.  Returns the req id.
async function toChoose(page, lang, prompt = 'login') {
  await page.goto(`${rp.base}/?ui_locales=${lang}&prompt=${prompt}`);
  await page.click('#login');
  await page.waitForURL(at(server.base, '/login'));
  return new URL(page.url()).searchParams.get('req');
}

async function toKey(page, lang, key, prompt) {
  const req = await toChoose(page, lang, prompt);
  await page.click(`a.key[href^="/key/${key}?"]`);
  await page.waitForURL(at(server.base, `/key/${key}`));
  return req;
}

async function site(lang) {
  const ctx = await context(lang);
  const page = await ctx.newPage();
  const go = (slug) => page.goto(`${server.base}/${lang}/${slug}`);
  await go('');
  await shoot(page, lang, 'site-home');
  await go('safety');
  await shoot(page, lang, 'site-safety');
  await go('get-started');
  await shoot(page, lang, 'site-get-started');
  await go('partners');
  await shoot(page, lang, 'site-partners');
  await go('faq');
  await shoot(page, lang, 'site-faq');
  await go('no-such-page');
  await shoot(page, lang, 'site-not-found');
  await ctx.close();
}

async function portal(lang) {
  const ctx = await context(lang);
  const page = await ctx.newPage();
  await toChoose(page, lang);
  await shoot(page, lang, 'choose');
  await page.click('a.key[href^="/key/test?"]');
  await page.waitForURL(at(server.base, '/key/test'));
  await shoot(page, lang, 'testkey');
  await page.click('button[name="mode"][value="remote"]');
  await page.waitForURL(at(server.base, '/login/wait'));
  await shoot(page, lang, 'wait');

  await toKey(page, lang, 'test', 'consent');
  await page.click('button[name="mode"][value="direct"]');
  await page.waitForURL(at(server.base, '/login/consent'));
  await shoot(page, lang, 'consent');
  await page.click('button[name="decision"][value="share"]');
  await page.waitForURL(at(rp.base, '/cb'));

  await page.goto(`${server.base}/logout?lang=${lang}`);
  await shoot(page, lang, 'logout');
  await page.click('form[action="/logout"] button[type="submit"]');
  await page.waitForLoadState('load');
  await shoot(page, lang, 'logged-out');

  await page.goto(`${server.base}/login?req=bogus&lang=${lang}`);
  await shoot(page, lang, 'error-expired');
  await page.goto(`${server.base}/authorize?client_id=nobody&response_type=code&scope=openid` +
    `&redirect_uri=${encodeURIComponent(rp.redirectUri)}&ui_locales=${lang}&lang=${lang}`);
  await shoot(page, lang, 'error-unknown-client');
  await ctx.close();
}

async function eid(lang) {
  const ctx = await context(lang);
  const other = await context(lang);
  const page = await ctx.newPage();
  const req = await toKey(page, lang, 'eid');
  await shoot(page, lang, 'eid');
  await page.click('#webeid-start');
  await page.locator('#webeid-missing').waitFor({ state: 'visible' });
  await shoot(page, lang, 'webeid-missing');
  // The card's way back with a result that is not there: in this
  // browser the way to try again, in another a warning.
  const back = `${server.base}/login/eid/return?req=${req}&r=${'A'.repeat(43)}&lang=${lang}`;
  await page.goto(back);
  await shoot(page, lang, 'eid-retry');
  const op = await other.newPage();
  await op.goto(back);
  await shoot(op, lang, 'eid-other-browser');
  // The eID origin with no card in the browser.
  await page.goto(`${server.base}/key/eid?req=${req}&lang=${lang}`);
  await page.goto(await page.locator('a.button').getAttribute('href'));
  await shoot(page, lang, 'eid-error');
  await other.close();
  await ctx.close();
}

async function app(lang, i) {
  const ctx = await context(lang);
  const page = await ctx.newPage();
  await toKey(page, lang, 'app');
  await shoot(page, lang, 'app-login');
  const form = page.url();
  await page.fill('#phone', `0470 00 00 0${i}`);
  await page.click('form[action="/key/app/login"] button[type="submit"]');
  await page.waitForURL(at(server.base, '/key/app/wait'));
  await shoot(page, lang, 'app-wait');
  // The phone's "refuse", as the store records it.
  const aq = new URL(page.url()).searchParams.get('aq');
  sql(server, `UPDATE app_requests SET status = 'refused' WHERE id = '${aq.replace(/'/g, '')}'`);
  await page.reload();
  await shoot(page, lang, 'app-outcome');
  // One number asked for too often ([app] rate_phone 2).
  for (let n = 0; n < 4; n++) {
    await page.goto(form);
    await page.fill('#phone', '0470 99 99 99');
    await page.click('form[action="/key/app/login"] button[type="submit"]');
    await page.waitForLoadState('load');
    if (!at(server.base, '/key/app/wait')(new URL(page.url()))) break;
  }
  await shoot(page, lang, 'app-refused');

  await toKey(page, lang, 'smartid');
  await shoot(page, lang, 'sid-login');
  await page.fill('#rrn', rrn('900101', 100 + 2 * i));
  await page.click('form[action="/key/smartid/login"] button[type="submit"]');
  await page.waitForURL(at(server.base, '/key/smartid/wait'));
  await shoot(page, lang, 'sid-wait');
  await ctx.close();
}

async function account(lang) {
  const ctx = await context(lang);
  const page = await ctx.newPage();
  await page.goto(`${server.base}/account?lang=${lang}`);
  await shoot(page, lang, 'account-login');
  await accountByTestKey(page, server.base);
  await page.goto(`${server.base}/account?lang=${lang}`);
  await shoot(page, lang, 'account');
  await ctx.close();
}

async function proofing(lang) {
  const ctx = await context(lang);
  const page = await ctx.newPage();
  const e = await makeEnrollment(server, { lang, phone: '+32470123456' });
  const second = await addTicket(server, e.id);
  await page.goto(`${server.eidBase}/proofing/eid?t=${encodeURIComponent(second)}&lang=${lang}`);
  await shoot(page, lang, 'proofing-eid');
  await page.goto(`${server.base}/proofing/bank/demo?t=${encodeURIComponent(e.ticket)}&lang=${lang}`);
  await shoot(page, lang, 'proofing-bank');
  await proofWithDemoBank(page, server.base, bank);
  await shoot(page, lang, 'proofing-done');
  await page.goto(`${server.base}/proofing/bank/demo?t=${encodeURIComponent(`${e.id}.not-a-ticket`)}&lang=${lang}`);
  await shoot(page, lang, 'proofing-error');
  await ctx.close();
}

// The registration of a new phone by a person who has a Smart-ID device
// already (the confirm page offers to replace it).
async function sidreg(lang, card) {
  const ctx = await context(lang, { clientCertificates: [{ origin: server.eidBase, pfxPath: card.p12, passphrase: PIN }] });
  const page = await ctx.newPage();
  await page.goto(`${server.base}${PORTAL}/questions?lang=${lang}`);
  await shoot(page, lang, 'sidreg-problem');
  const phone = await new SmartIdPhone(server).init();
  const r = await phone.register({ deviceName: 'Pixel 8', language: lang });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  await page.goto(`${server.base}${PORTAL}?lang=${lang}`);
  await shoot(page, lang, 'sidreg-intro');
  await page.click(`a.button[href^="${PORTAL}/login"]`);
  await page.waitForURL(at(server.base, '/key/eid'));
  await page.click('a.button');
  await page.waitForURL(at(server.base, `${PORTAL}/questions`));
  await shoot(page, lang, 'sidreg-questions');
  await page.fill('#email', 'demo@example.be');
  await page.fill('#phone', '0470 12 34 56');
  await page.check('#me');
  await page.click('button[type="submit"]');
  await page.waitForURL(at(server.base, `${PORTAL}/code`));
  await shoot(page, lang, 'sidreg-code');
  await page.fill('#code', phone.code);
  await page.click('button[type="submit"]');
  await page.waitForURL(at(server.base, `${PORTAL}/confirm`));
  await shoot(page, lang, 'sidreg-confirm');
  await page.click('button[type="submit"]');
  await page.waitForSelector('h1');
  await shoot(page, lang, 'sidreg-done');
  await page.goto(`${server.base}/smart-id/device-link?${SID_LINK}&lang=${THREE[lang]}&authCode=x`);
  await shoot(page, lang, 'sidrp-device-link');
  await ctx.close();
}

function writeReadme() {
  const commit = execFileSync('git', ['-C', ROOT, 'rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
  const dirty = execFileSync('git', ['-C', ROOT, 'status', '--porcelain', '--', 'data', 'po', 'src'],
    { encoding: 'utf8' }).trim() ? ' (with uncommitted changes to data/, po/ or src/)' : '';
  let total = 0;
  let files = 0;
  for (const l of LANGS) {
    for (const f of readdirSync(path.join(OUT, l))) {
      total += statSync(path.join(OUT, l, f)).size;
      files++;
    }
  }
  const rows = [];
  for (const [g, title] of Object.entries(GROUPS)) {
    rows.push(`| **${title}** | | | | |`);
    for (const p of PAGES.filter((x) => x.group === g)) {
      const cells = LANGS.map((l) => `[${l}](${l}/${p.name}.jpg) · [phone](${l}/${p.name}-phone.jpg)`);
      rows.push(`| ${p.name}: ${p.what} | ${cells.join(' | ')} |`);
    }
  }
  writeFileSync(path.join(OUT, 'README.md'), `# Screenshots of every page, in every language

Made by \`make screenshots\` (tests/browser/gallery.mjs) from commit \`${commit}\`${dirty}
on ${new Date().toISOString().slice(0, 10)}: Debian's Chromium (playwright-core), full page, JPEG
quality ${QUALITY}, at 1024 px wide and at 390 px (phone). ${files} files, ${(total / 1048576).toFixed(1)} MiB.

On every page, at both widths, axe-core found no WCAG 2.0/2.1 A or AA violation and the page
was no wider than the window; the run fails otherwise (docs/accessibility.md). The list of
pages is tests/browser/lib/gallery-pages.mjs; tests/browser/gallery-coverage.test.mjs checks
that it covers every template in data/templates. Codes, dates and QR codes differ from run to
run.

| page | nl | fr | de | en |
|---|---|---|---|---|
${rows.join('\n')}
`);
  return { files, total };
}

async function main() {
  const stale = staleCatalogs();
  if (stale.length) throw new Error(`build/po/${stale.join(', ')} older than po/*.po: run ninja -C build first`);
  for (const l of LANGS) {
    if (!ONLY.length) rmSync(path.join(OUT, l), { recursive: true, force: true });
    mkdirSync(path.join(OUT, l), { recursive: true });
  }
  work = mkdtempSync(path.join(tmpdir(), 'sleutel-gallery-'));
  share = shareDir();
  gw = await smsGateway();
  bank = await startTestBank();
  server = await startServer({
    demo: true,
    config: {
      portal: { data_dir: share },
      sms: { driver: 'webhook', webhook_url: gw.url },
      app: { rate_phone: 2, rate_ip: 1000, rate_rp: 1000, max_pending: 20 },
      smartid: { key_bits: 1024, rate_ip: 1000, max_pending: 20, rp_api: true },
      'bank.demo': bank.config(),
    },
  });
  bank.attach(server);
  try {
    const add = await server.cli('client', 'add', '--name', 'Apotheek Nova', '--redirect-uri', 'https://rp.example/cb',
      '--partner-url', 'https://www.apotheeknova.example/');
    assert.ok(add);
    [chrome, rp] = await Promise.all([launchBrowser(server), startRp(server, { name: RP_NAME })]);
    // The person of the test key: two phones (the second one's notice),
    // a Smart-ID device, a site they shared data with (portal()).
    await enrolPhone(server, gw, '0470 12 34 56', DEMO_PERSON);
    await enrolPhone(server, gw, '0471 65 43 21', DEMO_PERSON);
    const person = { given: DEMO_PERSON.given_name, family: DEMO_PERSON.family_name, rrn: DEMO_PERSON.rrn };
    await registerSmartId(server, person, { deviceName: 'Pixel 7' });
    const card = await issueCard(server.pkiDir, work, person);
    for (const [i, lang] of LANGS.entries()) {
      console.log(`${lang}:`);
      await site(lang);
      await portal(lang);
      await eid(lang);
      await app(lang, i);
      await account(lang);
      await proofing(lang);
      await sidreg(lang, card);
    }
  } finally {
    await chrome?.close();
    await rp?.close();
    await server?.stop();
    await bank?.close?.();
    await gw?.close();
    if (share) rmSync(share, { recursive: true, force: true });
    if (work) rmSync(work, { recursive: true, force: true });
  }
  for (const p of PAGES) {
    if (ONLY.length && !ONLY.includes(p.name)) continue;
    const missing = LANGS.filter((l) => !shot.get(p.name)?.has(l));
    if (missing.length) problems.push(`${p.name}: no screenshot in ${missing.join(', ')}`);
  }
  const { files, total } = ONLY.length ? { files: sizes.length, total: sizes.reduce((a, b) => a + b, 0) } : writeReadme();
  console.log(`${files} screenshots, ${(total / 1048576).toFixed(1)} MiB in docs/screenshots/`);
  if (problems.length) {
    console.error(`${problems.length} problem(s):\n${problems.join('\n')}`);
    process.exitCode = 1;
  }
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
