// eID login with the card's key in a PKCS#11 token, as with a real card
// reader: `sleutel pki card --pkcs11` puts the card in a SoftHSM2 token and
// curl signs the TLS handshake through OpenSSL's pkcs11 engine (libp11), the
// private key never leaving the token.
//
// Needs the Debian packages softhsm2, opensc (pkcs11-tool) and
// libengine-pkcs11-openssl; without them the tests fail naming the packages.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, writeFileSync, mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { startServer } from './lib/harness.mjs';
import {
  ACR_HIGH, eidRp, issueCard, eidCodeFlow, assertRefused, auditMax, auditSince, eidLoginRecord, run, tmp,
} from './lib/eid.mjs';

const SOFTHSM = ['/usr/lib/softhsm/libsofthsm2.so', '/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so']
  .find((p) => existsSync(p));

async function missing() {
  const why = [];
  if (!SOFTHSM) why.push('softhsm2 (libsofthsm2.so)');
  for (const tool of ['softhsm2-util', 'pkcs11-tool']) {
    try { await run('sh', ['-c', `command -v ${tool}`]); } catch { why.push(tool); }
  }
  try {
    const { stdout } = await run('openssl', ['version', '-e']);
    const dir = stdout.match(/ENGINESDIR: "([^"]+)"/)?.[1];
    if (!dir || !existsSync(path.join(dir, 'pkcs11.so'))) why.push('libengine-pkcs11-openssl (pkcs11.so engine)');
  } catch { why.push('openssl'); }
  return why;
}

let server;
let rp;
let dir;
let env;

before(async () => {
  // The tools come with `make check` (scripts/deps.sh): missing ones are a
  // failure that names the Debian packages, never a quiet skip.
  const why = await missing();
  if (why.length) {
    throw new Error(`missing ${why.join(', ')}: install the Debian packages softhsm2, opensc and `
      + 'libengine-pkcs11-openssl (scripts/deps.sh does)');
  }
  server = await startServer({ demo: true });
  rp = await eidRp(server);
  dir = tmp();
  mkdirSync(path.join(dir, 'tokens'));
  writeFileSync(path.join(dir, 'softhsm2.conf'),
    `directories.tokendir = ${path.join(dir, 'tokens')}\nobjectstore.backend = file\nlog.level = ERROR\n`);
  env = { SOFTHSM2_CONF: path.join(dir, 'softhsm2.conf'), PKCS11_MODULE_PATH: SOFTHSM };
});
after(async () => {
  if (server) await server.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

// The token's objects, as pkcs11-tool lists them after logging in.
async function tokenObjects(token) {
  const { stdout } = await run('pkcs11-tool', ['--module', SOFTHSM, '--token-label', token, '--login', '--pin', '1234',
    '--list-objects'], { env: { ...process.env, ...env } });
  const objects = [];
  let cur;
  for (const line of stdout.split('\n')) {
    const head = line.match(/^(Certificate|Private Key|Public Key|Data) Object/);
    if (head) { cur = { kind: head[1] }; objects.push(cur); continue; }
    const kv = line.match(/^\s+(label|subject|ID):\s+(.*)$/);
    if (kv && cur) cur[kv[1].toLowerCase()] = kv[2].trim();
  }
  return objects;
}

// curl arguments that use the token's key and certificate of one kind
// ("Authentication" or "Signature") through the pkcs11 engine.
async function engineArgs(token, kind) {
  const objects = await tokenObjects(token);
  const cert = objects.find((o) => o.kind === 'Certificate' && (o.subject || '').includes(`(${kind})`));
  assert.ok(cert, `no ${kind} certificate in token ${token}: ${JSON.stringify(objects)}`);
  const key = objects.find((o) => o.kind === 'Private Key' && o.id === cert.id);
  assert.ok(key, `no private key with ID ${cert.id} in token ${token}`);
  const enc = (s) => encodeURIComponent(s);
  return [
    '--engine', 'pkcs11',
    '--key-type', 'ENG', '--key', `pkcs11:token=${enc(token)};object=${enc(key.label)};type=private;pin-value=1234`,
    '--cert-type', 'ENG', '--cert', `pkcs11:token=${enc(token)};object=${enc(cert.label)};type=cert`,
  ];
}

test('eID login with the card in a SoftHSM2 token through the pkcs11 engine', async (t) => {
  const token = 'Jan Token';
  const card = await issueCard(server.pkiDir, dir, {
    name: 'Jan Janssens', rrn: '85073003328', pkcs11: { token, soPin: '5678', env },
  });
  assert.equal(card.token, token);
  const objects = await tokenObjects(token);
  // Like a Belgian card: an authentication and a signing key and
  // certificate, and the CA certificates.
  assert.ok(objects.some((o) => o.kind === 'Private Key' && o.label === 'Authentication'), JSON.stringify(objects));
  assert.ok(objects.some((o) => o.kind === 'Private Key' && o.label === 'Signature'));
  const args = await engineArgs(token, 'Authentication');
  const since = await auditMax(server);
  const { claims, userinfo } = await eidCodeFlow(server, rp, args, { env });
  assert.deepEqual(claims.amr, ['eid']);
  assert.equal(claims.acr, ACR_HIGH);
  assert.equal(userinfo.given_name, 'Jan');
  assert.equal(userinfo.family_name, 'Janssens');
  assert.equal(userinfo.birthdate, '1985-07-30');
  assert.equal(userinfo.national_register_number, '85073003328');
  assert.equal(eidLoginRecord(await auditSince(server, since)).result, 'ok');
});

test('the signing key of the token is refused: not the authentication certificate', async (t) => {
  const token = 'Els Token';
  await issueCard(server.pkiDir, dir, { name: 'Els Peeters', rrn: '85073003328', pkcs11: { token, soPin: '5678', env } });
  const args = await engineArgs(token, 'Signature');
  // Expected: the page that says to choose "(Authentication)". The
  // signing certificate has keyUsage nonRepudiation only, which GnuTLS
  // refuses in the handshake by default (see eid-refusals.test.mjs).
  const { rows } = await assertRefused(server, rp, args, {
    heading: 'This is not the authentication certificate', code: 'wrong_key_usage', opts: { env },
  });
  assert.equal(rows.find((r) => r.event === 'login').result, 'wrong_key_usage');
});
