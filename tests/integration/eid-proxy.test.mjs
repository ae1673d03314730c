// Behind a TLS-terminating proxy: a proxy listed in [server] trusted_proxies
// passes the client certificate in a header (default X-SSL-Client-Cert,
// the PEM URL-escaped as nginx's $ssl_client_escaped_cert). From anyone
// else the header is a forgery: 400, audit 'malformed', nobody logged in.
// The proxy reaches a plain eID listener ([eid] tls = false, docs/eid.md);
// on a TLS listener the header is a forgery too, even from a trusted proxy
// (review7): there the handshake is the browser's own.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { startServer } from './lib/harness.mjs';
import {
  ACR_HIGH, eidRp, issueCard, p12Part, eidCodeFlow, assertRefused, eidLoginRecord, tmp,
} from './lib/eid.mjs';

let trusted; // trusted_proxies = 127.0.0.1, [eid] tls = false
let untrusted; // trusted_proxies = 10.9.9.9, 192.0.2.7
let trustedTls; // trusted_proxies = 127.0.0.1, [eid] tls = true (the default)
let rpT;
let rpU;
let dir;

const header = (pem) => ({ 'X-SSL-Client-Cert': encodeURIComponent(pem) });

before(async () => {
  dir = tmp();
  // Both kept whatever becomes of the other: after() stops the one that
  // started when the other failed.
  const started = await Promise.allSettled([
    startServer({ demo: true, config: { server: { trusted_proxies: '127.0.0.1' }, eid: { tls: 'false' } } }),
    startServer({ demo: true, config: { server: { trusted_proxies: '10.9.9.9, 192.0.2.7' } } }),
    startServer({ demo: true, config: { server: { trusted_proxies: '127.0.0.1' } } }),
  ]);
  [trusted, untrusted, trustedTls] = started.map((r) => r.value);
  for (const r of started) if (r.status === 'rejected') throw r.reason;
  trusted.eidPlain = true;
  [rpT, rpU] = await Promise.all([eidRp(trusted), eidRp(untrusted)]);
});
after(async () => {
  const results = await Promise.allSettled([trusted?.stop(), untrusted?.stop(), trustedTls?.stop()]);
  rmSync(dir, { recursive: true, force: true });
  for (const r of results) if (r.status === 'rejected') throw r.reason;
});

test('trusted proxy: the certificate from X-SSL-Client-Cert logs in, no TLS client certificate needed', async () => {
  const card = await issueCard(trusted.pkiDir, dir, { name: 'Piet Proxy', rrn: '85073003328' });
  const { claims, userinfo } = await eidCodeFlow(trusted, rpT, [], { headers: header(card.certPem) });
  assert.deepEqual(claims.amr, ['eid']);
  assert.equal(claims.acr, ACR_HIGH);
  assert.equal(userinfo.given_name, 'Piet');
  assert.equal(userinfo.family_name, 'Proxy');
  assert.equal(userinfo.national_register_number, '85073003328');
  // With the issuing CA after the leaf, as a proxy may pass the chain.
  const chain = card.certPem + readFileSync(path.join(trusted.pkiDir, 'citizen-ca.pem'), 'utf8');
  const again = await eidCodeFlow(trusted, rpT, [], { headers: header(chain) });
  assert.equal(again.claims.sub, claims.sub);
});

test('trusted proxy: the header is validated like a handshake (expired, signing certificate)', async () => {
  const expired = await issueCard(trusted.pkiDir, dir, { expired: true });
  let r = await assertRefused(trusted, rpT, [], {
    heading: 'Your eID card has expired', code: 'expired', opts: { headers: header(expired.certPem) },
  });
  assert.equal(eidLoginRecord(r.rows).result, 'expired');
  const card = await issueCard(trusted.pkiDir, dir, {});
  const sig = await p12Part(card.p12, dir, 'Signature');
  r = await assertRefused(trusted, rpT, [], {
    heading: 'This is not the authentication certificate', code: 'wrong_key_usage',
    opts: { headers: header(readFileSync(sig.cert, 'utf8')) },
  });
  assert.equal(eidLoginRecord(r.rows).result, 'wrong_key_usage');
});

