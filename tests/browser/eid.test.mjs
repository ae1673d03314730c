// eid.test.mjs — the eID card reader login in a real browser (Debian's
// Chromium through playwright-core), with a virtual card from the demo PKI.
//
//   ninja -C build && eval "$(sh scripts/test-env.sh)" && node --test tests/browser/eid.test.mjs
//
// The server runs in demo mode (startServer({ demo: true })): the eID origin
// trusts the demo PKI in server.pkiDir and sleuteld serves its OCSP
// responder. `sleutel pki card` issues the cards as PKCS#12 files, and
// Chromium presents them through Playwright's clientCertificates context
// option: Playwright's local proxy answers the eID origin's certificate
// request with the card's key, as the eID middleware does for a real card.
//
// What is checked: the whole login of a relying party (RP → key choice →
// "eID kaartlezer" → the eID page → the eID origin with the card's
// certificate → /login/eid/return → the RP with the card's identity), an expired
// card refused on the eID origin's error page and its way back to another
// key, a browser without a card (Chromium itself on the eID origin), axe
// (WCAG 2.0/2.1 A and AA) on the eID page and the error page in nl and fr,
// the audit records, no CSP violation on either origin, the language
// switch of a refusal page (it keeps the request's ticket), and the eID link
// opened in another browser (the card's holder warned, nobody logged in).
// Screenshots go to tests/artifacts/browser/40-*.png.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { promisify } from 'node:util';
import { startServer, SLEUTEL, DEMO_PERSON } from '../integration/lib/harness.mjs';
import { sqlJson } from '../integration/lib/db.mjs';
import { launchBrowser, Watch, clearArtifacts, screenshot, axe, formatViolations, untranslated, shots, spkiHash, at, autoConsent }
  from './lib/browser.mjs';
import { startRp } from './lib/rp.mjs';
import { loadCatalogs, staleCatalogs, englishMsgids, translator } from './lib/i18n.mjs';

const execFileP = promisify(execFile);
const PIN = '1234';
const ACR_HIGH = 'http://eidas.europa.eu/LoA/high';

// The eID page's texts (data/templates/eid.html) and the expired card's
// refusal (src/keys/eid/login.c), as message ids.
const EID_HEADING = 'Log in with your eID card';
const EID_STEPS = [
  'Connect your eID card reader to your computer.',
  'Insert your electronic identity card (eID), foreigner\'s card or Kids-ID in the card reader.',
  'Click Log in, choose your certificate and type the PIN of your identity card when asked.',
];
const EXPIRED_HEADING = 'Your eID card has expired';
const EXPIRED_DETAIL = 'The certificate on your card is no longer valid. Renew your card at your municipality.';
const OTHER_KEY = 'Choose another digital key';
const OTHER_BROWSER = 'This login was started in another browser';
const OTHER_BROWSER_WARNING = 'If you did not start this login yourself, someone may be trying to log in as you: close this page.';
const CHOOSE = 'Choose your digital key';

let server;
let chrome;
let rp;
let T;
let msgids;
let cards;
let work;
const watch = new Watch();

// Issue a virtual card: the PKCS#12 file with the authentication and
// signature certificates and their keys, protected by the PIN.
async function issueCard(name, ...extra) {
  const out = path.join(work, `${name}.p12`);
  const { stdout } = await execFileP(SLEUTEL, ['pki', 'card', server.pkiDir, '--name', 'Demo Citizen',
    '--rrn', DEMO_PERSON.rrn, '--out', out, '--pin', PIN, '--json', ...extra], { encoding: 'utf8' });
  return { p12: out, ...JSON.parse(stdout) };
}

