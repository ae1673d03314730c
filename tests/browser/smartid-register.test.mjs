// smartid-register.test.mjs — the Smart-ID registration portal in a real
// browser (Debian's Chromium through playwright-core) holding a virtual eID
// card, while the test phone (tests/integration/lib/smartid.mjs) plays the
// app: the phone registers and shows its code; the person opens
// /smartid/register, logs in with the card (the eID page, the eID origin's
// certificate request, /login/eid/return), answers the questions, types the
// code, confirms; the phone's long-poll wakes and the recall check makes the
// device.  Every page: its heading as po/LANG.po says, no English left, zero
// axe violations (WCAG 2.0/2.1 A and AA), no CSP violation; in nl and fr.
//
//   ninja -C build && eval "$(sh scripts/test-env.sh)" && node --test tests/browser/smartid-register.test.mjs
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ROOT, startServer } from '../integration/lib/harness.mjs';
import { issueCard, PIN } from '../integration/lib/eid.mjs';
import { SmartIdPhone, PORTAL } from '../integration/lib/smartid.mjs';
import { launchBrowser, Watch, axe, untranslated, at, pageText, screenshot, clearArtifacts } from './lib/browser.mjs';
import { portalTexts } from './lib/i18n.mjs';

let server;
let chrome;
let work;
let T;
let msgids;
const watch = new Watch();

// The message ids of the registration half's C files (page titles and
// errors), from po/sleutel.pot, beside the templates' ones.
function splitkeyMsgids() {
  const pot = readFileSync(path.join(ROOT, 'po', 'sleutel.pot'), 'utf8');
  const out = [];
  for (const entry of pot.split('\n\n')) {
    if (!/^#:.*splitkey/m.test(entry)) continue;
    const m = entry.match(/^msgid ((?:".*"\n?)+)/m);
    if (m) out.push(m[1].trim().split('\n').map((l) => JSON.parse(l)).join(''));
  }
  return out;
}

before(async () => {
  clearArtifacts('70-');
  ({ T, msgids } = portalTexts());
  msgids = [...msgids, ...splitkeyMsgids()];
  work = mkdtempSync(path.join(tmpdir(), 'sleutel-sid-browser-'));
  server = await startServer({ demo: true, config: { smartid: { key_bits: 1024 } } });
  chrome = await launchBrowser(server);
});

after(async () => {
  await chrome?.close();
  await server?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

// A browser whose eID origin gets the card, as if it were in the reader.
async function cardContext(label, card) {
  const ctx = await chrome.browser.newContext({
    locale: 'es-ES',
    viewport: { width: 1024, height: 800 },
    clientCertificates: [{ origin: server.eidBase, pfxPath: card.p12, passphrase: PIN }],
    ignoreHTTPSErrors: true, // Playwright's proxy to the eID origin: see tests/browser/eid.test.mjs
  });
  ctx.setDefaultTimeout(15000);
  await watch.attach(ctx, label);
  return ctx;
}

// Heading, no English, zero axe violations.
async function checkPage(page, lang, heading, where) {
  assert.equal(await page.getAttribute('html', 'lang'), lang, `${where}: <html lang>`);
  assert.equal(await pageText(page, 'h1'), T.t(lang, heading), `${where}: <h1>`);
  if (lang !== 'en') assert.notEqual(await pageText(page, 'h1'), heading, `${where}: still English`);
  assert.deepEqual(await untranslated(page, msgids), [], `${where} (${lang}): English text left`);
  assert.deepEqual(await axe(page, `${where} (${lang})`), [], `${where} (${lang}): axe violations`);
}

for (const [i, lang] of ['nl', 'fr'].entries()) {
  test(`registration in the browser with the eID card, ${lang}`, async () => {
    const person = lang === 'nl' ? { given: 'Jan', family: 'Peeters', rrn: '85073003328' }
      : { given: 'Marie', family: 'Dubois', rrn: '90020199704' };
    const phone = await new SmartIdPhone(server).init();
    let r = await phone.register({ deviceName: 'Pixel 8', language: lang });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    const card = await issueCard(server.pkiDir, work, person);
    const ctx = await cardContext(`register-${lang}`, card);
    const page = await ctx.newPage();
    const shot = (n, name) => screenshot(page, `70-${i}${n}-${lang}-${name}`);

    await page.goto(`${server.base}${PORTAL}?lang=${lang}`);
    await checkPage(page, lang, 'Register your Smart-ID with your ID card', 'intro');
    await shot(1, 'intro');
    await page.click(`a.button[href^="${PORTAL}/login"]`);
    await page.waitForURL(at(server.base, '/key/eid'));
    await checkPage(page, lang, 'Log in with your eID card', 'eID page');
    await page.click('a.button');
    await page.waitForURL(at(server.base, `${PORTAL}/questions`));
    await checkPage(page, lang, 'A few questions', 'questions');
    assert.match(await pageText(page, 'label[for="me"]'), new RegExp(`${person.given} ${person.family}`));
    await shot(2, 'questions');
    await page.fill('#email', 'someone@example.be');
    await page.fill('#phone', '0470 12 34 56');
    await page.check('#me');
    await page.click('button[type="submit"]');
    await page.waitForURL(at(server.base, `${PORTAL}/code`));
    await checkPage(page, lang, 'Type your registration code', 'code');
    // A wrong code first: the error is announced and tied to the field.
    await page.fill('#code', phone.code.startsWith('2') ? '3333-3333' : '2222-2222');
    await page.click('button[type="submit"]');
    await page.waitForSelector('#code-error');
    assert.equal(await page.getAttribute('#code', 'aria-invalid'), 'true');
    await checkPage(page, lang, 'Type your registration code', 'wrong code');
    await shot(3, 'wrong-code');
    await page.fill('#code', phone.code);
    await page.click('button[type="submit"]');
    await page.waitForURL(at(server.base, `${PORTAL}/confirm`));
    await checkPage(page, lang, 'Confirm your Smart-ID account', 'confirm');
    assert.equal(await pageText(page, '#sid-name'), `${person.given} ${person.family}`);
    assert.equal(await pageText(page, '#sid-device'), 'Pixel 8');
    await shot(4, 'confirm');
    const woke = phone.call('GET', '/register');
    await page.click('button[type="submit"]');
    await page.waitForSelector('h1');
    await checkPage(page, lang, 'Continue on your phone', 'done');
    await shot(5, 'done');
    r = await woke;
    assert.equal(r.body.status, 'confirmed');
    r = await phone.finish();
    assert.equal(r.status, 201, JSON.stringify(r.body));
    assert.deepEqual(watch.cspProblems(server.base), [], 'no CSP violation on the portal');
    await ctx.close();
  });
}
