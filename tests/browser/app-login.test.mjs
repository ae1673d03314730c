// app-login.test.mjs — the sleutel app login in a real browser (Debian's
// Chromium through playwright-core) while the test's JS phone
// (tests/integration/lib/phone.mjs, enrolled through the device API with
// the webhook SMS gateway) answers on the other side:
//
//   RP → key choice → "sleutel app" → the phone number → the wait page with
//   the 4-digit verification code and a live countdown → the phone picks
//   that code out of three and approves → the browser moves on by itself
//   (no click) → the RP, logged in with the app's acr and amr.
//
// Also: a refusal on the phone gives a clear page and the RP access_denied;
// a wrong pick says so; "I need more time" extends (up to 10 times);
// the QR code changes every slot without a reload (and with the "New QR
// code" link without script), and the phone that scans it sees which
// browser asked;
// without JavaScript the "continue" button does what the script does; a
// payment (PAR with authorization_details) shows its text on the wait
// page; axe (WCAG 2.0/2.1 A and AA) finds nothing on the phone form, the
// wait page and the outcome pages in nl and en; no CSP violation.
//
//   ninja -C build && eval "$(sh scripts/test-env.sh)" && cd tests && node --test browser/app-login.test.mjs
//
// Screenshots go to tests/artifacts/browser/50-*.png.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { startServer } from '../integration/lib/harness.mjs';
import { tokenRequest } from '../integration/lib/flows.mjs';
import { smsGateway, enrolPhone, qrSlot } from '../integration/lib/phone.mjs';
import { launchBrowser, Watch, clearArtifacts, screenshot, shots, shareDir, assertAxe, toKeyPage,
  newContext as newContextIn, at, pageText } from './lib/browser.mjs';
import { startRp } from './lib/rp.mjs';
import { loadCatalogs, staleCatalogs, translator } from './lib/i18n.mjs';

const PERSON = { rrn: '85073003328', given_name: 'Mark', family_name: 'Denblinden', birthdate: '1985-07-30' };
const RP_NAME = 'Mijn gezondheid';
const ACR_HIGH = 'http://eidas.europa.eu/LoA/high';
const LIFETIME = 120; // [app] request_lifetime for this run
const ROTATE = 2; // [app] qr_rotate_seconds: the QR code changes this often
const PAY = { type: 'payment', instructedAmount: { amount: '12.34', currency: 'EUR' },
  creditorName: 'Apotheek Nova', creditorAccount: { iban: 'BE71096123456769' } };
// Chromium always sends an Accept-Language; Spanish is none of the portal's,
// so the server's default (nl) applies unless the RP asks with ui_locales.

let server;
let gw;
let chrome;
let rp;
let phone;
let T;
let share;
const watch = new Watch();


before(async () => {
  const stale = staleCatalogs();
  if (stale.length) throw new Error(`po/${stale.join(', ')} older than po/*.po: run ninja first`);
  T = translator(loadCatalogs());
  clearArtifacts(/^5\d-/);
  gw = await smsGateway();
  share = shareDir();
  server = await startServer({
    config: {
      portal: { data_dir: share },
      sms: { driver: 'webhook', webhook_url: gw.url },
      app: { rate_phone: 1000, rate_ip: 1000, max_pending: 20, request_lifetime: LIFETIME, qr_rotate_seconds: ROTATE },
    },
  });
  [chrome, rp, phone] = await Promise.all([
    launchBrowser(server), startRp(server, { name: RP_NAME }), enrolPhone(server, gw, '0470 12 34 56', PERSON),
  ]);
});

after(async () => {
  await chrome?.close();
  await rp?.close();
  await server?.stop();
  await gw?.close();
  if (share) rmSync(share, { recursive: true, force: true });
  if (shots.length) console.log(`screenshots: ${shots.length} in tests/artifacts/browser/`);
});

const newContext = (label, opts) => newContextIn(chrome.browser, watch, label, opts);

const text = pageText;