before(async () => {
  const stale = staleCatalogs();
  if (stale.length) throw new Error(`build/po/${stale.join(', ')} older than po/*.po: run ninja -C build first`);
  T = translator(loadCatalogs());
  msgids = englishMsgids();
  // Only this file's screenshots: the others in the folder are portal.test.mjs's.
  clearArtifacts('40-');
  work = mkdtempSync(path.join(tmpdir(), 'sleutel-eid-cards-'));
  server = await startServer({ demo: true });
  [chrome, rp, cards] = await Promise.all([
    launchBrowser(server),
    startRp(server),
    Promise.all([issueCard('valid'), issueCard('expired', '--expired')]).then(([valid, expired]) => ({ valid, expired })),
  ]);
});

after(async () => {
  await chrome?.close();
  await rp?.close();
  await server?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
  if (shots.length) console.log(`screenshots: ${shots.length} in tests/artifacts/browser/ (40-*)`);
});

// A context whose browser holds `card` for the eID origin, as if it were in
// the reader. The locale asks for no portal language, so nl (the server's
// default_language) applies unless the RP sends ui_locales.
async function cardContext(label, card) {
  const ctx = await chrome.browser.newContext({
    locale: 'es-ES',
    viewport: { width: 1024, height: 800 },
    clientCertificates: [{ origin: server.eidBase, pfxPath: card.p12, passphrase: PIN }],
    // Playwright's proxy, not Chromium, then makes the TLS connection to the
    // eID origin, with a Node secure context built from the PKCS#12 file.
    // For the file's CA certificates Node gives that context a certificate
    // store of its own, without NODE_EXTRA_CA_CERTS (the run's test CA), so
    // the proxy cannot verify the server ("unable to verify the first
    // certificate"; Node 20, and so without Playwright). It is
    // told not to; test 1 checks the eID origin's certificate itself
    // (eidServerCert). The browser side of that proxy is Playwright's own
    // certificate, which Playwright always tells Chromium to accept.
    ignoreHTTPSErrors: true,
  });
  ctx.setDefaultTimeout(10000);
  await watch.attach(ctx, label);
  return autoConsent(ctx);
}

const text = async (loc) => (await loc.first().innerText()).replace(/\s+/g, ' ').trim();

// The page's <h1> is `msgid` as po/LANG.po translates it (and, but for
// English, not the English msgid).
async function assertHeading(page, lang, msgid, where) {
  assert.equal(await page.getAttribute('html', 'lang'), lang, `${where}: <html lang>`);
  const h1 = await text(page.locator('h1'));
  if (lang !== 'en') assert.notEqual(h1, msgid, `${where}: the heading is still English (po/${lang}.po)`);
  assert.equal(h1, T.t(lang, msgid), `${where}: <h1> is not the po/${lang}.po text`);
}

async function assertNoEnglish(page, lang, where) {
  // The eID pages' own message ids are not in englishMsgids() (it reads the
  // templates and src/portal, src/oidc): add src/keys/eid/login.c's.
  const left = await untranslated(page, [...msgids, EXPIRED_HEADING, EXPIRED_DETAIL]);
  assert.deepEqual(left, [], `${where} (${lang}): English text left on the page: ${JSON.stringify(left)}`);
}

// RP → its login link → the key choice → "eID card reader" → the eID page.
async function toEidPage(page, lang, names) {
  // prompt=login: a context that logged in before has a session, and the
  // portal would otherwise send the browser straight back to the RP.
  await page.goto(`${rp.base}/?prompt=login${lang === 'nl' ? '' : `&ui_locales=${lang}`}`);
  if (names) await screenshot(page, names[0]);
  await page.click('#login');
  await page.waitForURL(at(server.base, '/login'));
  const req = new URL(page.url()).searchParams.get('req');
  await assertHeading(page, lang, CHOOSE, 'key choice page');
  const key = page.locator('a.key[href^="/key/eid?"]');
  assert.equal(await text(key.locator('.key-label')), T.t(lang, 'eID card reader'), 'the eID key\'s label');
  if (names) await screenshot(page, names[1]);
  await key.click();
  await page.waitForURL(at(server.base, '/key/eid'));
  assert.equal(new URL(page.url()).searchParams.get('req'), req, 'the eID page keeps the request');
  return req;
}

