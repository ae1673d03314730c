// sidrp-sign-cms.test.mjs — the signing proof (issue 10, item 6): a real
// document is signed with PIN2 through the Smart-ID RP API v3 and the
// result is a detached CMS SignedData (RFC 5652) that `openssl cms
// -verify` accepts against the demo PKI's Smart-ID CA chain.
//
// The RP side is written from the published API (docs/smart-id.md, SK's
// RP API 3.2): it builds the CMS signedAttrs (contentType, signingTime,
// messageDigest of the document; lib/der.mjs), hashes their DER SET,
// starts `POST /v3/signature/notification/document/{documentNumber}` with
// RAW_DIGEST_SIGNATURE over that hash, and reads the signature and the
// certificate from `GET /v3/session/{id}`.  The phone side is the test
// phone (lib/smartid.mjs) answering on the documented device wire with
// PIN2.  Asserted, per case (rsassa-pss and sha256WithRSAEncryption with
// SHA-256; rsassa-pss with SHA-512):
// - the creation answer's random code is the one the phone is shown, and
//   the phone is asked to sign exactly the RP's digest with its sign key;
// - the session's result: OK, the document number, RAW_DIGEST_SIGNATURE,
//   flowType Notification, the algorithm and its PSS parameters, and the
//   phone's sign certificate;
// - `openssl pkeyutl -verify` accepts the signature over the raw digest
//   (and refuses another digest);
// - `openssl cms -verify -binary -purpose any` accepts the assembled CMS
//   with the document, chained to the demo root through the Smart-ID CA,
//   and refuses it when one byte of the document changes.
// And a PAdES signature (ETSI.CAdES.detached; lib/pdf.mjs): the RP reads
// the certificate first (POST /v3/signature/certificate/{documentNumber})
// to name it in the signed attributes (ESS signing-certificate-v2), the
// CMS goes into the PDF's /Contents, and `pdfsig` (poppler-utils) reports
// the signature valid, the whole document signed and the certificate
// trusted (an NSS database trusting the demo root, the certificate's OCSP
// asked live), and a digest mismatch once one byte of the text changes.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { startServer } from './lib/harness.mjs';
import { rrn } from './lib/eid.mjs';
import { registerSmartId } from './lib/smartid.mjs';
import { signedAttrs, signedData, digestOf, HASH_LEN } from './lib/der.mjs';
import { makePdf, signablePdf } from './lib/pdf.mjs';

const execFileP = promisify(execFile);
const PERSON = { given: 'Ann', family: 'Wouters', rrn: rrn('870412', 211) };
const RP_NAME = 'Notaris Wouters';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

let server;
let phone;
let rpUuid;
let dir;
let chainFile;

