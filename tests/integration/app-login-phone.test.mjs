// app-login-phone.test.mjs — the whole app login with a phone (the JS phone
// of lib/phone.mjs, enrolled through the device API): an openid-client RP
// sends the browser to sleutel, the person types the number, the phone
// picks the browser's code out of three and approves, and the RP redeems
// its code for an ID token with the app's acr and amr.  Also: refusal and
// the wrong code on the person's page, and the QR code scanned instead of
// typing the number.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as oidc from 'openid-client';
import { Agent, hiddenInputs, answerConsent } from './lib/harness.mjs';
import { registerRp, authRequest, assertCodeResponse, assertErrorRedirect } from './lib/flows.mjs';
import { startAppWorld, Phone } from './lib/phone.mjs';

const PERSON = { rrn: '85073003328', given_name: 'Mark', family_name: 'Denblinden', birthdate: '1985-07-30' };
let world;
let server;
let rp;
let phone;

before(async () => {
  world = await startAppWorld(PERSON);
  ({ server, rp, phone } = world);
});

after(async () => { await world?.stop(); });

async function startLogin(number = '+32 470 12 34 56') {
  const agent = new Agent();
  const req = await authRequest(rp.config, { scope: 'openid profile' });
  let res = await agent.get(String(req.url));
  const reqId = new URL(res.headers.get('location'), server.base).searchParams.get('req');
  res = await agent.get(`${server.base}/key/app?req=${reqId}&lang=nl`);
  const formHtml = await res.text();
  res = await agent.post(`${server.base}/key/app/login`, { ...hiddenInputs(formHtml), phone: number });
  assert.equal(res.status, 303);
  const wait = new URL(res.headers.get('location'), server.base);
  const html = await (await agent.get(wait.href)).text();
  const code = html.match(/<p class="vcode" id="vcode"[^>]*>(\d{4})<\/p>/)[1];
  return { agent, req, reqId, wait, code, formHtml };
}

// The phone's pending requests (answers at once when one is pending).
async function phoneRequests() {
  const r = await phone.call('GET', '/requests');
  assert.equal(r.status, 200, `requests: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body.requests;
}

test('login with the app: the phone picks the code, approves, the RP gets an ID token', async () => {
  const { agent, req, wait, code } = await startLogin();
  const [rq] = await phoneRequests();
  assert.equal(rq.rp_name, 'Mijn gezondheid');
  assert.equal(rq.action, 'login');
  assert.equal(rq.display_text, 'Inloggen bij Mijn gezondheid');
  assert.equal(rq.codes.length, 3);
  assert.ok(rq.codes.includes(code), 'the browser code is among the three');
  // The browser is waiting on the long-poll when the phone answers.
  const poll = agent.get(`${server.base}/key/app/poll?${wait.searchParams}`);
  await new Promise((r) => setTimeout(r, 200));
  const t0 = Date.now();
  const ans = await phone.answer(rq, { code });
  assert.equal(ans.status, 200, JSON.stringify(ans.body));
  assert.deepEqual(ans.body, { status: 'approved' });
  const p = await poll;
  assert.equal(p.status, 200);
  assert.ok(Date.now() - t0 < 2000, 'the browser moves on at once');
  const res = await agent.get(wait.href);
  assert.equal(res.status, 303);
  const back = await answerConsent(server, agent, res.headers.get('location'));
  assertCodeResponse(server, back, req.state);
  const tokens = await oidc.authorizationCodeGrant(rp.config, back, {
    pkceCodeVerifier: req.verifier, expectedState: req.state, expectedNonce: req.nonce,
  });
  const claims = tokens.claims();
  assert.equal(claims.acr, 'http://eidas.europa.eu/LoA/high');
  assert.deepEqual(claims.amr, ['swk', 'pin', 'mfa']);
  assert.ok(Math.abs(claims.auth_time - Date.now() / 1000) < 30);
  const info = await oidc.fetchUserInfo(rp.config, tokens.access_token, claims.sub);
  assert.equal(info.family_name, 'Denblinden');
});

test('refused on the phone: the page says so and the RP gets access_denied', async () => {
  const { agent, req, wait } = await startLogin();
  const [rq] = await phoneRequests();
  const ans = await phone.answer(rq, { decision: 'refuse', code: '' });
  assert.deepEqual(ans.body, { status: 'refused' });
  let res = await agent.get(wait.href);
  const html = await res.text();
  assert.match(html, /<h1>[^<]+<\/h1>/);
  assert.match(html, /action="\/login\/finish"/);
  res = await agent.get(`${server.base}/login/finish?${new URLSearchParams(hiddenInputs(html))}`);
  assertErrorRedirect(server, res, { error: 'access_denied', state: req.state });
});

test('the wrong verification code: the request is denied and the page says which code was wrong', async () => {
  const { agent, wait, code } = await startLogin();
  const [rq] = await phoneRequests();
  const wrong = rq.codes.find((c) => c !== code);
  const ans = await phone.answer(rq, { code: wrong });
  assert.equal(ans.status, 409);
  assert.equal(ans.body.error, 'wrong_verification_code');
  const html = await (await agent.get(`${wait.href.replace('lang=nl', 'lang=en')}`)).text();
  assert.match(html, /The wrong verification code was chosen/);
});

test('the QR code: the phone scans it, gets a request with one code, approves; the browser moves on', async () => {
  const agent = new Agent();
  const req = await authRequest(rp.config);
  let res = await agent.get(String(req.url));
  const reqId = new URL(res.headers.get('location'), server.base).searchParams.get('req');
  const html = await (await agent.get(`${server.base}/key/app?req=${reqId}&lang=en&scan=1`)).text();
  const poll = html.match(/data-poll="([^"]+)"/)[1].replace(/&amp;/g, '&');
  // What the QR code holds is the same token the page put in it; read it
  // through the test-only hook: the SVG itself is checked by the browser
  // test.  Here the token is rebuilt the way the page made it.
  const token = html.match(/data-qr-token="([^"]+)"/);
  assert.ok(token, 'the page carries the QR link for the test');
  const link = new URL(token[1].replace(/&amp;/g, '&'));
  assert.equal(link.protocol, 'sleutel:');
  const t = link.searchParams.get('t');
  let r = await phone.call('POST', '/scan', { token: t });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.codes.length, 1);
  assert.equal(r.body.action, 'login');
  // A token is good once.
  const again = await phone.call('POST', '/scan', { token: t });
  assert.equal(again.status, 409);
  // A forged token is refused.
  const forged = await phone.call('POST', '/scan', { token: `${reqId}.${'A'.repeat(43)}` });
  assert.equal(forged.status, 400);
  const waiting = agent.get(`${server.base}${poll}`);
  await new Promise((x) => setTimeout(x, 200));
  r = await phone.answer(r.body, { code: r.body.codes[0] });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal((await waiting).status, 200);
  res = await agent.get(`${server.base}/login/finish?req=${reqId}&csrf=${hiddenInputs(html).csrf}`);
  assert.equal(res.status, 303);
  assertCodeResponse(server, new URL(res.headers.get('location')), req.state);
});

test('a scan without a device proof is refused', async () => {
  const stranger = await new Phone(server).init();
  const r = await stranger.call('POST', '/scan', { token: 'x.y' });
  assert.equal(r.status, 401);
});