// RP → key choice → "sleutel app" → the phone form (with `query` for the
// RP's /start, e.g. ui_locales).
async function toPhoneForm(page, query = '') {
  await toKeyPage(page, rp.base, server.base, '/key/app', query);
}

// Type the number and send: the wait page. Returns its verification code.
async function toWaitPage(page, number = '0470 12 34 56') {
  await page.fill('#phone', number);
  await page.click('form[action="/key/app/login"] button[type="submit"]');
  await page.waitForURL(at(server.base, '/key/app/wait'));
  const code = await text(page, '#vcode');
  assert.match(code, /^\d{4}$/, 'the wait page shows a 4-digit verification code');
  return code;
}

// The phone's pending request whose three codes hold `code` (the newest
// such: earlier tests answered theirs).
async function phoneRequest(code) {
  const r = await phone.call('GET', '/requests');
  assert.equal(r.status, 200, `GET /requests: ${r.status} ${JSON.stringify(r.body)}`);
  const rq = r.body.requests.filter((x) => x.codes.includes(code)).at(-1);
  assert.ok(rq, `no pending request on the phone with the code ${code}`);
  assert.equal(rq.codes.length, 3);
  return rq;
}

async function phoneAnswer(rq, opts, want) {
  const ans = await phone.answer(rq, opts);
  assert.equal(ans.status, want.status ?? 200, JSON.stringify(ans.body));
  return ans;
}

// The countdown is a sentence with the number in it ("Nog 149 seconden").
const countdown = async (page) => Number((await text(page, '#countdown')).match(/\d+/)[0]);

test('1. app login (nl): phone number, code and live countdown, the phone approves, the browser moves on by itself', async () => {
  const ctx = await newContext('app-login');
  const page = await ctx.newPage();
  try {
    const n = rp.callbacks.length;
    await toPhoneForm(page);
    assert.equal(await page.getAttribute('html', 'lang'), 'nl');
    assert.equal(await text(page, 'h1'), T.t('nl', 'Log in with the sleutel app'));
    await screenshot(page, '50-app-phone-form-nl');
    await assertAxe(page, 'phone form (nl)');
    const code = await toWaitPage(page);
    assert.equal(await text(page, 'h1'), T.t('nl', 'Confirm in the sleutel app'));
    assert.equal(await page.locator('.payment').count(), 0, 'a login shows no payment');
    // The countdown runs: it starts near the lifetime and goes down by itself.
    const start = await countdown(page);
    assert.ok(start > LIFETIME - 15 && start <= LIFETIME, `countdown starts at ${start}`);
    await page.waitForFunction((s) => Number(document.getElementById('countdown').textContent.match(/\d+/)[0]) < s, start,
      { timeout: 4000 });
    assert.equal(await page.getAttribute('.countdown', 'role'), 'timer');
    await screenshot(page, '51-app-wait-nl');
    await assertAxe(page, 'wait page (nl)');

    // The phone: the request, its text, the page's code among three.
    const rq = await phoneRequest(code);
    assert.equal(rq.action, 'login');
    assert.equal(rq.rp_name, RP_NAME);
    assert.equal(rq.display_text, `Inloggen bij ${RP_NAME}`);
    const url = page.url();
    const t1 = Date.now();
    await phoneAnswer(rq, { code }, { status: 200 });
    // No click: the page's long-poll moves the browser on to the RP.
    await page.waitForURL(at(rp.base, '/cb'), { timeout: 5000 });
    assert.notEqual(page.url(), url);
    assert.ok(Date.now() - t1 < 5000);
    await page.locator('#claims').waitFor();
    assert.equal(rp.callbacks.length, n + 1, 'the RP got exactly one callback');
    const cb = rp.last();
    assert.equal(cb.failure, undefined, `the RP could not redeem its code: ${cb.failure}`);
    assert.equal(cb.query.iss, server.issuer);
    assert.equal(cb.claims.acr, ACR_HIGH);
    assert.deepEqual(cb.claims.amr, ['swk', 'pin', 'mfa']);
    assert.equal(cb.userinfo.given_name, PERSON.given_name);
    assert.equal(cb.userinfo.family_name, PERSON.family_name);
    assert.equal(await text(page, '#welcome'), PERSON.given_name);
    await screenshot(page, '52-app-rp-logged-in');
    // The request is answered: answering it again is a replay.
    const again = await phone.answer(rq, { code });
    assert.equal(again.status, 409);
    assert.equal(again.body.error, 'already_answered');
  } finally {
    await ctx.close();
  }
});

