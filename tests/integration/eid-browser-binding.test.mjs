// eID login: the card's identity finishes only the login of the browser that
// presented the card, and only when that browser started it. The eID origin
// answers a good card with a one-time value R and a redirect to the portal's
// /login/eid/return; there the request's browser-binding cookie is required
// before R is redeemed (once, within EID_RESULT_LIFETIME).
//
// The attack this guards against: someone starts a login in their own
// browser (jar1), sends the eID link from the /key/eid page to a victim
// (jar2, with her card); she picks her certificate and types her PIN. Before,
// jar1 — waiting on the wait page or /login/finish — was then logged in as her.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { rmSync } from 'node:fs';
import path from 'node:path';
import * as oidc from 'openid-client';
import { Agent, answerConsent, startServer } from './lib/harness.mjs';
import { sqlJson } from './lib/db.mjs';
import { RP_CB } from './lib/flows.mjs';
import {
  eidRp, issueCard, toEidOrigin, presentCard, eidReturnUrl, auditMax, assertNoSession, curl, h1, nl, po, rrn,
  decodeEntities, run, tmp,
} from './lib/eid.mjs';

const LIFETIME = 120; // EID_RESULT_LIFETIME (src/keys/eid/eid.h)

let server;
let rp;
let dir;
let victim;
let attacker;

before(async () => {
  // A 1-second long-poll, so that "still pending" answers 204 quickly.
  server = await startServer({ demo: true, config: { portal: { waiter_timeout: 1 } } });
  rp = await eidRp(server);
  dir = tmp();
  victim = await issueCard(server.pkiDir, dir, { given: 'Marie', family: 'Dubois', rrn: rrn('790312', 146, false) });
  attacker = await issueCard(server.pkiDir, dir, { given: 'Koen', family: 'Janssens', rrn: rrn('880101', 33, false) });
});
after(async () => {
  await server.stop();
  rmSync(dir, { recursive: true, force: true });
});

const sql = (query) => sqlJson(server, query);

async function auditRows(since) {
  return sql(`SELECT event, result, key, client_id, person_id, detail FROM audit WHERE seq > ${Number(since)} ORDER BY seq`);
}

async function requestRow(req) {
  const rows = await sql(`SELECT status, result_hash, result, result_expires, ${Math.floor(Date.now() / 1000)} AS now
    FROM auth_requests WHERE id = '${req.replace(/[^A-Za-z0-9_-]/g, '')}'`);
  return rows[0] || null;
}

// sleutel_logins_total{key="eid",result=…} from /metrics.
async function eidLogins(result) {
  const text = await (await fetch(`${server.metricsBase}/metrics`)).text();
  const m = text.match(new RegExp(`^sleutel_logins_total\\{key="eid",result="${result}"\\} (\\d+)$`, 'm'));
  return m ? Number(m[1]) : 0;
}

// The long-poll of a waiting page: 204 while pending, 200 with the status once not.
async function poll(agent, req) {
  const res = await agent.get(`${server.base}/login/poll?req=${req}`);
  return { status: res.status, body: res.status === 200 ? await res.json() : null };
}

// The browser that started the request comes to /login/finish (the ticket
// on the eID link is its CSRF token): 200 = the wait page, 303 = finished.
async function finish(flow) {
  const csrf = flow.eidUrl.searchParams.get('t');
  return flow.agent.get(`${server.base}/login/finish?req=${flow.req}&csrf=${encodeURIComponent(csrf)}&lang=nl`);
}

// The whole code flow finished by `back`: the identity the RP gets.
async function redeem(flow, back) {
  assert.equal(back.origin + back.pathname, RP_CB, `sent to ${back}`);
  const tokens = await oidc.authorizationCodeGrant(rp.config, back, {
    pkceCodeVerifier: flow.verifier, expectedState: flow.state, expectedNonce: flow.nonce,
  });
  return oidc.fetchUserInfo(rp.config, tokens.access_token, tokens.claims().sub);
}

