// pki-smartid.test.mjs — the demo PKI's Smart-ID CA from the outside:
// `sleutel pki smartid` certifies two devices of one person (RSA public
// keys made once with `openssl genpkey` and kept in fixtures/pki-smartid:
// 6144 bits standing in for split-key composite keys, and 2048; making two
// 6144-bit keys per run cost ~20 s of CPU in `make check`), and openssl
// checks what came out: the subject and extensions of
// the Smart-ID profile, the chain to the demo root (and not to the eID
// trust set), OCSP from `sleutel pki ocsp` before and after
// `sleutel pki revoke`, and the CRL at the certificates' CDP.
import assert from 'node:assert/strict';
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, test } from 'node:test';
import { SLEUTEL, freePort } from './lib/harness.mjs';
import { daemon, pkiInit, run, tmp } from './lib/eid.mjs';

const RRN = '85073003328';
const DOC = new RegExp(`^PNOBE-${RRN}-[23456789ABCDEFGHJKLMNPQRSTUVWXYZ]{4}-Q$`);

let dir; let pki; let port; let responder;
const devices = [];

// The fixture's public key `name`, of `bits` bits (openssl says so),
// copied to the test's directory as NAME.pub.
async function rsaPub(name, bits) {
  const pub = path.join(dir, `${name}.pub`);
  copyFileSync(fileURLToPath(new URL(`fixtures/pki-smartid/${name}.pub`, import.meta.url)), pub);
  const { stdout } = await run('openssl', ['pkey', '-pubin', '-in', pub, '-noout', '-text']);
  assert.match(stdout, new RegExp(`Public-Key: \\(${bits} bit\\)`));
  return pub;
}

async function issue(name, auth, sign, extra = []) {
  const { stdout } = await run(SLEUTEL, ['pki', 'smartid', pki, '--name', 'Jan Peeters', '--rrn', RRN,
    '--auth-pub', auth, '--sign-pub', sign, ...extra]);
  const out = JSON.parse(stdout);
  for (const k of ['auth', 'sign']) {
    out[`${k}File`] = path.join(dir, `${name}-${k}.pem`);
    writeFileSync(out[`${k}File`], out[`${k}_cert`]);
  }
  return out;
}

const text = async (file) => (await run('openssl', ['x509', '-in', file, '-noout', '-text'])).stdout;

// `openssl ocsp` against the responder; the CA is fetched from the
// certificate's AIA caIssuers URL, the answer verified against the root.
async function ocsp(cert) {
  const info = await text(cert);
  const caUrl = info.match(/CA Issuers - URI:(\S+)/)[1];
  const ocspUrl = info.match(/OCSP - URI:(\S+)/)[1];
  const der = Buffer.from(await (await fetch(caUrl)).arrayBuffer());
  const ca = path.join(dir, 'fetched-ca.der');
  writeFileSync(ca, der);
  const caPem = path.join(dir, 'fetched-ca.pem');
  await run('openssl', ['x509', '-inform', 'DER', '-in', ca, '-out', caPem]);
  const { stdout, stderr } = await run('openssl', ['ocsp', '-issuer', caPem, '-cert', cert, '-url', ocspUrl,
    '-CAfile', path.join(pki, 'root.pem'), '-verify_other', caPem, '-nonce']);
  assert.match(stderr + stdout, /Response verify OK/);
  return stdout.match(new RegExp(`${cert.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: (\\w+)`))[1];
}

before(async () => {
  dir = tmp('sleutel-smartid-');
  port = await freePort();
  pki = await pkiInit(path.join(dir, 'pki'), {
    ocspUrl: `http://127.0.0.1:${port}/ocsp`, crlBase: `http://127.0.0.1:${port}/crl`,
  });
  responder = await daemon(SLEUTEL, ['pki', 'ocsp', pki, '--port', String(port)], port);
  // The first device with composite-size keys, the second with 2048-bit
  // ones (also accepted, and quick to make).
  const keys = await Promise.all([rsaPub('a1', 6144), rsaPub('s1', 6144), rsaPub('a2', 2048), rsaPub('s2', 2048)]);
  devices.push(await issue('d1', keys[0], keys[1]));
  devices.push(await issue('d2', keys[2], keys[3]));
});

after(async () => { await responder?.stop(); });