// The eID page: heading, the three steps, the "Aanmelden" link to the eID
// origin and the way back to the key choice.
async function checkEidPage(page, lang, req) {
  await assertHeading(page, lang, EID_HEADING, 'eID page');
  assert.equal(await page.title(), `${T.t(lang, EID_HEADING)} · sleutel`);
  assert.equal(await text(page.locator('p.rp')), T.t(lang, 'to log in to %1').replace('%1', 'Mijn gezondheid'));
  const steps = (await page.locator('ol.steps > li').allInnerTexts()).map((s) => s.trim());
  assert.deepEqual(steps, EID_STEPS.map((id) => T.t(lang, id)), 'the three steps, translated');
  const login = page.locator('a.button');
  assert.equal(await text(login), T.t(lang, 'Log in'), 'the login link\'s text');
  const href = new URL(await login.getAttribute('href'));
  assert.equal(href.origin, server.eidBase, 'the login link goes to the eID origin');
  assert.equal(href.pathname, '/eid/login');
  assert.equal(href.searchParams.get('req'), req);
  assert.ok(href.searchParams.get('t'), 'the link carries a ticket');
  assert.equal(href.searchParams.get('lang'), lang);
  const other = page.locator('a', { hasText: T.t(lang, OTHER_KEY) });
  assert.equal(await other.count(), 1, 'the page links to another key');
  assert.equal(await other.getAttribute('href'), `/login?req=${req}&lang=${lang}`);
  assert.equal(await text(page.locator('p.notice')), T.t(lang, 'The first time, install the eID software from eid.belgium.be.'));
  await assertNoEnglish(page, lang, 'eID page');
}

// axe on the page, its verdict as a subtest.
async function axeCheck(t, page, label) {
  const violations = await axe(page, label);
  await t.test(`${label}: zero axe violations`, () => {
    assert.equal(violations.length, 0, `axe on ${label} (${page.url()}):\n${formatViolations(violations)}`);
  });
}

// The certificate the eID origin presents, seen by Node with the run's test
// CA (NODE_EXTRA_CA_CERTS) and no client certificate.
function eidServerCert() {
  return new Promise((resolve, reject) => {
    const sock = tls.connect({ host: '127.0.0.1', port: server.eidPort, ALPNProtocols: ['http/1.1'] }, () => {
      const cert = sock.getPeerX509Certificate();
      const authorized = sock.authorized;
      sock.end();
      resolve({ cert, authorized });
    });
    sock.once('error', reject);
  });
}

function audit() {
  return sqlJson(server, 'SELECT event, result, key, client_id, detail FROM audit ORDER BY seq');
}