test('2. refused on the phone (en, then nl): a clear page, and the RP gets access_denied', async () => {
  for (const lang of ['en', 'nl']) {
    const ctx = await newContext(`refuse-${lang}`);
    const page = await ctx.newPage();
    try {
      await toPhoneForm(page, `?ui_locales=${lang}`);
      assert.equal(await page.getAttribute('html', 'lang'), lang);
      if (lang === 'en') await assertAxe(page, 'phone form (en)');
      const code = await toWaitPage(page);
      if (lang === 'en') {
        await screenshot(page, '53-app-wait-en');
        await assertAxe(page, 'wait page (en)');
      }
      const rq = await phoneRequest(code);
      assert.equal(rq.display_text, lang === 'en' ? `Log in to ${RP_NAME}` : `Inloggen bij ${RP_NAME}`);
      await phoneAnswer(rq, { decision: 'refuse', code: '' }, { status: 200 });
      // The page turns by itself to the outcome: still on the portal, with a heading that says so.
      await page.waitForFunction((h) => document.querySelector('h1')?.textContent.trim() === h,
        T.t(lang, 'You refused the request on your phone'), { timeout: 5000 });
      assert.ok(at(server.base, '/key/app/wait')(new URL(page.url())));
      assert.equal(await page.getAttribute('html', 'lang'), lang);
      const back = page.locator('form[action="/login/finish"] button');
      assert.equal((await back.innerText()).trim(), T.t(lang, 'Go back to %1').replace('%1', RP_NAME));
      await screenshot(page, `54-app-refused-${lang}`);
      await assertAxe(page, `refusal outcome (${lang})`);
      const n = rp.callbacks.length;
      await back.click();
      await page.waitForURL(at(rp.base, '/cb'));
      assert.equal(rp.callbacks.length, n + 1);
      assert.equal(rp.last().query.error, 'access_denied');
      assert.equal(await text(page, '#error'), 'access_denied');
    } finally {
      await ctx.close();
    }
  }
});

test('3. the wrong code picked on the phone (nl): the page says which code was wrong', async () => {
  const ctx = await newContext('wrong-code');
  const page = await ctx.newPage();
  try {
    await toPhoneForm(page);
    const code = await toWaitPage(page);
    const rq = await phoneRequest(code);
    const wrong = rq.codes.find((c) => c !== code);
    const ans = await phoneAnswer(rq, { code: wrong }, { status: 409 });
    assert.equal(ans.body.error, 'wrong_verification_code');
    await page.waitForFunction((h) => document.querySelector('h1')?.textContent.trim() === h,
      T.t('nl', 'The wrong verification code was chosen'), { timeout: 5000 });
    await screenshot(page, '55-app-wrong-code-nl');
    await assertAxe(page, 'wrong-code outcome (nl)');
    await page.click('form[action="/login/finish"] button');
    await page.waitForURL(at(rp.base, '/cb'));
    assert.equal(rp.last().query.error, 'access_denied');
  } finally {
    await ctx.close();
  }
});

