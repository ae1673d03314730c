// payment.test.mjs — RFC 9396 payments: strict validation of
// authorization_details at PAR, only the app offered for a payment, the text
// the phone shows, a confirmation over that exact text, and the
// authorization_details in the token response.  A phone that signs another
// text (one changed byte) is refused.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as oidc from 'openid-client';
import { Agent, hiddenInputs, DEMO_PERSON } from './lib/harness.mjs';
import { registerRp, authParams, assertCodeResponse, tokenRequest } from './lib/flows.mjs';
import { startAppWorld } from './lib/phone.mjs';

const PERSON = { rrn: '85073003328', given_name: 'Mark', family_name: 'Denblinden', birthdate: '1985-07-30' };
const PAY = { type: 'payment', instructedAmount: { amount: '12.34', currency: 'EUR' },
  creditorName: 'Apotheek Nova', creditorAccount: { iban: 'BE71096123456769' } };
let world;
let server;
let rp;
let phone;

before(async () => {
  world = await startAppWorld(PERSON);
  ({ server, rp, phone } = world);
});

after(async () => { await world?.stop(); });

async function par(details) {
  const a = await authParams(rp.config, { authorization_details: JSON.stringify(details) });
  const r = await tokenRequest(server, a.params, { basic: [rp.c.client_id, rp.c.client_secret], endpoint: '/par' });
  return { ...a, r };
}

test('authorization_details is validated strictly at PAR', async () => {
  const bad = [
    [], [PAY, PAY], [{ ...PAY, type: 'account_information' }], [{ ...PAY, extra: 1 }],
    [{ ...PAY, instructedAmount: { amount: '12.345', currency: 'EUR' } }],
    [{ ...PAY, instructedAmount: { amount: '0.00', currency: 'EUR' } }],
    [{ ...PAY, instructedAmount: { amount: '-1', currency: 'EUR' } }],
    [{ ...PAY, instructedAmount: { amount: '1e3', currency: 'EUR' } }],
    [{ ...PAY, instructedAmount: { amount: '012.00', currency: 'EUR' } }],
    [{ ...PAY, instructedAmount: { amount: 12.34, currency: 'EUR' } }],
    [{ ...PAY, instructedAmount: { amount: '1000000.01', currency: 'EUR' } }],
    [{ ...PAY, instructedAmount: { amount: '12.34', currency: 'eur' } }],
    [{ ...PAY, instructedAmount: { amount: '12.34', currency: 'EUR', x: 1 } }],
    [{ ...PAY, creditorName: '' }], [{ ...PAY, creditorName: 'x'.repeat(141) }],
    [{ ...PAY, creditorName: 'Nova\u202eevil' }], [{ ...PAY, creditorName: 'Nova\nBank' }],
    [{ ...PAY, creditorAccount: { iban: 'BE71096123456768' } }],
    [{ ...PAY, creditorAccount: { iban: 'BE71 0961 2345 6769' } }],
    [{ ...PAY, creditorAccount: { iban: 'BE71096123456769', bic: 'GKCCBEBB' } }],
    { type: 'payment' }, 'payment',
  ];
  for (const d of bad) {
    const { r } = await par(d);
    assert.equal(r.status, 400, `accepted ${JSON.stringify(d)}`);
    assert.equal(r.body.error, 'invalid_authorization_details', JSON.stringify(d));
  }
  const dup = await tokenRequest(server, { ...(await authParams(rp.config)).params,
    authorization_details: '[{"type":"payment","type":"payment"}]' },
  { basic: [rp.c.client_id, rp.c.client_secret], endpoint: '/par' });
  assert.equal(dup.status, 400, 'duplicate members');
  const ok = await par([{ ...PAY, creditorName: 'Société Générale', instructedAmount: { amount: '1000000', currency: 'EUR' } }]);
  assert.equal(ok.r.status, 201, JSON.stringify(ok.r.body));
});

test('a payment: only the app is offered, the phone shows the payment, the token response carries it', async () => {
  const { r, params, verifier, state, nonce } = await par([PAY]);
  assert.equal(r.status, 201);
  const agent = new Agent();
  let res = await agent.get(`${server.base}/authorize?client_id=${rp.c.client_id}&request_uri=${encodeURIComponent(r.body.request_uri)}`);
  const reqId = new URL(res.headers.get('location'), server.base).searchParams.get('req');
  const choice = await (await agent.get(`${server.base}/login?req=${reqId}&lang=nl`)).text();
  assert.match(choice, /href="\/key\/app\?/);
  assert.doesNotMatch(choice, /href="\/key\/(test|eid)\?/, 'only a key that shows the payment');
  // The test key cannot finish a payment even when called directly.
  const direct = await fetch(`${server.base}/key/test/approve`, { method: 'POST',
    body: new URLSearchParams({ req: reqId, ...DEMO_PERSON }) });
  assert.notEqual(direct.status, 200);
  const form = await (await agent.get(`${server.base}/key/app?req=${reqId}&lang=nl`)).text();
  assert.match(form, /Betaling van EUR 12,34 aan Apotheek Nova \(BE71 0961 2345 6769\)/);
  res = await agent.post(`${server.base}/key/app/login`, { ...hiddenInputs(form), phone: '0470123456' });
  const wait = new URL(res.headers.get('location'), server.base);
  const html = await (await agent.get(wait.href)).text();
  const code = html.match(/id="vcode"[^>]*>(\d{4})</)[1];
  const rq = (await phone.call('GET', '/requests')).body.requests.at(-1);
  assert.equal(rq.action, 'payment');
  assert.equal(rq.display_text, 'Betaling van EUR 12,34 aan Apotheek Nova (BE71 0961 2345 6769)');
  assert.deepEqual(rq.authorization_details, [PAY]);
  // Tampering: a signature over another text (one byte changed) is refused.
  const tampered = await phone.answer(rq, { code, fields: { display_text: rq.display_text.replace('12,34', '12,35') } });
  assert.notEqual(tampered.status, 200, 'a changed text does not verify');
  assert.equal(tampered.body.error, 'wrong_code');
  const ans = await phone.answer(rq, { code });
  assert.equal(ans.status, 200, JSON.stringify(ans.body));
  res = await agent.get(wait.href);
  const back = new URL(res.headers.get('location'));
  assertCodeResponse(server, back, state);
  const tok = await tokenRequest(server, { grant_type: 'authorization_code', code: back.searchParams.get('code'),
    redirect_uri: params.redirect_uri, code_verifier: verifier }, { basic: [rp.c.client_id, rp.c.client_secret] });
  assert.equal(tok.status, 200, JSON.stringify(tok.body));
  assert.deepEqual(tok.body.authorization_details, [PAY]);
  assert.ok(nonce);
  // A payment is never answered by the SSO session the login started.
  const again = await par([PAY]);
  res = await agent.get(`${server.base}/authorize?client_id=${rp.c.client_id}&request_uri=${encodeURIComponent(again.r.body.request_uri)}`);
  assert.match(res.headers.get('location'), /^\/login\?req=/);
  void oidc;
});
