// Every way an eID card is refused at the eID origin. Each refusal is a page
// (403) whose <h1> names the problem in the person's language (Dutch by
// default: the texts come from po/nl.po), with what to do and the way back
// to the key choice; an audit record (event login, key eid, result = the
// verdict); no redirect, no session cookie, and no session (prompt=none afterwards
// answers login_required).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import path from 'node:path';
import { Agent, SLEUTEL, startServer } from './lib/harness.mjs';
import {
  eidRp, issueCard, opensslCard, p12Part, assertRefused, toEidOrigin, presentCard, eidLoginRecord, auditMax,
  auditSince, eidCodeFlow, closedPort, pkiInit, run, tmp, h1, po, nl,
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

async function refused(args, heading, result, opts = {}) {
  const r = await assertRefused(server, rp, args, { heading, code: result, ...opts });
  const rec = eidLoginRecord(r.rows);
  assert.equal(rec.result, result);
  assert.equal(rec.ip, '127.0.0.1');
  assert.equal(rec.client_id, rp.c.client_id, 'the record names the RP the person came from');
  return { ...r, rec };
}

test('no certificate sent: 403 "did not send a certificate", audit no_certificate', async () => {
  await refused([], 'Your browser did not send a certificate', 'no_certificate');
});

test('an expired card: 403 "has expired", audit expired', async () => {
  const card = await issueCard(server.pkiDir, dir, { expired: true });
  await refused(card.args, 'Your eID card has expired', 'expired');
});

test('a card not valid yet: 403 "not valid yet", audit not_yet_valid', async () => {
  const card = await issueCard(server.pkiDir, dir, { notYetValid: true });
  await refused(card.args, 'Your eID card is not valid yet', 'not_yet_valid');
});

test('a revoked card (sleutel pki revoke of the authentication certificate): 403 "revoked", audit revoked', async () => {
  const card = await issueCard(server.pkiDir, dir, { name: 'Rik Revoked' });
  await run(SLEUTEL, ['pki', 'revoke', server.pkiDir, card.auth_serial]);
  const { rec } = await refused(card.args, 'Your eID card has been revoked', 'revoked');
  assert.match(rec.detail || '', /revoked/i);
  // Revoking only the signing certificate does not stop the card logging in.
  const other = await issueCard(server.pkiDir, dir, { name: 'Sam Signer' });
  await run(SLEUTEL, ['pki', 'revoke', server.pkiDir, other.sign_serial]);
  const { claims } = await eidCodeFlow(server, rp, other.args);
  assert.deepEqual(claims.amr, ['eid']);
});

test('a card of another (untrusted) demo PKI: 403 "not recognised", audit unknown_issuer', async () => {
  const otherPki = await pkiInit(path.join(dir, 'other-pki'), { ocspUrl: `http://127.0.0.1:${server.pkiPort}/ocsp` });
  const card = await issueCard(otherPki, dir, { name: 'Ivo Imposter' });
  await refused(card.args, 'This card is not recognised', 'unknown_issuer');
});

test("the card's signing certificate (Signature, nonRepudiation): 403 \"not the authentication certificate\", audit wrong_key_usage", async () => {
  const card = await issueCard(server.pkiDir, dir, { name: 'Wim Wrongkey' });
  const sig = await p12Part(card.p12, dir, 'Signature');
  const subject = (await run('openssl', ['x509', '-in', sig.cert, '-noout', '-subject', '-ext', 'keyUsage'])).stdout;
  assert.match(subject, /\(Signature\)/);
  assert.match(subject, /Non Repudiation/);
  // A browser offers both certificates of the card; the person who picks
  // this one must get the page that says to pick "(Authentication)". The
  // key usage (nonRepudiation only) must therefore not end the TLS
  // handshake: GnuTLS does by default (GNUTLS_E_KEY_USAGE_VIOLATION when
  // verifying the client's CertificateVerify), and curl gets no answer.
  await refused(sig.args, 'This is not the authentication certificate', 'wrong_key_usage');
});

test('a certificate with digitalSignature and nonRepudiation, or without clientAuth: audit wrong_key_usage', async () => {
  const both = await opensslCard(server.pkiDir, dir, { keyUsage: 'critical,digitalSignature,nonRepudiation' });
  await refused(both.args, 'This is not the authentication certificate', 'wrong_key_usage');
  const mail = await opensslCard(server.pkiDir, dir, { eku: 'emailProtection' });
  await refused(mail.args, 'This is not the authentication certificate', 'wrong_key_usage');
});

test('a weak key (EC P-521 is not an eID curve): 403 "not recognised", audit weak_key', async () => {
  const weak = await opensslCard(server.pkiDir, dir, { newkey: ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-521'] });
  await refused(weak.args, 'This card is not recognised', 'weak_key');
});

test('an invalid national register number (85073003329): 403 "number not valid", audit invalid_identity', async () => {
  // Made with the openssl CLI and issued by the demo Citizen CA. Its status
  // comes from the demo CRL (a CDP, no OCSP URL): the demo OCSP responder
  // would answer "unknown" for a certificate not in its index, which is
  // refused as revoked before the subject is read.
  const card = await opensslCard(server.pkiDir, dir, {
    subject: '/C=BE/CN=X Y (Authentication)/SN=Y/GN=X/serialNumber=85073003329',
    crl: `http://127.0.0.1:${server.pkiPort}/crl/citizen.crl`,
  });
  const { rec } = await refused(card.args, 'The national register number on this card is not valid', 'invalid_identity');
  assert.ok(rec.detail, 'the audit record says what is wrong with the number');
  // A subject without serialNumber, or outside Belgium, is no identity either.
  const none = await opensslCard(server.pkiDir, dir, {
    subject: '/C=BE/CN=X Y (Authentication)/SN=Y/GN=X',
    crl: `http://127.0.0.1:${server.pkiPort}/crl/citizen.crl`,
  });
  await refused(none.args, 'The national register number on this card is not valid', 'invalid_identity');
  const nl2 = await opensslCard(server.pkiDir, dir, {
    subject: '/C=NL/CN=X Y (Authentication)/SN=Y/GN=X/serialNumber=85073003328',
    crl: `http://127.0.0.1:${server.pkiPort}/crl/citizen.crl`,
  });
  await refused(nl2.args, 'The national register number on this card is not valid', 'invalid_identity');
});

test('after a refusal the person can try again with the right card on the same request', async () => {
  const agent = new Agent();
  const flow = await toEidOrigin(server, rp.config, { agent });
  const expired = await issueCard(server.pkiDir, dir, { expired: true });
  let r = await presentCard(server, flow, expired.args);
  assert.equal(r.eid.status, 403);
  const good = await issueCard(server.pkiDir, dir, { name: 'Greet Goed' });
  r = await presentCard(server, flow, good.args);
  assert.equal(r.eid.status, 303, `the second try answered ${r.eid.status}`);
  assert.ok(r.back.searchParams.get('code'));
});

test('the refusal page speaks the language of the link (lang=fr)', async () => {
  const card = await issueCard(server.pkiDir, dir, { expired: true });
  const flow = await toEidOrigin(server, rp.config);
  const u = new URL(flow.eidUrl);
  u.searchParams.set('lang', 'fr');
  const { eid } = await presentCard(server, { ...flow, eidUrl: u }, card.args);
  assert.equal(eid.status, 403);
  assert.equal(h1(eid.body), po('fr', 'Your eID card has expired'));
  assert.match(eid.body, /<html lang="fr"/);
});

test('revocation status unavailable (OCSP at a closed port, no CRL): 403 "cannot be checked", audit status_unavailable', async () => {
  const port = await closedPort();
  const s2 = await startServer({
    demo: true,
    config: { eid: { ocsp_url: `http://127.0.0.1:${port}/ocsp`, crl: 'false', revocation_timeout: 1 } },
  });
  try {
    const rp2 = await eidRp(s2);
    const card = await issueCard(s2.pkiDir, dir, { name: 'Olga Offline' });
    const since = await auditMax(s2);
    const r = await assertRefused(s2, rp2, card.args, { heading: 'Your card cannot be checked right now', code: 'status_unavailable' });
    const rec = eidLoginRecord(await auditSince(s2, since));
    assert.equal(rec.result, 'status_unavailable');
    assert.match(rec.detail || '', new RegExp(`127\\.0\\.0\\.1:${port}`), 'the detail names the OCSP URL that failed');
    assert.equal(h1(r.eid.body), nl('Your card cannot be checked right now'));
  } finally {
    await s2.stop();
  }
});
