// proofing-eid.test.mjs — identity proofing with the eID card on the eID
// origin: curl presents a virtual card from the demo PKI in the TLS
// handshake at /proofing/eid?t=<ticket>; the enrolment becomes "proofed"
// with the card's identity. A refused card leaves it in "proofing" and
// the link usable; the ticket is spent only by a card that is accepted.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { startServer } from './lib/harness.mjs';
import { issueCard, curl, proofWithCard, h1, tmp } from './lib/eid.mjs';
import { makeEnrollment, getEnrollment, proofingAudit } from './lib/bank.mjs';

let server;
let dir;

before(async () => {
  server = await startServer({ demo: true });
  dir = tmp();
});
after(async () => {
  await server.stop();
  rmSync(dir, { recursive: true, force: true });
});

const eidUrl = (e) => `${server.eidBase}/proofing/eid?t=${encodeURIComponent(e.ticket)}&lang=en`;

test('a citizen card proofs the enrolment with the identity on the card', async () => {
  const card = await issueCard(server.pkiDir, dir, { name: 'Jan Peeters', rrn: '85073003328' });
  const e = await makeEnrollment(server);
  const r = await proofWithCard(eidUrl(e), card.args);
  assert.equal(r.status, 200, r.curlError || r.body);
  assert.equal(h1(r.body), 'Type this code in the sleutel app');
  assert.match(r.body, /Jan Peeters/);
  assert.equal(r.redeemed.status, 200, JSON.stringify(r.redeemed.body));
  const row = await getEnrollment(server, e.id);
  assert.equal(row.status, 'proofed');
  assert.equal(row.proof_method, 'eid');
  assert.deepEqual(JSON.parse(row.person),
    { rrn: '85073003328', given_name: 'Jan', family_name: 'Peeters', birthdate: '1985-07-30' });
  assert.ok((await proofingAudit(server)).some((a) => a.key === 'eid' && a.result === 'ok'));
  // The ticket was spent with it: the same link now says so.
  const again = await curl(eidUrl(e), card.args);
  assert.equal(again.status, 409);
});

test('no certificate, an expired card: refused, still proofing, the link still works', async () => {
  const e = await makeEnrollment(server);
  let r = await proofWithCard(eidUrl(e));
  assert.equal(r.status, 403, r.curlError || r.body);
  assert.match(r.body, /no_cert/);
  const expired = await issueCard(server.pkiDir, dir, { name: 'Els Maes', rrn: '90020199704', expired: true });
  r = await proofWithCard(eidUrl(e), expired.args);
  assert.equal(r.status, 403, r.curlError || r.body);
  assert.match(r.body, /expired/);
  const row = await getEnrollment(server, e.id);
  assert.equal(row.status, 'proofing');
  assert.equal(row.person, null);
  const good = await issueCard(server.pkiDir, dir, { name: 'Els Maes', rrn: '90020199704' });
  r = await proofWithCard(eidUrl(e), good.args);
  assert.equal(r.status, 200, r.body);
  assert.equal(JSON.parse((await getEnrollment(server, e.id)).person).rrn, '90020199704');
});

test('the link first shows whose phone is linked; a post without the page\'s token proofs nothing', async () => {
  // A card is an ambient credential: a forwarded link or a page elsewhere
  // must not proof an attacker's enrolment with it unseen.
  const card = await issueCard(server.pkiDir, dir, { name: 'Jan Peeters', rrn: '85073003328' });
  const e = await makeEnrollment(server, { phone: '+32470123456' });
  const page = await curl(eidUrl(e), card.args);
  assert.equal(page.status, 200);
  assert.match(page.body, /34 56/);
  assert.match(page.body, /Did someone else send you this link/);
  assert.equal((await getEnrollment(server, e.id)).status, 'proofing', 'looking proofs nothing');
  const forged = await curl(`${server.eidBase}/proofing/eid`,
    [...card.args, '--data', new URLSearchParams({ t: e.ticket, csrf: 'x'.repeat(43) }).toString()]);
  assert.equal(forged.status, 403);
  assert.equal((await getEnrollment(server, e.id)).status, 'proofing');
  assert.equal((await proofWithCard(eidUrl(e), card.args)).status, 200);
  assert.equal((await getEnrollment(server, e.id)).status, 'proofed');
});

test('bad ticket, expired enrolment, and the portal origin does not serve eID proofing', async () => {
  const card = await issueCard(server.pkiDir, dir, { name: 'Jan Peeters', rrn: '85073003328' });
  let r = await curl(`${server.eidBase}/proofing/eid?t=nonsense`, card.args);
  assert.equal(r.status, 404);
  const old = await makeEnrollment(server, { expiresIn: -1 });
  r = await curl(eidUrl(old), card.args);
  assert.equal(r.status, 410);
  const e = await makeEnrollment(server);
  const res = await fetch(`${server.base}/proofing/eid?t=${encodeURIComponent(e.ticket)}`);
  assert.equal(res.status, 404);
  assert.equal((await getEnrollment(server, e.id)).status, 'proofing');
});