test('a card presented in another browser logs nobody in; the browser that started the login can still finish it', async () => {
  const jar1 = new Agent();
  const flow = await toEidOrigin(server, rp.config, { agent: jar1 });
  const since = await auditMax(server);
  const [ok0, denied0] = [await eidLogins('ok'), await eidLogins('denied')];

  // jar1 waits, as the wait page does, while the victim uses the link.
  const waiting = poll(jar1, flow.req);
  const eid = await curl(flow.eidUrl.href, victim.args);
  assert.equal(eid.status, 303, `the eID origin refused the victim's card: ${eid.curlError || h1(eid.body)}`);
  const jar2 = new Agent();
  const res = await jar2.get(new URL(eid.location).href);
  const page = await res.text();

  // Nobody is logged in: jar1's poll and /login/finish still see a pending
  // request, and neither browser has a session.
  const polled = await waiting;
  assert.equal(polled.status, 204, `jar1's long-poll answered ${polled.status} ${JSON.stringify(polled.body)}`);
  assert.equal((await poll(jar1, flow.req)).status, 204);
  const fin = await finish(flow);
  assert.equal(fin.status, 200, `jar1's /login/finish answered ${fin.status} ${fin.headers.get('location')}`);
  assert.equal(h1(await fin.text()), nl('Confirm on your other device'));
  await assertNoSession(server, rp, jar1);
  await assertNoSession(server, rp, jar2);
  assert.equal(jar2.cookies.has('__Host-sl_session'), false);
  assert.equal((await requestRow(flow.req)).status, 'pending');

  // The victim's browser is told what happened, in her language.
  const ret = eidReturnUrl(server, eid);
  assert.equal(ret.searchParams.get('req'), flow.req);
  assert.equal(res.status, 403);
  assert.equal(res.headers.get('location'), null);
  assert.equal(h1(page), nl('This login was started in another browser'));
  const text = decodeEntities(page);
  assert.ok(text.includes(nl('If you did not start this login yourself, someone may be trying to log in as you: close this page.')));
  assert.ok(text.includes(nl('You used your eID card for a login that was started in another browser or on another computer. It cannot be finished here, and nobody was logged in.')));
  const fr = await new Agent().get(`${ret.href.replace('lang=nl', 'lang=fr')}`);
  assert.equal(fr.status, 403);
  assert.equal(h1(await fr.text()), po('fr', 'This login was started in another browser'));

  // One audit record: who presented the card, for which RP; no login.
  const rows = await auditRows(since);
  const other = rows.filter((r) => r.event === 'eid.other_browser');
  assert.equal(other.length, 1, JSON.stringify(rows));
  assert.equal(other[0].result, 'refused');
  assert.equal(other[0].key, 'eid');
  assert.equal(other[0].client_id, rp.c.client_id);
  const [holder] = await sql(`SELECT id FROM persons WHERE rrn = '${victim.rrn}'`);
  assert.equal(other[0].person_id, holder.id, 'the record names the card\'s holder');
  assert.deepEqual(rows.filter((r) => r.event === 'login' && r.result === 'ok'), []);
  // Counted as a refusal, not as a login.
  assert.equal(await eidLogins('ok'), ok0);
  assert.equal(await eidLogins('denied'), denied0 + 1);

  // R was spent there: not even jar1 (had it got the URL) can redeem it,
  // and the victim's browser cannot either; no second record.
  let again = await jar1.get(ret.href);
  assert.equal(again.status, 400);
  assert.equal(h1(await again.text()), nl('Your eID card login could not be finished'));
  again = await jar2.get(ret.href);
  assert.equal(again.status, 403);
  assert.equal((await auditRows(since)).filter((r) => r.event === 'eid.other_browser').length, 1);
  await assertNoSession(server, rp, jar1);
  assert.equal((await requestRow(flow.req)).result_hash, null);

  // The request is still pending: jar1 finishes it with its own card, and
  // gets its own identity, not the victim's.
  const own = await presentCard(server, flow, attacker.args);
  const userinfo = await redeem(flow, own.back);
  assert.equal(userinfo.national_register_number, attacker.rrn);
  assert.equal(userinfo.given_name, 'Koen');
  assert.equal(await eidLogins('ok'), ok0 + 1, 'the login is counted when it completes');
});