test('4. "I need more time" extends the countdown, and again (tests/browser/timers.test.mjs has more)', async () => {
  const ctx = await newContext('extend');
  const page = await ctx.newPage();
  try {
    await toPhoneForm(page, '?ui_locales=en');
    const code = await toWaitPage(page);
    const extend = page.locator('#extend');
    assert.equal(await extend.count(), 1);
    assert.equal((await extend.innerText()).trim(), T.t('en', 'I need more time'));
    const before = await countdown(page);
    await extend.click();
    await page.waitForURL(at(server.base, '/key/app/wait'));
    await page.locator('#countdown').waitFor();
    const after = await countdown(page);
    // A full lifetime on top of what was left (the authorization request,
    // 900 s, allows it).
    assert.ok(after >= before + LIFETIME - 10, `countdown ${before} → ${after} after "more time"`);
    assert.equal(await page.locator('#extend').count(), 1, 'more time is offered again (10 in all)');
    assert.equal(await text(page, '#vcode'), code, 'the same request and code');
    await screenshot(page, '56-app-extended-en');
    await assertAxe(page, 'wait page after more time (en)');
    // Posting it again (an old tab) adds more again.
    const status = await page.evaluate(async (form) => {
      const r = await fetch('/key/app/extend', { method: 'POST', body: new URLSearchParams(form), redirect: 'manual' });
      return r.type === 'opaqueredirect' ? 303 : r.status;
    }, await page.evaluate(() => Object.fromEntries([...document.querySelectorAll('form[action="/key/app/wait"] input, form.cancel input')]
      .map((i) => [i.name, i.value]))));
    assert.equal(status, 303);
    await page.reload();
    const again = await countdown(page);
    assert.ok(again > after, `a second extension moves the countdown on: ${after} → ${again}`);
    // The extended request is still answerable: the phone approves, the page moves on.
    const rq = await phoneRequest(code);
    assert.ok(rq.expires_in > LIFETIME, `the phone sees the extension (expires_in ${rq.expires_in})`);
    await phoneAnswer(rq, { code }, { status: 200 });
    await page.waitForURL(at(rp.base, '/cb'), { timeout: 5000 });
    assert.ok(rp.last().query.code);
  } finally {
    await ctx.close();
  }
});

test('5. without JavaScript: the "continue" button finishes the login', async () => {
  const ctx = await newContext('nojs', { javaScriptEnabled: false });
  const page = await ctx.newPage();
  try {
    const n = rp.callbacks.length;
    await toPhoneForm(page);
    const code = await toWaitPage(page);
    const start = await countdown(page);
    const rq = await phoneRequest(code);
    await phoneAnswer(rq, { code }, { status: 200 });
    // Nothing moves the page without the script.
    await page.waitForTimeout(1200);
    assert.ok(at(server.base, '/key/app/wait')(new URL(page.url())), 'the page stays without JavaScript');
    assert.equal(await countdown(page), start, 'no script, no live countdown');
    const cont = page.locator('form[action="/key/app/wait"] button[type="submit"]');
    assert.equal((await cont.innerText()).trim(), T.t('nl', 'I have confirmed, continue'));
    await screenshot(page, '57-app-wait-nojs');
    await cont.click();
    await page.waitForURL(at(rp.base, '/cb'));
    await page.locator('#claims').waitFor();
    assert.equal(rp.callbacks.length, n + 1);
    assert.equal(rp.last().failure, undefined);
    assert.deepEqual(rp.last().claims.amr, ['swk', 'pin', 'mfa']);
  } finally {
    await ctx.close();
  }
  // Refused, without JavaScript (a new browser: the first one has a
  // session now): "continue" shows the outcome page.
  const ctx2 = await newContext('nojs-refuse', { javaScriptEnabled: false });
  const page2 = await ctx2.newPage();
  try {
    await toPhoneForm(page2, '?ui_locales=en');
    const code2 = await toWaitPage(page2);
    await phoneAnswer(await phoneRequest(code2), { decision: 'refuse', code: '' }, { status: 200 });
    await page2.click('form[action="/key/app/wait"] button[type="submit"]');
    await page2.locator('h1', { hasText: T.t('en', 'You refused the request on your phone') }).waitFor();
    assert.ok(at(server.base, '/key/app/wait')(new URL(page2.url())));
    await page2.click('form[action="/login/finish"] button');
    await page2.waitForURL(at(rp.base, '/cb'));
    assert.equal(rp.last().query.error, 'access_denied');
  } finally {
    await ctx2.close();
  }
});

