// smartid-register.test.mjs — the Smart-ID registration portal in a real
// browser (Debian's Chromium through playwright-core) holding a virtual eID
// card, while the test phone (tests/integration/lib/smartid.mjs) plays the
// app: the phone registers and shows its code; the person opens
// /smartid/register, logs in with the card (the eID page, the eID origin's
// certificate request, /login/eid/return), answers the questions, types the
// code, confirms; the phone's long-poll wakes and the recall check makes the
// device.  Every page: its heading as po/LANG.po says, no English left, zero
// axe violations (WCAG 2.0/2.1 A and AA), no CSP violation; in nl and fr.
// And the "busy, try again" confirmation ([smartid] keygen_max 1 here, each
// keygen held HOLD_MS by the test build's hook while another person confirms).
//
//   ninja -C build && eval "$(sh scripts/test-env.sh)" && node --test tests/browser/smartid-register.test.mjs
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ROOT, startServer } from '../integration/lib/harness.mjs';
import { Agent, hiddenInputs } from '../integration/lib/harness.mjs';
import { issueCard, PIN } from '../integration/lib/eid.mjs';
import { SmartIdPhone, PORTAL, portalEidLogin, portalSteps } from '../integration/lib/smartid.mjs';
import { launchBrowser, Watch, axe, untranslated, at, pageText, screenshot, clearArtifacts } from './lib/browser.mjs';
import { portalTexts } from './lib/i18n.mjs';

let server;
let chrome;
let work;
let T;
let msgids;
const watch = new Watch();
const HOLD_MS = 4000;

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
  server = await startServer({ demo: true, config: { smartid: { key_bits: 1024, keygen_max: 1 } },
    env: { SLEUTEL_TEST_KEYGEN_DELAY_MS: String(HOLD_MS) } });
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

test('the confirmation while the server is busy making keys: 503, the same form, then done', async () => {
  // Someone else's confirmation, over HTTP, up to its form.
  const other = await new SmartIdPhone(server).init();
  let r = await other.register({ deviceName: 'Other phone' });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  const agent = new Agent();
  await portalEidLogin(server, agent, await issueCard(server.pkiDir, work,
    { given: 'Els', family: 'Maes', rrn: '90020199704' }));
  assert.equal((await portalSteps(server, agent, other.code, { stopAt: 'confirm' })).status, 303);
  const form = hiddenInputs(await (await agent.get(`${server.base}${PORTAL}/confirm?lang=nl`)).text());

  // This person, in the browser, up to the confirmation.
  const phone = await new SmartIdPhone(server).init();
  r = await phone.register({ deviceName: 'Pixel 8' });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  const ctx = await cardContext('register-busy', await issueCard(server.pkiDir, work,
    { given: 'Jan', family: 'Janssens', rrn: '85073003328' }));
  const page = await ctx.newPage();
  await page.goto(`${server.base}${PORTAL}/login?lang=nl`);
  await page.waitForURL(at(server.base, '/key/eid'));
  await page.click('a.button');
  await page.waitForURL(at(server.base, `${PORTAL}/questions`));
  await page.fill('#email', 'jan@example.be');
  await page.fill('#phone', '0470 12 34 56');
  await page.check('#me');
  await page.click('button[type="submit"]');
  await page.waitForURL(at(server.base, `${PORTAL}/code`));
  await page.fill('#code', phone.code);
  await page.click('button[type="submit"]');
  await page.waitForURL(at(server.base, `${PORTAL}/confirm`));
  // Jan has the device of the first test: the page offers to revoke it
  // (a replacement, reg_replace.c), translated and accessible.
  assert.equal(await page.locator('#sid-replace input[type="checkbox"]').count(), 1);
  await checkPage(page, 'nl', 'Confirm your Smart-ID account', 'confirm, a device to replace');
  // The same browser state in a context with no connection yet: the key
  // generation runs on the HTTP thread of its connection, so this one must
  // connect while the other is in its keygen (only an idle thread accepts).
  const state = await ctx.storageState();
  await ctx.close();
  const ctx2 = await chrome.browser.newContext({ locale: 'es-ES', viewport: { width: 1024, height: 800 },
    ignoreHTTPSErrors: true, storageState: state });
  ctx2.setDefaultTimeout(15000);
  await watch.attach(ctx2, 'register-busy-2');
  const page2 = await ctx2.newPage();

  // The other confirmation holds the only keygen slot: this one is told to wait.
  const first = agent.post(`${server.base}${PORTAL}/confirm`, form);
  await new Promise((res) => setTimeout(res, HOLD_MS / 4)); // the other is making its keys now
  await page2.goto(`${server.base}${PORTAL}/confirm?lang=nl`);
  const [busy] = await Promise.all([page2.waitForResponse((res) => res.url().endsWith('/confirm')),
    page2.click('button[type="submit"]')]);
  assert.equal(busy.status(), 503);
  await page2.waitForSelector('#confirm-error');
  await checkPage(page2, 'nl', 'Confirm your Smart-ID account', 'busy');
  assert.match(await pageText(page2, '#confirm-error'),
    new RegExp(T.t('nl', 'The server is busy making keys for other registrations. Try again in a moment: press Confirm again.').slice(0, 30)));
  await screenshot(page2, '70-30-nl-busy');
  assert.equal((await first).status, 200);

  // Pressed again: done.
  await page2.click('button[type="submit"]');
  await page2.waitForSelector('h1');
  await checkPage(page2, 'nl', 'Continue on your phone', 'done after busy');
  r = await phone.status();
  assert.equal(r.body.status, 'confirmed');
  assert.deepEqual(watch.cspProblems(server.base), [], 'no CSP violation on the portal');
  await ctx2.close();
});