test('1. eID login: RP → key choice → eID card reader → eID page → card on the eID origin → back at the RP', async (t) => {
  const ctx = await cardContext('eid-ok', cards.valid);
  const page = await ctx.newPage();
  const seen = [];
  page.on('response', (r) => seen.push({ url: r.url(), status: r.status() }));
  try {
    const n = rp.callbacks.length;
    const req = await toEidPage(page, 'nl', ['40-01-rp-start', '40-02-choose-nl']);
    await screenshot(page, '40-03-eid-page-nl');
    await checkEidPage(page, 'nl', req);
    await axeCheck(t, page, 'nl eID page');

    // "Aanmelden": the eID origin asks for the card's certificate, checks it
    // (chain, validity, OCSP at the demo responder) and sends the browser back
    // through the portal's /login/eid/return to the RP.
    await page.click('a.button');
    await page.waitForURL(at(rp.base, '/cb'));
    await page.locator('#claims').waitFor();
    await screenshot(page, '40-04-rp-claims');

    // The proxy that held the card did not verify the eID origin (see
    // cardContext): its certificate is tls/server.pem from the test CA, the
    // key Chromium trusts for the portal (--ignore-certificate-errors-spki-list).
    const served = await eidServerCert();
    assert.ok(served.authorized, 'the eID origin\'s certificate verifies against the test CA');
    const pem = path.join(server.dir, 'tls', 'server.pem');
    assert.equal(served.cert.fingerprint256, new X509Certificate(readFileSync(pem)).fingerprint256);
    assert.equal(spkiHash(pem), chrome.spki);

    const eid = seen.find((r) => r.url.startsWith(`${server.eidBase}/eid/login?`));
    assert.ok(eid, `the browser went to the eID origin: ${JSON.stringify(seen.map((r) => r.url))}`);
    assert.equal(eid.status, 303, 'the eID origin accepted the card');
    const finish = seen.find((r) => r.url.startsWith(`${server.base}/login/eid/return?`));
    assert.ok(finish, 'the eID origin sent the browser to /login/eid/return');
    assert.equal(new URL(finish.url).searchParams.get('req'), req);
    assert.equal(finish.status, 303);

    assert.equal(rp.callbacks.length, n + 1, 'the RP got exactly one callback');
    const cb = rp.last();
    assert.ok(cb.query.code, `the RP got a code, not ${JSON.stringify(cb.query)}`);
    assert.equal(cb.query.iss, server.issuer);
    assert.equal(cb.failure, undefined, `the RP could not redeem the code: ${cb.failure}`);
    assert.equal(await text(page.locator('[data-claim="given_name"]')), 'Demo');
    assert.equal(await text(page.locator('[data-claim="family_name"]')), 'Citizen');
    assert.equal(await text(page.locator('[data-claim="national_register_number"]')), DEMO_PERSON.rrn);
    assert.deepEqual(cb.claims.amr, ['eid']);
    assert.equal(cb.claims.acr, ACR_HIGH);
    assert.equal(cb.userinfo.given_name, 'Demo');
    assert.equal(cb.userinfo.family_name, 'Citizen');
    assert.equal(cb.userinfo.national_register_number, DEMO_PERSON.rrn, 'scope eid: the national register number');
    assert.equal(cb.userinfo.birthdate, '1985-07-30', 'the birth date, from the national register number');

    const rows = await audit();
    assert.ok(rows.some((r) => r.event === 'login' && r.key === 'eid' && r.result === 'ok' && r.client_id === rp.client.client_id),
      `an audit record of the eID login: ${JSON.stringify(rows)}`);
  } finally {
    await ctx.close();
  }
});

test('2. expired card: refused on the eID origin\'s error page (nl, fr), the way back to another key works', async (t) => {
  const ctx = await cardContext('eid-expired', cards.expired);
  const page = await ctx.newPage();
  try {
    for (const lang of ['nl', 'fr']) {
      const req = await toEidPage(page, lang, null);
      if (lang !== 'nl') {
        await screenshot(page, `40-08-eid-page-${lang}`);
        await checkEidPage(page, lang, req);
        await axeCheck(t, page, `${lang} eID page`);
      }
      const [res] = await Promise.all([
        page.waitForResponse((r) => r.url().startsWith(`${server.eidBase}/eid/login?`)),
        page.click('a.button'),
      ]);
      await page.waitForLoadState('load');
      assert.equal(res.status(), 403, 'the expired card is refused');
      assert.equal(new URL(page.url()).origin, server.eidBase, 'the refusal is shown on the eID origin');
      await screenshot(page, `${lang === 'nl' ? '40-05' : '40-09'}-expired-${lang}`);
      await assertHeading(page, lang, EXPIRED_HEADING, `${lang} expired card page`);
      assert.equal(await page.title(), `${T.t(lang, EXPIRED_HEADING)} · sleutel`);
      assert.equal(await text(page.locator('main p').first()), T.t(lang, EXPIRED_DETAIL));
      assert.equal(await text(page.locator('p.code code')), 'expired', 'the technical detail for the helpdesk');
      await assertNoEnglish(page, lang, 'expired card page');
      await axeCheck(t, page, `${lang} expired card page`);

      // "Choose another digital key": back to the portal's key choice for the
      // same, still pending request; the test key then finishes the login.
      const back = page.locator('a.button', { hasText: T.t(lang, OTHER_KEY) });
      assert.equal(await back.count(), 1, 'the error page links back to the key choice');
      assert.equal(await back.getAttribute('href'), `${server.base}/login?req=${req}&lang=${lang}`);
      await back.click();
      await page.waitForURL(at(server.base, '/login'));
      await assertHeading(page, lang, CHOOSE, `${lang} key choice after the refusal`);
      if (lang === 'nl') {
        await screenshot(page, '40-06-back-to-choose');
        const n = rp.callbacks.length;
        await page.click('a.key[href^="/key/test?"]');
        await page.waitForURL(at(server.base, '/key/test'));
        await page.click('button[name="mode"][value="direct"]');
        await page.waitForURL(at(rp.base, '/cb'));
        await page.locator('#claims').waitFor();
        await screenshot(page, '40-07-rp-claims-other-key');
        assert.equal(rp.callbacks.length, n + 1);
        assert.equal(rp.last().failure, undefined, `the RP could not redeem the code: ${rp.last().failure}`);
        assert.deepEqual(rp.last().claims.amr, ['test'], 'the other key finished the same request');
      }
    }
    const rows = (await audit()).filter((r) => r.key === 'eid' && r.result === 'expired');
    assert.equal(rows.length, 2, `an audit record "expired" for each refusal: ${JSON.stringify(rows)}`);
    assert.ok(rows.every((r) => r.event === 'login'));
  } finally {
    await ctx.close();
  }
});