test('6. a payment (PAR with authorization_details): the wait page and the phone show the payment', async () => {
  const ctx = await newContext('payment');
  const page = await ctx.newPage();
  try {
    const state = `pay-${Date.now()}`;
    const par = await tokenRequest(server, {
      client_id: rp.client.client_id, response_type: 'code', redirect_uri: rp.redirectUri, scope: 'openid',
      state, nonce: 'n-pay', code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM', code_challenge_method: 'S256',
      authorization_details: JSON.stringify([PAY]),
    }, { basic: [rp.client.client_id, rp.client.client_secret], endpoint: '/par' });
    assert.equal(par.status, 201, JSON.stringify(par.body));
    await page.goto(`${server.base}/authorize?client_id=${encodeURIComponent(rp.client.client_id)}` +
      `&request_uri=${encodeURIComponent(par.body.request_uri)}`);
    await page.waitForURL(at(server.base, '/login'));
    assert.equal(await page.locator('a.key').count(), 1, 'a payment offers only the app');
    await page.click('a.key[href^="/key/app?"]');
    await page.waitForURL(at(server.base, '/key/app'));
    const want = 'Betaling van EUR 12,34 aan Apotheek Nova (BE71 0961 2345 6769)';
    assert.equal(await text(page, '.payment strong'), want, 'the phone form says what is paid');
    const code = await toWaitPage(page);
    assert.equal(await text(page, '.payment strong'), want, 'the wait page says what is paid');
    await screenshot(page, '58-app-payment-wait-nl');
    await assertAxe(page, 'payment wait page (nl)');
    const rq = await phoneRequest(code);
    assert.equal(rq.action, 'payment');
    assert.equal(rq.display_text, want);
    assert.deepEqual(rq.authorization_details, [PAY]);
    const n = rp.callbacks.length;
    await phoneAnswer(rq, { code }, { status: 200 });
    // Moves on by itself; this RP did not start the request (the test did,
    // by PAR), so it cannot redeem the code, but it got one for our state.
    await page.waitForURL(at(rp.base, '/cb'), { timeout: 5000 });
    assert.equal(rp.callbacks.length, n + 1);
    assert.ok(rp.last().query.code);
    assert.equal(rp.last().query.state, state);
  } finally {
    await ctx.close();
  }
});

// The form page's link to the scan alternative: the same page with the QR code.
async function toQrCode(page) {
  assert.equal(await page.locator('#qr').count(), 0, 'no QR code until asked for');
  const show = page.locator('#qr-show');
  assert.equal((await show.innerText()).trim(), T.t('en', 'Scan a QR code with the sleutel app instead'));
  await Promise.all([page.waitForNavigation(), show.click()]);
  assert.equal(new URL(page.url()).searchParams.get('scan'), '1');
}

// The QR code's state on the page: its slot, its SVG, its link.
// (Locators, not page.evaluate: they also work where the page has no script.)
const qrState = async (page) => ({
  slot: Number(await page.getAttribute('#qr', 'data-slot')),
  svg: await page.locator('#qr').innerHTML(),
  link: await page.getAttribute('#qr-link', 'href'),
});

test('7. the QR code changes every slot without a reload; the phone scans the new one and the page moves on', async () => {
  const ctx = await newContext('qr-rotate');
  const page = await ctx.newPage();
  try {
    await toPhoneForm(page, '?ui_locales=en');
    await toQrCode(page);
    assert.equal(await page.getAttribute('#qr', 'aria-live'), 'off', 'a new code is not announced');
    const first = await qrState(page);
    assert.equal(qrSlot(first.link), first.slot);
    await assertAxe(page, 'phone form with QR (en)');
    // No reload: the script swaps in the next slot's code.
    const url = page.url();
    await page.waitForFunction((s) => Number(document.getElementById('qr').getAttribute('data-slot')) > s,
      first.slot, { timeout: (2 * ROTATE + 3) * 1000 });
    const next = await qrState(page);
    assert.equal(page.url(), url);
    assert.notEqual(next.svg, first.svg, 'another picture');
    assert.notEqual(next.link, first.link, 'another token');
    assert.equal(qrSlot(next.link), next.slot);
    assert.equal(await page.locator('#qr svg').count(), 1);
    await screenshot(page, '59-app-qr-renewed');
    await assertAxe(page, 'phone form, QR renewed (en)');
    // The phone scans what the screen shows now; it sees which browser asked.
    const r = await phone.scan((await qrState(page)).link);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body.context.os, 'Linux');
    assert.match(r.body.context.browser, /^Chrom(e|ium)$/);
    assert.match(r.body.context.network, /^127\.0\.0\.x$/);
    await phoneAnswer(r.body, { code: r.body.codes[0] }, { status: 200 });
    await page.waitForURL(at(rp.base, '/cb'), { timeout: 5000 });
    assert.equal(rp.last().failure, undefined);
  } finally {
    await ctx.close();
  }
});

