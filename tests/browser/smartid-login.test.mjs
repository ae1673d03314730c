// smartid-login.test.mjs — logging in with Smart-ID in a real browser
// (Debian's Chromium through playwright-core) while the test's Smart-ID
// phone (tests/integration/lib/smartid.mjs, registered through the device
// API and the registration portal) answers on the other side:
//
//   RP → key choice → "Smart-ID" → the national register number → the wait
//   page with the verification code → the phone checks the code against
//   the hash and signs with PIN1 → the browser moves on by itself → the RP,
//   logged in with amr ["smartid"] and acr high.
//
// Also: a number that is not one stays on the form with the error; a
// refusal gives a clear page and the RP access_denied; three wrong PINs
// give the "locked" page; without JavaScript the "continue" button
// finishes the login; axe (WCAG 2.0/2.1 A and AA) finds nothing on the
// form, the wait page and the outcome pages, in nl, fr, de and en.
//
//   ninja -C build && eval "$(sh scripts/test-env.sh)" && node --test tests/browser/smartid-login.test.mjs
//
// Screenshots go to tests/artifacts/browser/70-*.png.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { startServer } from '../integration/lib/harness.mjs';
import { rrn } from '../integration/lib/eid.mjs';
import { registerSmartId, verificationCode } from '../integration/lib/smartid.mjs';
import { launchBrowser, Watch, clearArtifacts, screenshot, shots, shareDir, assertAxe, toKeyPage,
  newContext as newContextIn, at, pageText } from './lib/browser.mjs';
import { startRp } from './lib/rp.mjs';
import { loadCatalogs, staleCatalogs, translator } from './lib/i18n.mjs';

const PERSON = { given: 'Mark', family: 'Denblinden', rrn: rrn('850730', 133) };
const LOCKED = { given: 'Lien', family: 'Slot', rrn: rrn('910315', 246) };
const RP_NAME = 'Mijn gezondheid';
const ACR_HIGH = 'http://eidas.europa.eu/LoA/high';

let server;
let chrome;
let rp;
let phone;
let lockedPhone;
let T;
let share;
const watch = new Watch();


before(async () => {
  const stale = staleCatalogs();
  if (stale.length) throw new Error(`po/${stale.join(', ')} older than po/*.po: run ninja first`);
  T = translator(loadCatalogs());
  clearArtifacts(/^7\d-/);
  share = shareDir();
  server = await startServer({
    demo: true,
    config: {
      portal: { data_dir: share },
      smartid: { key_bits: 1024, max_pending: 20 },
      app: { rate_phone: 1000, rate_ip: 1000, rate_rp: 1000 },
    },
  });
  [chrome, rp] = await Promise.all([launchBrowser(server), startRp(server, { name: RP_NAME })]);
  phone = await registerSmartId(server, PERSON);
  lockedPhone = await registerSmartId(server, LOCKED);
});

after(async () => {
  await chrome?.close();
  await rp?.close();
  await server?.stop();
  if (share) rmSync(share, { recursive: true, force: true });
  if (shots.length) console.log(`screenshots: ${shots.length} in tests/artifacts/browser/`);
});

const newContext = (label, opts) => newContextIn(chrome.browser, watch, label, opts);
const text = pageText;

// RP → key choice → "Smart-ID" → the form.
async function toForm(page, query = '') {
  await toKeyPage(page, rp.base, server.base, '/key/smartid', query);
}

// Type the number and send: the wait page. Returns its verification code.
async function toWaitPage(page, number) {
  await page.fill('#rrn', number);
  await page.click('form[action="/key/smartid/login"] button[type="submit"]');
  await page.waitForURL(at(server.base, '/key/smartid/wait'));
  const code = await text(page, '#vcode');
  assert.match(code, /^\d{4}$/, 'the wait page shows a 4-digit verification code');
  return code;
}

// The phone's pending request with the page's code.
async function phoneRequest(p, code) {
  const r = await p.requests();
  assert.equal(r.status, 200, `GET /requests: ${r.status} ${JSON.stringify(r.body)}`);
  const rq = r.body.requests.filter((x) => x.verification_code === code).at(-1);
  assert.ok(rq, `no pending request on the phone with the code ${code}`);
  return rq;
}

const dotted = (n) => `${n.slice(0, 2)}.${n.slice(2, 4)}.${n.slice(4, 6)}-${n.slice(6, 9)}.${n.slice(9)}`;

test('1. Smart-ID login (nl): number, code, the phone signs with PIN1, the browser moves on by itself', async () => {
  const ctx = await newContext('smartid-login');
  const page = await ctx.newPage();
  try {
    const n = rp.callbacks.length;
    await toForm(page);
    assert.equal(await page.getAttribute('html', 'lang'), 'nl');
    assert.equal(await text(page, 'h1'), T.t('nl', 'Log in with Smart-ID'));
    await screenshot(page, '70-smartid-form-nl');
    await assertAxe(page, 'Smart-ID form (nl)');
    const code = await toWaitPage(page, dotted(PERSON.rrn));
    assert.equal(await text(page, 'h1'), T.t('nl', 'Confirm in the Smart-ID app'));
    assert.match(await text(page, '#vcode-check'), /Controleer of de code op je telefoon dezelfde is/);
    await screenshot(page, '71-smartid-wait-nl');
    await assertAxe(page, 'Smart-ID wait page (nl)');
    const rq = await phoneRequest(phone, code);
    assert.equal(verificationCode(Buffer.from(rq.hash, 'base64url')), code, 'the phone computes the same code');
    assert.equal(rq.display_text, `Inloggen bij ${RP_NAME}`);
    const t1 = Date.now();
    const ans = await phone.confirm(rq);
    assert.equal(ans.status, 200, JSON.stringify(ans.body));
    // No click: the page's long-poll moves the browser on to the RP.
    await page.waitForURL(at(rp.base, '/cb'), { timeout: 5000 });
    assert.ok(Date.now() - t1 < 5000);
    await page.locator('#claims').waitFor();
    assert.equal(rp.callbacks.length, n + 1, 'the RP got exactly one callback');
    const cb = rp.last();
    assert.equal(cb.failure, undefined, `the RP could not redeem its code: ${cb.failure}`);
    assert.equal(cb.claims.acr, ACR_HIGH);
    assert.deepEqual(cb.claims.amr, ['smartid']);
    assert.equal(cb.userinfo.given_name, PERSON.given);
    assert.equal(cb.userinfo.family_name, PERSON.family);
    await screenshot(page, '72-smartid-rp-logged-in');
  } finally {
    await ctx.close();
  }
});