test('3. no card: Chromium itself on the eID origin, without a certificate to offer', async (t) => {
  // No clientCertificates: Chromium makes the TLS connection to the eID
  // origin itself (trusting its key by the SPKI flag), has no certificate to
  // answer the request for one with, and goes on without.
  const ctx = await chrome.browser.newContext({ locale: 'nl-BE', viewport: { width: 1024, height: 800 } });
  ctx.setDefaultTimeout(10000);
  await watch.attach(ctx, 'eid-nocard');
  const page = await ctx.newPage();
  try {
    const req = await toEidPage(page, 'nl', null);
    const [res] = await Promise.all([
      page.waitForResponse((r) => r.url().startsWith(`${server.eidBase}/eid/login?`)),
      page.click('a.button'),
    ]);
    await page.waitForLoadState('load');
    await screenshot(page, '40-10-no-certificate-nl');
    assert.equal(res.status(), 403);
    const csp = (await res.allHeaders())['content-security-policy'] || '';
    assert.match(csp, /default-src 'none'/, 'the eID origin\'s pages have the portal\'s CSP');
    assert.ok(await res.securityDetails(), 'the eID origin answered over TLS');
    await assertHeading(page, 'nl', 'Your browser did not send a certificate', 'no-certificate page');
    assert.equal(await text(page.locator('p.code code')), 'no_certificate');
    const back = page.locator('a.button');
    assert.equal(await back.getAttribute('href'), `${server.base}/login?req=${req}&lang=nl`);

    // The language switch of an eID refusal page: the page in French.
    // (The switch keeps the request's ticket "t": without it the eID origin
    // would answer "This form has expired".)
    await t.test('the language switch on the eID origin\'s refusal page shows the refusal in French', async () => {
      await page.click('nav.langs a[hreflang="fr"]');
      await page.waitForLoadState('load');
      await screenshot(page, '40-11-no-certificate-switch-fr');
      await assertHeading(page, 'fr', 'Your browser did not send a certificate', 'no-certificate page after the switch');
    });
    const rows = (await audit()).filter((r) => r.key === 'eid' && r.result === 'no_certificate');
    assert.ok(rows.length >= 1, `an audit record "no_certificate": ${JSON.stringify(rows)}`);
  } finally {
    await ctx.close();
  }
});