test('8. without JavaScript the QR code stays as served; the page says it changes and offers a new one', async () => {
  const ctx = await newContext('qr-nojs', { javaScriptEnabled: false });
  const page = await ctx.newPage();
  try {
    await toPhoneForm(page, '?ui_locales=en');
    await toQrCode(page);
    const first = await qrState(page);
    const link = page.locator('#qr-new');
    assert.equal((await link.innerText()).trim(), T.t('en', 'New QR code'));
    assert.match(await text(page, '#wait'), /changes every few seconds/);
    // (axe needs script: the same markup is checked in test 7.)
    await page.waitForTimeout((ROTATE + 1) * 1000);
    assert.equal((await qrState(page)).slot, first.slot, 'nothing changes without the script');
    await Promise.all([page.waitForNavigation(), link.click()]);
    assert.ok(at(server.base, '/key/app')(new URL(page.url())));
    const again = await qrState(page);
    assert.ok(again.slot > first.slot, 'the reload shows a newer code');
    assert.notEqual(again.link, first.link);
    await screenshot(page, '59-app-qr-nojs');
  } finally {
    await ctx.close();
  }
});

test('8a. the number is answered with the wait page: its address in the history, a reload posts nothing, the poll goes to the RP', async () => {
  const ctx = await newContext('app-inline');
  const page = await ctx.newPage();
  const docs = []; // the page's own navigations: method and path
  page.on('request', (r) => {
    if (r.isNavigationRequest()) docs.push(`${r.method()} ${new URL(r.url()).pathname}`);
  });
  try {
    const n = rp.callbacks.length;
    await toPhoneForm(page);
    docs.length = 0;
    const code = await toWaitPage(page);
    assert.deepEqual(docs, ['POST /key/app/login'], 'one request from the number to the wait page');
    const self = new URL(page.url());
    assert.equal(self.pathname, '/key/app/wait', 'the history holds the wait page, not the post');
    const pending = (await phone.call('GET', '/requests')).body.requests.length;
    docs.length = 0;
    await page.reload();
    assert.deepEqual(docs, ['GET /key/app/wait'], 'the reload asks for the wait page');
    assert.equal(await text(page, '#vcode'), code, 'the same request');
    assert.equal((await phone.call('GET', '/requests')).body.requests.length, pending, 'no new request on the phone');
    docs.length = 0;
    await phoneAnswer(await phoneRequest(code), { code }, { status: 200 });
    await page.waitForURL(at(rp.base, '/cb'), { timeout: 5000 });
    await page.locator('#claims').waitFor();
    assert.equal(docs[0], 'GET /cb', `the poll's answer goes straight to the RP: ${docs.join(', ')}`);
    assert.equal(rp.callbacks.length, n + 1);
    assert.equal(rp.last().failure, undefined, `the RP could not redeem its code: ${rp.last().failure}`);
    assert.deepEqual(rp.last().claims.amr, ['swk', 'pin', 'mfa']);
  } finally {
    await ctx.close();
  }
});

test('9. no CSP violation and no script error on the portal', () => {
  assert.deepEqual(watch.cspProblems(server.base), []);
  const other = watch.otherProblems(server.base)
    .filter((e) => !(e.kind === 'console' && /Failed to load resource: the server responded with a status of 4\d\d/.test(e.text)));
  assert.deepEqual(other, []);
});