// The RP: JSON to {issuer}/smart-id/v3/...; answers { status, body }.
async function rpCall(method, p, body) {
  const res = await fetch(`${server.base}/smart-id/v3${p}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  let parsed = text;
  try { parsed = JSON.parse(text); } catch { /* left as text for the message */ }
  return { status: res.status, body: parsed };
}

const b64 = (buf) => Buffer.from(buf).toString('base64');
const interactions = (text) => b64(JSON.stringify([{ type: 'displayTextAndPIN', displayText60: text }]));

// The phone: wait for the RP API signing request, check that it carries
// what the RP asked, and confirm it with PIN2.
async function phoneSigns({ digest, vc, text, padding, hashName }) {
  const r = await phone.requests({ wait: true });
  assert.equal(r.status, 200, `GET /requests: ${r.status} ${JSON.stringify(r.body)}`);
  const rq = r.body.requests.find((q) => q.rp_api && q.rp_api.session_type === 'sign');
  assert.ok(rq, `no RP API signing request: ${JSON.stringify(r.body)}`);
  assert.equal(rq.action, 'sign');
  assert.equal(rq.key, 'sign', 'a signature asks for PIN2');
  assert.equal(rq.rp_name, RP_NAME);
  assert.equal(rq.display_text, text);
  assert.equal(rq.verification_code, vc, 'the phone shows the code the RP was given');
  assert.deepEqual(Buffer.from(rq.hash, 'base64url'), digest, 'the phone signs exactly the RP\'s digest');
  assert.equal(rq.padding, padding);
  assert.equal(rq.digest, hashName.replace('-', ''));
  assert.equal(rq.rp_api.api, 'v3');
  assert.equal(rq.rp_api.flow_type, 'Notification');
  assert.equal(rq.rp_api.signature_protocol, 'RAW_DIGEST_SIGNATURE');
  // PIN2 on the documented wire (lib/smartid.mjs answerRp: the partial
  // signature over the RP's digest, and a PSS encoding's EM).
  const a = await phone.answerRp(rq, { interaction: 'displayTextAndPIN' });
  assert.equal(a.status, 200, `POST /requests/${rq.id}: ${a.status} ${JSON.stringify(a.body)}`);
  assert.equal(a.body.status, 'approved');
}

// openssl, resolving { stdout, stderr }; rejects on a non-zero exit.
const openssl = (...args) => execFileP('openssl', args, { encoding: 'utf8' });

before(async () => {
  server = await startServer({ demo: true, config: { smartid: { key_bits: 1024 } } });
  phone = await registerSmartId(server, PERSON, { deviceName: 'Ann phone' });
  const out = await server.cli('rp', 'add', '--name', RP_NAME);
  rpUuid = out.match(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/)?.[0];
  assert.ok(rpUuid, `sleutel rp add printed no relyingPartyUUID: ${out}`);
  dir = mkdtempSync(path.join(tmpdir(), 'sleutel-cms-'));
  // The chain a verifier trusts: the demo root and the Smart-ID CA.
  chainFile = path.join(dir, 'chain.pem');
  writeFileSync(chainFile, readFileSync(path.join(server.pkiDir, 'root.pem'), 'utf8') +
    readFileSync(path.join(server.pkiDir, 'smartid-ca.pem'), 'utf8'));
});

after(async () => {
  await server?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

// The RP has `digest` signed with PIN2 (RAW_DIGEST_SIGNATURE, a v3
// notification session for the phone's document number) and checks the
// session's result; answers { signature, certDer }.
async function rpSign({ hash, algorithm, digest, text }) {
  const pss = algorithm === 'rsassa-pss';
  const created = await rpCall('POST', `/signature/notification/document/${phone.document}`, {
    relyingPartyUUID: rpUuid,
    relyingPartyName: RP_NAME,
    certificateLevel: 'QUALIFIED',
    signatureProtocol: 'RAW_DIGEST_SIGNATURE',
    signatureProtocolParameters: {
      digest: b64(digest), signatureAlgorithm: algorithm, signatureAlgorithmParameters: { hashAlgorithm: hash },
    },
    nonce: crypto.randomBytes(9).toString('base64url'),
    interactions: interactions(text),
  });
  assert.equal(created.status, 200, `create: ${created.status} ${JSON.stringify(created.body)}`);
  assert.match(created.body.sessionID, UUID);
  assert.equal(created.body.vc.type, 'numeric4');
  assert.match(created.body.vc.value, /^[0-9]{4}$/);

  // The RP's long poll and the phone's answer run at once, as in life.
  const polled = rpCall('GET', `/session/${created.body.sessionID}?timeoutMs=30000`);
  await phoneSigns({ digest, vc: created.body.vc.value, text, padding: pss ? 'pss' : 'pkcs1', hashName: hash });
  const s = await polled;
  assert.equal(s.status, 200, `session: ${s.status} ${JSON.stringify(s.body)}`);
  assert.equal(s.body.state, 'COMPLETE');
  assert.equal(s.body.result.endResult, 'OK', JSON.stringify(s.body));
  assert.equal(s.body.result.documentNumber, phone.document);
  assert.equal(s.body.signatureProtocol, 'RAW_DIGEST_SIGNATURE');
  assert.equal(s.body.interactionTypeUsed, 'displayTextAndPIN');
  const sig = s.body.signature;
  assert.equal(sig.flowType, 'Notification');
  assert.equal(sig.signatureAlgorithm, algorithm);
  if (pss) {
    assert.deepEqual(sig.signatureAlgorithmParameters, {
      hashAlgorithm: hash, maskGenAlgorithm: { algorithm: 'id-mgf1', parameters: { hashAlgorithm: hash } },
      saltLength: HASH_LEN[hash], trailerField: '0xbc',
    });
  }
  const certDer = Buffer.from(s.body.cert.value, 'base64');
  assert.deepEqual(certDer, new crypto.X509Certificate(phone.certificates.sign).raw,
    'the result carries the phone\'s sign certificate');
  assert.ok(['ADVANCED', 'QUALIFIED'].includes(s.body.cert.certificateLevel));
  return { signature: Buffer.from(sig.value, 'base64'), certDer };
}

// One whole detached CMS signature of a PDF, checked with openssl.
async function signDocument({ hash, algorithm, name }) {
  const pss = algorithm === 'rsassa-pss';
  const doc = makePdf(`Koopakte ${name}: ${crypto.randomUUID()}`);
  const attrs = signedAttrs({ digest: digestOf(hash, doc), time: new Date() });
  const digest = digestOf(hash, attrs.der);
  const { signature, certDer } = await rpSign({ hash, algorithm, digest, text: `Teken de koopakte (${name})` });

  const f = (suffix) => path.join(dir, `${name}.${suffix}`);
  writeFileSync(f('pdf'), doc);
  writeFileSync(f('cert.pem'), new crypto.X509Certificate(certDer).toString());
  writeFileSync(f('digest'), digest);
  writeFileSync(f('sig'), signature);
  writeFileSync(f('p7s'), signedData({ hash, attrs, certDer, signature, pss }));

  // The raw signature over the digest, as a PKCS#1 / PSS verifier sees it.
  const md = hash.replace('-', '').toLowerCase();
  const pkeyopts = ['-pkeyopt', `digest:${md}`];
  if (pss) pkeyopts.push('-pkeyopt', 'rsa_padding_mode:pss', '-pkeyopt', `rsa_pss_saltlen:${HASH_LEN[hash]}`);
  const v = await openssl('pkeyutl', '-verify', '-certin', '-inkey', f('cert.pem'), '-in', f('digest'),
    '-sigfile', f('sig'), ...pkeyopts);
  assert.match(v.stdout, /Signature Verified Successfully/);
  writeFileSync(f('digest2'), digestOf(hash, Buffer.from('another document')));
  await assert.rejects(openssl('pkeyutl', '-verify', '-certin', '-inkey', f('cert.pem'), '-in', f('digest2'),
    '-sigfile', f('sig'), ...pkeyopts), 'a signature of one digest verifies another');

  // The CMS: the document, the signer's chain to the demo root.
  const cms = ['cms', '-verify', '-binary', '-inform', 'DER', '-in', f('p7s'), '-CAfile', chainFile,
    '-purpose', 'any', '-out', path.join(dir, `${name}.out`)];
  const ok = await openssl(...cms, '-content', f('pdf'));
  assert.match(ok.stderr, /Verification successful/);
  assert.deepEqual(readFileSync(path.join(dir, `${name}.out`)), doc);
  const tampered = Buffer.from(doc);
  tampered[tampered.indexOf('Koopakte') + 1] ^= 0x01;
  writeFileSync(f('tampered.pdf'), tampered);
  await assert.rejects(openssl(...cms, '-content', f('tampered.pdf')), /Verification failure/,
    'a changed document still verifies');
}

test('PIN2 signs a PDF through the RP API: RSASSA-PSS, SHA-256; openssl cms verifies it', async () => {
  await signDocument({ hash: 'SHA-256', algorithm: 'rsassa-pss', name: 'pss-sha256' });
});

test('PIN2 signs a PDF through the RP API: sha256WithRSAEncryption (PKCS#1 v1.5); openssl cms verifies it',
  async () => {
    await signDocument({ hash: 'SHA-256', algorithm: 'sha256WithRSAEncryption', name: 'pkcs1-sha256' });
  });

test('PIN2 signs a PDF through the RP API: RSASSA-PSS, SHA-512; openssl cms verifies it', async () => {
  await signDocument({ hash: 'SHA-512', algorithm: 'rsassa-pss', name: 'pss-sha512' });
});

// pdfsig (poppler-utils) with an NSS database that trusts the demo root.
// It asks the certificate's OCSP responder (the demo PKI's, served by the
// test server) whether the certificate is revoked; pdfsig 22.12's
// -no-ocsp reports every certificate as "Unknown issue", so it is not used.
async function pdfsig(file) {
  const db = `sql:${path.join(dir, 'nss')}`;
  if (!existsSync(path.join(dir, 'nss'))) {
    mkdirSync(path.join(dir, 'nss'));
    await execFileP('certutil', ['-N', '-d', db, '--empty-password']);
    await execFileP('certutil', ['-A', '-d', db, '-n', 'sleutel demo root', '-t', 'CT,C,C',
      '-i', path.join(server.pkiDir, 'root.pem')]);
    await execFileP('certutil', ['-A', '-d', db, '-n', 'sleutel Smart-ID CA', '-t', ',,',
      '-i', path.join(server.pkiDir, 'smartid-ca.pem')]);
  }
  // pdfsig exits non-zero for a bad signature; its report is on stdout either way.
  try {
    return (await execFileP('pdfsig', ['-nssdir', db, file], { encoding: 'utf8' })).stdout;
  } catch (e) {
    return e.stdout;
  }
}

test('PAdES: the RP fetches the signing certificate, PIN2 signs the PDF in place, pdfsig says valid and trusted',
  async () => {
    const hash = 'SHA-256';
    // POST /v3/signature/certificate/{documentNumber}: the certificate the
    // signed attributes name (ESS signing-certificate-v2) before signing.
    const c = await rpCall('POST', `/signature/certificate/${phone.document}`,
      { relyingPartyUUID: rpUuid, relyingPartyName: RP_NAME, certificateLevel: 'QUALIFIED' });
    assert.equal(c.status, 200, `certificate: ${c.status} ${JSON.stringify(c.body)}`);
    assert.equal(c.body.state, 'OK');
    const certDer = Buffer.from(c.body.cert.value, 'base64');

    const pdf = signablePdf(`Koopakte PAdES ${crypto.randomUUID()}`, { when: new Date() });
    const attrs = signedAttrs({ digest: digestOf(hash, pdf.signedBytes()), time: null, certDer });
    const digest = digestOf(hash, attrs.der);
    const got = await rpSign({ hash, algorithm: 'sha256WithRSAEncryption', digest, text: 'Teken de koopakte (PAdES)' });
    assert.deepEqual(got.certDer, certDer, 'signed with the certificate the RP was given');
    const signed = pdf.withContents(signedData({ hash, attrs, certDer, signature: got.signature, pss: false }));
    const file = path.join(dir, 'pades.pdf');
    writeFileSync(file, signed);

    const report = await pdfsig(file);
    assert.match(report, /Signature Type: ETSI\.CAdES\.detached/, report);
    assert.match(report, /Signature Validation: Signature is Valid\./, report);
    assert.match(report, /Certificate Validation: Certificate is Trusted\./, report);
    assert.match(report, /Total document signed/, report);

    const tampered = Buffer.from(signed);
    tampered[tampered.indexOf('Koopakte PAdES') + 1] ^= 0x01;
    writeFileSync(path.join(dir, 'pades-tampered.pdf'), tampered);
    const bad = await pdfsig(path.join(dir, 'pades-tampered.pdf'));
    assert.doesNotMatch(bad, /Signature is Valid/, bad);
    assert.match(bad, /Digest Mismatch/, bad);
  });
