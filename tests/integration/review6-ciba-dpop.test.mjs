// review6-ciba-dpop.test.mjs — a CIBA token request that carries a DPoP
// proof (valid, with the server's nonce) gets tokens bound to its key, as
// the code and refresh grants do (src/oidc/token.c, RFC 9449 §5).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from './lib/harness.mjs';
import { tokenRequest } from './lib/flows.mjs';
import { dpopKey, proof } from './lib/fapi2.mjs';
import { smsGateway, enrolPhone } from './lib/phone.mjs';

const GRANT = 'urn:openid:params:grant-type:ciba';
let server;
let gw;
let phone;
let client;

before(async () => {
  gw = await smsGateway();
  server = await startServer({
    config: { sms: { driver: 'webhook', webhook_url: gw.url }, app: { rate_phone: 1000, rate_ip: 1000 },
      ciba: { interval: 1, max_expiry: 300 } },
  });
  phone = await enrolPhone(server, gw, '0470 12 34 56',
    { rrn: '85073003328', given_name: 'Mark', family_name: 'Denblinden', birthdate: '1985-07-30' });
  client = JSON.parse(await server.cli('client', 'add', '--name', 'Mijn bank', '--redirect-uri',
    'https://rp.example/cb', '--json', '--ciba-mode', 'poll'));
});

after(async () => {
  await server?.stop();
  await gw?.close();
});

async function tokenWithProof(form, key, nonce) {
  const enc = encodeURIComponent;
  const headers = {
    'content-type': 'application/x-www-form-urlencoded',
    authorization: `Basic ${Buffer.from(`${enc(client.client_id)}:${enc(client.client_secret)}`).toString('base64')}`,
    dpop: await proof(key, 'POST', `${server.issuer}/token`, { nonce }),
  };
  const res = await fetch(`${server.base}/token`, { method: 'POST', headers, body: new URLSearchParams(form) });
  return { status: res.status, body: await res.json(), headers: res.headers };
}

test('CIBA: a token request with a DPoP proof gets DPoP-bound tokens', async () => {
  let r = await tokenRequest(server, { scope: 'openid', login_hint: '+32470123456', binding_message: 'Order 1' },
    { basic: [client.client_id, client.client_secret], endpoint: '/bc-authorize' });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  const id = r.body.auth_req_id;
  const rq = (await phone.call('GET', '/requests')).body.requests.at(-1);
  assert.equal((await phone.answer(rq, { code: rq.codes[0] })).status, 200);
  const key = await dpopKey();
  r = await tokenWithProof({ grant_type: GRANT, auth_req_id: id }, key);
  assert.equal(r.body.error, 'use_dpop_nonce');
  await new Promise((s) => setTimeout(s, 1100));
  r = await tokenWithProof({ grant_type: GRANT, auth_req_id: id }, key, r.headers.get('dpop-nonce'));
  assert.equal(r.status, 200, JSON.stringify(r.body));
  const ui = await fetch(`${server.base}/userinfo`, { headers: { authorization: `Bearer ${r.body.access_token}` } });
  console.log('token_type', r.body.token_type, '; the token as a bare Bearer at /userinfo:', ui.status);
  assert.equal(r.body.token_type, 'DPoP');
  assert.equal(ui.status, 401, 'a bound token is refused without its proof');
});