test('4. the eID link opened in another browser: the card\'s holder is warned (nl, fr), nobody is logged in', async (t) => {
  // The starter: a browser without a card that starts the login and takes
  // the eID link from the eID page, as someone who sends it to a victim.
  const starter = await chrome.browser.newContext({ locale: 'nl-BE', viewport: { width: 1024, height: 800 } });
  starter.setDefaultTimeout(10000);
  await watch.attach(starter, 'eid-starter');
  const victim = await cardContext('eid-victim', cards.valid);
  try {
    const page = await starter.newPage();
    const req = await toEidPage(page, 'nl', null);
    const link = new URL(await page.locator('a.button').getAttribute('href'));
    const n = rp.callbacks.length;

    const vpage = await victim.newPage();
    const [res] = await Promise.all([
      vpage.waitForResponse((r) => r.url().startsWith(`${server.base}/login/eid/return?`)),
      vpage.goto(link.href),
    ]);
    await vpage.waitForLoadState('load');
    assert.equal(res.status(), 403, 'the card\'s result is refused in the browser that did not start the login');
    await screenshot(vpage, '40-12-other-browser-nl');
    await assertHeading(vpage, 'nl', OTHER_BROWSER, 'other-browser page');
    assert.equal(await text(vpage.locator('p.error')), T.t('nl', OTHER_BROWSER_WARNING));
    await assertNoEnglish(vpage, 'nl', 'other-browser page');
    await axeCheck(t, vpage, 'nl other-browser page');
    await vpage.click('nav.langs a[hreflang="fr"]');
    await vpage.waitForLoadState('load');
    await assertHeading(vpage, 'fr', OTHER_BROWSER, 'other-browser page after the switch');
    await assertNoEnglish(vpage, 'fr', 'other-browser page');
    await axeCheck(t, vpage, 'fr other-browser page');

    // The starter is not logged in: its /login/finish still shows the wait
    // page, and the RP got nothing.
    await page.goto(`${server.base}/login/finish?req=${req}&csrf=${encodeURIComponent(link.searchParams.get('t'))}&lang=nl`);
    await assertHeading(page, 'nl', 'Confirm on your other device', 'the starter\'s /login/finish');
    assert.equal(rp.callbacks.length, n, 'the RP got no callback');

    // A spent or wrong link back in the starter's own browser: the way to
    // try the card again.
    const bad = await page.goto(`${server.base}/login/eid/return?req=${req}&r=${'A'.repeat(43)}&lang=nl`);
    assert.equal(bad.status(), 400);
    await screenshot(page, '40-13-eid-retry-nl');
    await assertHeading(page, 'nl', 'Your eID card login could not be finished', 'retry page');
    assert.equal(await page.locator('a.button').getAttribute('href'), `/key/eid?req=${req}&lang=nl`);
    await assertNoEnglish(page, 'nl', 'retry page');
    await axeCheck(t, page, 'nl retry page');

    const rows = (await audit()).filter((r) => r.event === 'eid.other_browser');
    assert.equal(rows.length, 1, `one eid.other_browser audit record: ${JSON.stringify(rows)}`);
    assert.equal(rows[0].result, 'refused');
  } finally {
    await victim.close();
    await starter.close();
  }
});

test('5. no CSP violation and no script error on the portal and the eID origin', () => {
  for (const origin of [server.base, server.eidBase]) {
    const csp = watch.cspProblems(origin);
    assert.deepEqual(csp, [], `CSP violations on ${origin}:\n${csp.map((e) => `  ${JSON.stringify(e)}`).join('\n')}`);
    // Chromium logs every 4xx document it loads (the refusals answer 403 on
    // purpose) and /favicon.ico, which sleutel does not serve.
    const loadFailure = /^Failed to load resource: the server responded with a status of 4\d\d/;
    const other = watch.otherProblems(origin).filter((e) => !(e.kind === 'console' && loadFailure.test(e.text) &&
      (e.url === e.pageUrl || new URL(e.url).pathname === '/favicon.ico')));
    assert.deepEqual(other, [], `console errors or script errors on ${origin}:\n${other.map((e) => `  ${JSON.stringify(e)}`).join('\n')}`);
  }
});
