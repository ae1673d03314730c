// eID card login, end to end: an openid-client RP sends the person to the
// portal, the key choice leads to the eID origin, curl presents a virtual
// card from the demo PKI in the TLS handshake, the browser finishes at the
// portal, and the RP gets an ID token (amr eid, LoA high) and the card's
// identity from userinfo. One test per card type: citizen, foreigner,
// Kids-ID, an RSA card. The eID pages and the eID origin's routes too.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { Agent, startServer } from './lib/harness.mjs';
import { RP_CB } from './lib/flows.mjs';
import {
  ACR_HIGH, eidRp, issueCard, eidCodeFlow, toEidOrigin, presentCard, rrn, auditMax, auditSince, eidLoginRecord,
  assertSession, assertNoSession, curl, h1, nl, decodeEntities, tmp,
} from './lib/eid.mjs';

let server;
let rp;
let dir;

before(async () => {
  server = await startServer({ demo: true });
  rp = await eidRp(server);
  dir = tmp();
});
after(async () => {
  await server.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function loginAs(card, expect) {
  const since = await auditMax(server);
  const agent = new Agent();
  const { claims, userinfo, tokens } = await eidCodeFlow(server, rp, card.args, { agent });
  assert.equal(claims.iss, server.issuer);
  assert.equal(claims.aud, rp.c.client_id);
  assert.deepEqual(claims.amr, ['eid']);
  assert.equal(claims.acr, ACR_HIGH);
  assert.ok(claims.auth_time && Math.abs(claims.auth_time - Date.now() / 1000) < 120, 'auth_time is now');
  assert.equal(userinfo.sub, claims.sub);
  assert.equal(userinfo.given_name, expect.given_name);
  assert.equal(userinfo.family_name, expect.family_name);
  assert.equal(userinfo.birthdate, expect.birthdate);
  assert.equal(userinfo.national_register_number, card.rrn);
  const rec = eidLoginRecord(await auditSince(server, since));
  assert.equal(rec.result, 'ok');
  assert.equal(rec.client_id, rp.c.client_id);
  // The login started a session at the portal: prompt=none gives a code.
  await assertSession(server, rp, agent);
  return { claims, userinfo, tokens };
}

test('eID login: a citizen card (EC P-384) gives amr eid, LoA high and the identity from the card', async () => {
  const card = await issueCard(server.pkiDir, dir, { name: 'Jan Peeters', rrn: '85073003328' });
  await loginAs(card, { given_name: 'Jan', family_name: 'Peeters', birthdate: '1985-07-30' });
});

test('eID login: a foreigner card (Foreigner CA) with two given names', async () => {
  const number = rrn('900201', 457, false);
  const card = await issueCard(server.pkiDir, dir, { given: 'Ana Sofia', family: 'Martins', rrn: number, foreigner: true });
  await loginAs(card, { given_name: 'Ana Sofia', family_name: 'Martins', birthdate: '1990-02-01' });
});

test('eID login: a Kids-ID of a child born in 2018 (mod-97 over "2" + nine digits), non-ASCII name', async () => {
  const number = rrn('180512', 124, true);
  // The 2000+ rule: the same nine digits checked without the "2" would differ.
  assert.notEqual(number, rrn('180512', 124, false));
  const card = await issueCard(server.pkiDir, dir, { given: 'Zoë', family: 'Vermeulen', rrn: number, kids: true });
  await loginAs(card, { given_name: 'Zoë', family_name: 'Vermeulen', birthdate: '2018-05-12' });
});

test('eID login: an RSA 2048 card, as older cards have', async () => {
  const card = await issueCard(server.pkiDir, dir, { given: 'Pieter-Jan', family: 'De Smet', rrn: rrn('720415', 33, false), rsa: true });
  await loginAs(card, { given_name: 'Pieter-Jan', family_name: 'De Smet', birthdate: '1972-04-15' });
});

test('the same card twice, and a renewed card of the same person, give the same sub', async () => {
  const card = await issueCard(server.pkiDir, dir, { name: 'Els Claes', rrn: rrn('670823', 262, false) });
  const a = await eidCodeFlow(server, rp, card.args);
  const b = await eidCodeFlow(server, rp, card.args);
  assert.equal(a.claims.sub, b.claims.sub);
  // The second time the verdict and the parsed certificate come from the
  // validator's cache: the identity read from it is the same.
  for (const c of ['given_name', 'family_name', 'birthdate', 'national_register_number'])
    assert.equal(b.userinfo[c], a.userinfo[c], c);
  assert.equal(b.userinfo.family_name, 'Claes');
  assert.equal(b.userinfo.birthdate, '1967-08-23');
  assert.equal(b.userinfo.national_register_number, card.rrn);
  // Another card of the same person (a renewed card) is the same person.
  const renewed = await issueCard(server.pkiDir, dir, { name: 'Els Claes', rrn: card.rrn });
  const c = await eidCodeFlow(server, rp, renewed.args);
  assert.equal(c.claims.sub, a.claims.sub);
});

// ---- the eID key's pages and the eID origin ----

test('/key/eid shows the way in: a link to the eID origin carrying req, the ticket and the language', async () => {
  const flow = await toEidOrigin(server, rp.config);
  assert.equal(flow.eidUrl.origin, server.eidBase);
  assert.equal(flow.eidUrl.pathname, '/eid/login');
  assert.equal(flow.eidUrl.searchParams.get('req'), flow.req);
  assert.match(flow.eidUrl.searchParams.get('t') || '', /^[A-Za-z0-9_-]{20,}$/);
  assert.equal(flow.eidUrl.searchParams.get('lang'), 'nl');
  assert.equal(h1(flow.keyPage), nl('Log in with your eID card'));
  // And back to the key choice.
  assert.match(flow.keyPage, new RegExp(`href="/login\\?req=${flow.req}&amp;lang=nl"`));
  // In another language the link says so.
  const res = await flow.agent.get(`${server.base}/key/eid?req=${flow.req}&lang=fr`);
  const html = await res.text();
  const link = new URL(decodeEntities(html.match(/<a class="button" href="([^"]+)"/)[1]));
  assert.equal(link.searchParams.get('lang'), 'fr');
  assert.equal(link.searchParams.get('t'), flow.eidUrl.searchParams.get('t'));
});

test('the eID origin: a wrong ticket is refused with 403 and logs nobody in', async () => {
  const card = await issueCard(server.pkiDir, dir, {});
  const flow = await toEidOrigin(server, rp.config);
  for (const t of ['xxx', '', null]) {
    const u = new URL(flow.eidUrl);
    if (t === null) u.searchParams.delete('t'); else u.searchParams.set('t', t);
    const { eid } = await presentCard(server, { ...flow, eidUrl: u }, card.args);
    assert.equal(eid.status, 403, `t=${t}: ${eid.status}`);
    assert.equal(eid.location, null);
    assert.equal(h1(eid.body), nl('This form has expired'));
  }
  // The ticket of another request does not open this one.
  const other = await toEidOrigin(server, rp.config);
  const u = new URL(flow.eidUrl);
  u.searchParams.set('t', other.eidUrl.searchParams.get('t'));
  const { eid } = await presentCard(server, { ...flow, eidUrl: u }, card.args);
  assert.equal(eid.status, 403);
  await assertNoSession(server, rp, flow.agent);
  // The right ticket still works afterwards.
  const ok = await presentCard(server, flow, card.args);
  assert.equal(ok.eid.status, 303);
  assert.equal(ok.back.origin + ok.back.pathname, RP_CB);
});

test('the eID origin: an unknown or finished request is answered 404', async () => {
  const card = await issueCard(server.pkiDir, dir, {});
  const flow = await toEidOrigin(server, rp.config);
  const u = new URL(flow.eidUrl);
  u.searchParams.set('req', 'AAAAAAAAAAAAAAAAAAAAAA');
  let r = await curl(u.href, card.args);
  assert.equal(r.status, 404);
  assert.equal(h1(r.body), nl('This login request has expired'));
  r = await curl(`${server.eidBase}/eid/login`, card.args);
  assert.equal(r.status, 404);
  // Once used, the link does not log in again.
  const ok = await presentCard(server, flow, card.args);
  assert.equal(ok.eid.status, 303);
  r = await curl(flow.eidUrl.href, card.args);
  assert.equal(r.status, 404, `a used link answered ${r.status}`);
  // /key/eid for an unknown request.
  const res = await new Agent().get(`${server.base}/key/eid?req=AAAAAAAAAAAAAAAAAAAAAA`);
  assert.equal(res.status, 404);
  assert.equal(h1(await res.text()), nl('This login request has expired'));
});

test('the eID origin serves only /eid/login, /healthz and /static/', async () => {
  let r = await curl(`${server.eidBase}/healthz`);
  assert.equal(r.status, 200);
  r = await curl(`${server.eidBase}/static/sleutel.css`);
  assert.equal(r.status, 200);
  assert.match(r.headers['content-type'], /^text\/css/);
  for (const p of ['/.well-known/openid-configuration', '/authorize?client_id=x', '/token', '/userinfo', '/jwks',
    '/login?req=x', '/login/finish', '/key/eid?req=x', '/logout', '/metrics', '/', '/ocsp', '/crl/citizen.crl']) {
    r = await curl(`${server.eidBase}${p}`);
    assert.equal(r.status, 404, `${p} on the eID origin answered ${r.status}`);
  }
  r = await curl(`${server.eidBase}/token`, ['-X', 'POST', '-d', 'grant_type=authorization_code']);
  assert.ok([404, 405].includes(r.status), `POST /token on the eID origin answered ${r.status}`);
  // And the portal does not serve /eid/login.
  const res = await fetch(`${server.base}/eid/login?req=x&t=y`, { redirect: 'manual' });
  assert.equal(res.status, 404);
});