test('two devices of one person: document numbers of the PNOBE shape, four serials', () => {
  const [d1, d2] = devices;
  assert.match(d1.document_number, DOC);
  assert.match(d2.document_number, DOC);
  assert.notEqual(d1.document_number, d2.document_number);
  assert.equal(new Set([d1.auth_serial, d1.sign_serial, d2.auth_serial, d2.sign_serial]).size, 4);
  const index = JSON.parse(readFileSync(path.join(pki, 'index.json'), 'utf8'));
  for (const d of devices) {
    for (const [kind, serial] of [['authentication', d.auth_serial], ['signature', d.sign_serial]]) {
      const e = index.certs.find((c) => c.serial === serial);
      assert.deepEqual([e.ca, e.kind, e.status, e.document_number], ['smartid', kind, 'good', d.document_number]);
    }
  }
});

test('the certificates have the Smart-ID profile: subject, usages, policies, AIA, CDP', async () => {
  const auth = await text(devices[0].authFile);
  const sign = await text(devices[0].signFile);
  for (const t of [auth, sign]) {
    assert.match(t, /Issuer: C = BE, O = sleutel demo, CN = Smart-ID CA/);
    assert.match(t, /Subject: C = BE, CN = "Peeters,Jan,85073003328", SN = Peeters, GN = Jan, serialNumber = PNOBE-85073003328\n/);
    assert.match(t, /Public-Key: \(6144 bit\)/);
    assert.match(t, /Policy: 2\.999\.17\.2\n/);
    assert.match(t, new RegExp(`OCSP - URI:http://127\\.0\\.0\\.1:${port}/ocsp\\n`));
    assert.match(t, new RegExp(`CA Issuers - URI:http://127\\.0\\.0\\.1:${port}/crl/smartid-ca\\.crt\\n`));
    assert.match(t, new RegExp(`URI:http://127\\.0\\.0\\.1:${port}/crl/smartid\\.crl\\n`));
    assert.doesNotMatch(t, /TLS Web Client Authentication/);
  }
  assert.match(auth, /X509v3 Key Usage: critical\n\s+Digital Signature\n/);
  assert.match(auth, /X509v3 Extended Key Usage: \n\s+1\.3\.6\.1\.4\.1\.62306\.5\.7\.0\n/);
  assert.match(auth, /Policy: 0\.4\.0\.2042\.1\.2\n/);
  assert.match(sign, /X509v3 Key Usage: critical\n\s+Non Repudiation\n/);
  assert.doesNotMatch(sign, /Extended Key Usage/);
  assert.match(sign, /Policy: 0\.4\.0\.194112\.1\.2\n/);
});

test('the chain verifies against the demo root, not against the eID trust set', async () => {
  const chain = path.join(dir, 'chain.pem');
  writeFileSync(chain, devices[0].chain);
  for (const d of devices) {
    const { stdout } = await run('openssl', ['verify', '-CAfile', path.join(pki, 'root.pem'), '-untrusted', chain,
      d.authFile, d.signFile]);
    assert.equal(stdout, `${d.authFile}: OK\n${d.signFile}: OK\n`);
  }
  await assert.rejects(run('openssl', ['verify', '-CAfile', path.join(pki, 'trust.pem'), devices[0].authFile]),
    /unable to get local issuer certificate/);
});

test('OCSP says good, then revoked after sleutel pki revoke; the CRL lists it', async () => {
  const [d1, d2] = devices;
  assert.equal(await ocsp(d1.authFile), 'good');
  assert.equal(await ocsp(d1.signFile), 'good');
  const { stdout } = await run(SLEUTEL, ['pki', 'revoke', pki, d1.auth_serial]);
  assert.match(stdout, /revoked/);
  assert.equal(await ocsp(d1.authFile), 'revoked');
  assert.equal(await ocsp(d1.signFile), 'good');
  assert.equal(await ocsp(d2.authFile), 'good');

  // The CRL at the certificate's CDP, verified against the Smart-ID CA.
  const cdp = (await text(d1.authFile)).match(/Full Name:\s+URI:(\S+)/)[1];
  const crl = path.join(dir, 'smartid.crl');
  writeFileSync(crl, Buffer.from(await (await fetch(cdp)).arrayBuffer()));
  const chain = path.join(dir, 'chain.pem');
  const out = await run('openssl', ['crl', '-inform', 'DER', '-in', crl, '-CAfile', chain, '-noout', '-text']);
  assert.match(out.stderr, /verify OK/);
  assert.match(out.stdout, /Issuer: C = BE, O = sleutel demo, CN = Smart-ID CA/);
  assert.match(out.stdout, new RegExp(`Serial Number: ${d1.auth_serial}\\n\\s+Revocation Date: .*\\n\\s+CRL entry extensions:\\n\\s+X509v3 CRL Reason Code: \\n\\s+Key Compromise`));
  assert.doesNotMatch(out.stdout, new RegExp(d1.sign_serial));
  // ... and only there: the Citizen CA's CRL does not list it.
  const citizen = path.join(dir, 'citizen.crl');
  await run(SLEUTEL, ['pki', 'crl', pki, 'citizen', '--out', citizen]);
  const c = await run('openssl', ['crl', '-inform', 'DER', '-in', citizen, '-noout', '-text']);
  assert.doesNotMatch(c.stdout, new RegExp(d1.auth_serial));
  const viaCli = path.join(dir, 'smartid-cli.crl');
  await run(SLEUTEL, ['pki', 'crl', pki, 'smartid', '--out', viaCli]);
  const s = await run('openssl', ['crl', '-inform', 'DER', '-in', viaCli, '-noout', '-text']);
  assert.match(s.stdout, new RegExp(d1.auth_serial));
});