test('2. the form in four languages; a number that is not one stays on the form with the error', async () => {
  for (const lang of ['fr', 'de', 'en']) {
    const ctx = await newContext(`smartid-form-${lang}`);
    const page = await ctx.newPage();
    try {
      await toForm(page, `?ui_locales=${lang}`);
      assert.equal(await page.getAttribute('html', 'lang'), lang);
      assert.equal(await text(page, 'h1'), T.t(lang, 'Log in with Smart-ID'));
      await assertAxe(page, `Smart-ID form (${lang})`);
      const wrong = PERSON.rrn.slice(0, 10) + String((Number(PERSON.rrn[10]) + 1) % 10);
      await page.fill('#rrn', wrong);
      await page.click('form[action="/key/smartid/login"] button[type="submit"]');
      await page.locator('#rrn-error').waitFor();
      assert.ok(at(server.base, '/key/smartid/login')(new URL(page.url())));
      assert.equal(await text(page, '#rrn-error'),
        T.t(lang, 'This is not a national register number. Type its 11 digits, for example 85.07.30-033.28.'));
      assert.equal(await page.getAttribute('#rrn', 'aria-invalid'), 'true');
      await screenshot(page, `73-smartid-form-error-${lang}`);
      await assertAxe(page, `Smart-ID form with an error (${lang})`);
      // The wait page of this language too.
      await toWaitPage(page, PERSON.rrn);
      assert.equal(await text(page, 'h1'), T.t(lang, 'Confirm in the Smart-ID app'));
      await assertAxe(page, `Smart-ID wait page (${lang})`);
      await phone.refuse(await phoneRequest(phone, await text(page, '#vcode')));
      // The refusal turns the page by itself: wait for where it lands
      // rather than close the context while it navigates (see
      // closeContext in lib/browser.mjs).
      await page.waitForFunction((h) => document.querySelector('h1')?.textContent.trim() === h,
        T.t(lang, 'You refused the request on your phone'), { timeout: 5000 });
    } finally {
      await ctx.close();
    }
  }
});

test('3. refused on the phone (en): a clear page, and the RP gets access_denied', async () => {
  const ctx = await newContext('smartid-refuse');
  const page = await ctx.newPage();
  try {
    await toForm(page, '?ui_locales=en');
    const code = await toWaitPage(page, PERSON.rrn);
    assert.equal((await phone.refuse(await phoneRequest(phone, code))).status, 200);
    await page.waitForFunction((h) => document.querySelector('h1')?.textContent.trim() === h,
      T.t('en', 'You refused the request on your phone'), { timeout: 5000 });
    await screenshot(page, '74-smartid-refused-en');
    await assertAxe(page, 'Smart-ID refusal (en)');
    await page.click('form[action="/login/finish"] button');
    await page.waitForURL(at(rp.base, '/cb'));
    assert.equal(rp.last().query.error, 'access_denied');
  } finally {
    await ctx.close();
  }
});

test('4. three wrong PINs (nl): the page says the Smart-ID is locked', async () => {
  const ctx = await newContext('smartid-locked');
  const page = await ctx.newPage();
  try {
    await toForm(page);
    const code = await toWaitPage(page, LOCKED.rrn);
    const rq = await phoneRequest(lockedPhone, code);
    for (let i = 1; i <= 3; i++) {
      const r = await lockedPhone.confirm(rq, { wrongPin: true });
      assert.equal(r.status, 400);
      assert.equal(r.body.failures, i);
    }
    await page.waitForFunction((h) => document.querySelector('h1')?.textContent.trim() === h,
      T.t('nl', 'Your Smart-ID is locked'), { timeout: 5000 });
    await screenshot(page, '75-smartid-locked-nl');
    await assertAxe(page, 'Smart-ID locked (nl)');
  } finally {
    await ctx.close();
  }
});

test('5. without JavaScript: the "continue" button finishes the login', async () => {
  const ctx = await newContext('smartid-nojs', { javaScriptEnabled: false });
  const page = await ctx.newPage();
  try {
    const n = rp.callbacks.length;
    await toForm(page);
    const code = await toWaitPage(page, PERSON.rrn);
    assert.equal((await phone.confirm(await phoneRequest(phone, code))).status, 200);
    await page.waitForTimeout(1000);
    assert.ok(at(server.base, '/key/smartid/wait')(new URL(page.url())), 'the page stays without JavaScript');
    const cont = page.locator('form[action="/key/smartid/wait"] button[type="submit"]');
    assert.equal((await cont.innerText()).trim(), T.t('nl', 'I have confirmed, continue'));
    await cont.click();
    await page.waitForURL(at(rp.base, '/cb'));
    await page.locator('#claims').waitFor();
    assert.equal(rp.callbacks.length, n + 1);
    assert.deepEqual(rp.last().claims.amr, ['smartid']);
  } finally {
    await ctx.close();
  }
});