test("trusted proxy: the audit record has the person's address from X-Forwarded-For; from others it is ignored", async () => {
  const expired = await issueCard(trusted.pkiDir, dir, { expired: true });
  let r = await assertRefused(trusted, rpT, [], {
    heading: 'Your eID card has expired', code: 'expired',
    opts: { headers: { ...header(expired.certPem), 'X-Forwarded-For': '198.51.100.1, 203.0.113.9' } },
  });
  let rec = eidLoginRecord(r.rows);
  assert.equal(rec.ip, '203.0.113.9', 'the address the trusted proxy added (the last one)');
  assert.equal(rec.client_id, rpT.c.client_id);
  // Not an address: the connection's.
  r = await assertRefused(trusted, rpT, [], {
    heading: 'Your eID card has expired', code: 'expired',
    opts: { headers: { ...header(expired.certPem), 'X-Forwarded-For': '<script>' } },
  });
  assert.equal(eidLoginRecord(r.rows).ip, '127.0.0.1');
  // From a host that is not a trusted proxy, X-Forwarded-For is not believed.
  const card = await issueCard(untrusted.pkiDir, dir, { expired: true });
  r = await assertRefused(untrusted, rpU, card.args, {
    heading: 'Your eID card has expired', code: 'expired', opts: { headers: { 'X-Forwarded-For': '203.0.113.9' } },
  });
  rec = eidLoginRecord(r.rows);
  assert.equal(rec.ip, '127.0.0.1');
});

test('trusted proxy: an empty header (nginx without a client certificate) means no certificate', async () => {
  const r = await assertRefused(trusted, rpT, [], {
    heading: 'Your browser did not send a certificate', code: 'no_certificate',
    opts: { headers: { 'X-SSL-Client-Cert': '' } },
  });
  assert.equal(eidLoginRecord(r.rows).result, 'no_certificate');
});

test('trusted proxy: an unreadable or oversized header is answered 400, audit malformed', async () => {
  for (const value of ['not%20a%20certificate', encodeURIComponent('-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n'),
    'A'.repeat(17000)]) {
    const r = await assertRefused(trusted, rpT, [], {
      status: 400, heading: 'This card is not recognised', code: 'malformed', opts: { headers: { 'X-SSL-Client-Cert': value } },
    });
    const rec = eidLoginRecord(r.rows);
    assert.equal(rec.result, 'malformed');
    assert.match(rec.detail || '', /header/);
  }
});

test('untrusted host: the same header is a forgery: 400, audit malformed, never a login', async () => {
  const card = await issueCard(untrusted.pkiDir, dir, { name: 'Frank Forger' });
  const r = await assertRefused(untrusted, rpU, [], {
    status: 400, heading: 'This card is not recognised', code: 'malformed', opts: { headers: header(card.certPem) },
  });
  const rec = eidLoginRecord(r.rows);
  assert.equal(rec.result, 'malformed');
  assert.match(rec.detail || '', /trusted proxy/);
  assert.equal(rec.ip, '127.0.0.1');
  assert.equal(rec.client_id, rpU.c.client_id);
  // Not even together with a real TLS client certificate.
  const r2 = await assertRefused(untrusted, rpU, card.args, {
    status: 400, heading: 'This card is not recognised', code: 'malformed', opts: { headers: header(card.certPem) },
  });
  assert.equal(eidLoginRecord(r2.rows).result, 'malformed');
  // Another header name does not matter; the card alone still works.
  const ok = await eidCodeFlow(untrusted, rpU, card.args, { headers: { 'X-Client-Cert': encodeURIComponent(card.certPem) } });
  assert.deepEqual(ok.claims.amr, ['eid']);
});

// review7: a TLS eID listener is reached by the browser itself, so the
// header there is a forgery even from a trusted proxy's address (127.0.0.1
// here): before, a site relaying to it could log in as any card it had
// the certificate of. The card in the handshake still logs in alone.
test('trusted proxy but a TLS eID listener: the header is a forgery: 400, audit malformed, never a login', async () => {
  const rp = await eidRp(trustedTls);
  const card = await issueCard(trustedTls.pkiDir, dir, { name: 'Tessa Tls' });
  for (const args of [[], card.args]) {
    const r = await assertRefused(trustedTls, rp, args, {
      status: 400, heading: 'This card is not recognised', code: 'malformed', opts: { headers: header(card.certPem) },
    });
    const rec = eidLoginRecord(r.rows);
    assert.equal(rec.result, 'malformed');
    assert.match(rec.detail || '', /TLS listener/);
  }
  const ok = await eidCodeFlow(trustedTls, rp, card.args);
  assert.deepEqual(ok.claims.amr, ['eid']);
});