test('refused: an EC key, a key used twice, a bad document number, a document number issued before', async () => {
  const ecKey = path.join(dir, 'ec.key');
  const ecPub = path.join(dir, 'ec.pub');
  await run('openssl', ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', ecKey]);
  await run('openssl', ['pkey', '-in', ecKey, '-pubout', '-out', ecPub]);
  const a2 = path.join(dir, 'a2.pub');
  const s2 = path.join(dir, 's2.pub');
  const fails = async (args, re) => {
    const e = await run(SLEUTEL, ['pki', 'smartid', pki, '--name', 'Jan Peeters', '--rrn', RRN, ...args])
      .then(() => null, (err) => err);
    assert.ok(e, `sleutel pki smartid ${args.join(' ')} succeeded`);
    assert.equal(e.code, 1);
    assert.match(e.stderr, re);
  };
  await fails(['--auth-pub', ecPub, '--sign-pub', s2], /authentication key is EC; Smart-ID keys are RSA/);
  await fails(['--auth-pub', a2, '--sign-pub', a2], /must differ/);
  await fails(['--auth-pub', a2, '--sign-pub', s2, '--document', `PNOBE-${RRN}-OOOO-Q`], /PNOBE-85073003328-XXXX-Q/);
  await fails(['--auth-pub', a2, '--sign-pub', s2, '--document', devices[1].document_number], /already issued/);
  const before = readFileSync(path.join(pki, 'index.json'), 'utf8');
  await fails(['--auth-pub', path.join(dir, 'missing.pub'), '--sign-pub', s2], /--auth-pub/);
  assert.equal(readFileSync(path.join(pki, 'index.json'), 'utf8'), before);
});

// sleuteld in demo mode serves the same PKI: the Smart-ID CRL and CA
// certificate at the addresses the certificates name, once the CA exists.
test('sleuteld (demo mode) serves the Smart-ID CRL and CA certificate', async () => {
  const { startServer } = await import('./lib/harness.mjs');
  const server = await startServer({ demo: true });
  try {
    const base = `http://127.0.0.1:${server.pkiPort}/crl`;
    const auth = await rsaPub('demo-auth', 2048);
    const sign = await rsaPub('demo-sign', 2048);
    await run(SLEUTEL, ['pki', 'smartid', server.pkiDir, '--name', 'Jan Peeters', '--rrn', RRN,
      '--auth-pub', auth, '--sign-pub', sign]);
    const crl = await fetch(`${base}/smartid.crl`);
    assert.equal(crl.status, 200);
    assert.equal(crl.headers.get('content-type'), 'application/pkix-crl');
    const crlFile = path.join(dir, 'served-smartid.crl');
    writeFileSync(crlFile, Buffer.from(await crl.arrayBuffer()));
    const { stdout } = await run('openssl', ['crl', '-inform', 'DER', '-in', crlFile, '-noout', '-issuer']);
    assert.match(stdout, /Smart-ID/);
    const ca = await fetch(`${base}/smartid-ca.crt`);
    assert.equal(ca.status, 200);
    assert.equal(ca.headers.get('content-type'), 'application/pkix-cert');
    await ca.arrayBuffer();
  } finally {
    await server.stop();
  }
});