test('R is single use, works only for its own request, and only for EID_RESULT_LIFETIME seconds', async () => {
  const jar = new Agent();
  const a = await toEidOrigin(server, rp.config, { agent: jar });
  const b = await toEidOrigin(server, rp.config, { agent: jar });
  const retA = eidReturnUrl(server, await curl(a.eidUrl.href, victim.args));
  const rA = retA.searchParams.get('r');

  // The store keeps SHA-256(R), never R, and the identity, for 120 s.
  const rowA = await requestRow(a.req);
  assert.equal(rowA.status, 'pending');
  assert.equal(rowA.result_hash, createHash('sha256').update(rA).digest('hex'));
  assert.ok(!JSON.stringify(rowA).includes(rA), 'R itself is not stored');
  assert.equal(JSON.parse(rowA.result).rrn, victim.rrn);
  const left = rowA.result_expires - Number(rowA.now);
  assert.ok(left > LIFETIME - 10 && left <= LIFETIME, `the result lives ${left} s`);

  // R of request A with request B (same browser): refused, B stays pending.
  const cross = new URL(retA);
  cross.searchParams.set('req', b.req);
  let res = await jar.get(cross.href);
  assert.equal(res.status, 400);
  let html = await res.text();
  assert.equal(h1(html), nl('Your eID card login could not be finished'));
  // The way back: the card again, or another key.
  assert.match(html, new RegExp(`href="/key/eid\\?req=${b.req}&amp;lang=nl"`));
  assert.match(html, new RegExp(`href="/login\\?req=${b.req}&amp;lang=nl"`));
  assert.equal((await requestRow(b.req)).status, 'pending');
  await assertNoSession(server, rp, jar);

  // No R, an empty one, a wrong one, an overlong one: refused the same way,
  // and none of them spends A's result.
  for (const r of [null, '', 'x'.repeat(43), 'A'.repeat(200), rA.slice(0, -1)]) {
    const u = new URL(retA);
    if (r === null) u.searchParams.delete('r'); else u.searchParams.set('r', r);
    res = await jar.get(u.href);
    assert.equal(res.status, 400, `r=${r}: ${res.status}`);
  }
  assert.notEqual((await requestRow(a.req)).result_hash, null);

  // The right R in the right browser: logged in, once.
  res = await jar.get(retA.href);
  assert.equal(res.status, 303);
  const userinfo = await redeem(a, await answerConsent(server, jar, res.headers.get('location')));
  assert.equal(userinfo.national_register_number, victim.rrn);
  res = await jar.get(retA.href);
  assert.notEqual(res.status, 303, 'a replayed R finished a login again');
  assert.equal(h1(await res.text()), nl('This login request has expired'));

  // Expired: the result of B is made older than its lifetime in the store
  // (the server compares result_expires with its clock; waiting 120 s would
  // test the same comparison, slower).
  const retB = eidReturnUrl(server, await curl(b.eidUrl.href, victim.args));
  await sql(`UPDATE auth_requests SET result_expires = ${Math.floor(Date.now() / 1000)} - 1 WHERE id = '${b.req}'`);
  res = await jar.get(retB.href);
  assert.equal(res.status, 400, `an expired R answered ${res.status}`);
  assert.equal(h1(await res.text()), nl('Your eID card login could not be finished'));
  const rowB = await requestRow(b.req);
  assert.equal(rowB.status, 'pending');
  assert.equal(rowB.result_hash, null, 'an expired result is spent');
  // B can still be finished with the card again.
  const again = await presentCard(server, b, victim.args);
  assert.equal((await redeem(b, again.back)).national_register_number, victim.rrn);
});

test('/login/eid/return: an unknown request is 404, and the route is on the portal only', async () => {
  let res = await new Agent().get(`${server.base}/login/eid/return?req=AAAAAAAAAAAAAAAAAAAAAA&r=${'A'.repeat(43)}`);
  assert.equal(res.status, 404);
  assert.equal(h1(await res.text()), nl('This login request has expired'));
  res = await new Agent().get(`${server.base}/login/eid/return`);
  assert.equal(res.status, 404);
  const r = await curl(`${server.eidBase}/login/eid/return?req=x&r=y`);
  assert.equal(r.status, 404);
});
