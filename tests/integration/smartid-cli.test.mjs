// smartid-cli.test.mjs — the operator's `sleutel smartid list|show|revoke|
// unlock`, run as a process against a real sleuteld (demo PKI) and its
// database.  Devices are registered end to end with the test phone of
// lib/smartid.mjs and a virtual eID card; the commands are then checked
// where they matter: the national number masked, the certificates' serials
// as issued, a lockout lifted (both keys or one), a revoked device ended
// (the device API refuses it) with its pending request failed and both
// certificates "revoked" for the
// OCSP responder (the other device "good"), and every change an audit
// record naming the operator and the person.
import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { startServer } from './lib/harness.mjs';
import { auditMax, auditSince, run, tmp } from './lib/eid.mjs';
import { operatorCli } from './lib/cli.mjs';
import { registerSmartId } from './lib/smartid.mjs';

const JAN = { given: 'Jan', family: 'Peeters', rrn: '85073003328' };
const ELS = { given: 'Els', family: 'Maes', rrn: '90020199704' };

let server;
let dir;
let janPhone; // Jan's first device
let janTablet; // Jan's second device
let elsPhone;
let cli;
let cliJson;
let sql;

before(async () => {
  server = await startServer({ demo: true, config: { smartid: { key_bits: 1024, rate_ip: 1000 } } });
  ({ cli, cliJson, sql } = operatorCli(server));
  dir = tmp('sleutel-sidcli-');
  janPhone = await registerSmartId(server, JAN, { deviceName: 'Pixel 8' });
  janTablet = await registerSmartId(server, JAN, { deviceName: 'Tablet', email: 'jan@new.example.be' });
  elsPhone = await registerSmartId(server, ELS, { deviceName: 'iPhone' });
});
after(async () => {
  await server.stop();
  rmSync(dir, { recursive: true, force: true });
});

// A certificate's serial as openssl prints it (upper-case hex).
async function serialOf(pem, name) {
  const file = path.join(dir, `${name}.pem`);
  writeFileSync(file, pem);
  const { stdout } = await run('openssl', ['x509', '-in', file, '-noout', '-serial']);
  return { file, serial: stdout.trim().replace(/^serial=/, '') };
}

// What the demo PKI's OCSP responder (served by sleuteld) says of a
// certificate, the answer verified against the root.
async function ocsp(certFile) {
  const { stdout: info } = await run('openssl', ['x509', '-in', certFile, '-noout', '-text']);
  const url = info.match(/OCSP - URI:(\S+)/)[1];
  const { stdout, stderr } = await run('openssl', ['ocsp', '-issuer', path.join(server.pkiDir, 'smartid-ca.pem'),
    '-cert', certFile, '-url', url, '-CAfile', path.join(server.pkiDir, 'root.pem'), '-nonce']);
  assert.match(stderr + stdout, /Response verify OK/);
  return stdout.match(/: (good|revoked|unknown)\b/)[1];
}

test('smartid has --help; usage errors exit 2, unknown accounts and devices exit 1', async () => {
  const help = await cli('smartid', '--help');
  assert.equal(help.code, 0);
  for (const verb of ['list', 'show', 'revoke', 'unlock']) assert.match(help.stdout, new RegExp(`smartid ${verb}`));
  const top = await cli('--help');
  assert.match(top.stdout, /smartid \.\.\./);
  for (const args of [['smartid'], ['smartid', 'frob'], ['smartid', 'show'], ['smartid', 'revoke'],
    ['smartid', 'unlock'], ['smartid', 'revoke', 'x', '--reason'], ['smartid', 'revoke', 'x', '--bogus', 'y'],
    ['smartid', 'revoke', 'x', '--reason', 'a\nb'], ['smartid', 'revoke', 'x', '--reason', 'r'.repeat(201)],
    ['smartid', 'unlock', 'x', '--key', 'pin']]) {
    const r = await cli(...args);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
  }
  for (const what of ['no-such-account', 'PNOBE-85073003328-ZZZZ-Q', '85.07.30-033.29', '1234']) {
    const r = await cli('smartid', 'show', what);
    assert.equal(r.code, 1, what);
    assert.match(r.stderr, /no Smart-ID account/);
  }
  for (const verb of ['revoke', 'unlock']) {
    const r = await cli('smartid', verb, 'no-such-device');
    assert.equal(r.code, 1);
    assert.match(r.stderr, /no Smart-ID device no-such-device/);
  }
});

test('smartid list: one account per person, name, national number masked, active devices, status', async () => {
  const list = await cliJson('smartid', 'list');
  assert.equal(list.length, 2);
  const jan = list.find((a) => a.id === janPhone.accountId);
  assert.ok(jan, JSON.stringify(list));
  assert.equal(janTablet.accountId, janPhone.accountId, 'the second device joins the account');
  assert.equal(jan.name, 'Jan Peeters');
  assert.equal(jan.national_number, '85.07.30-xxx.xx');
  assert.equal(jan.devices, 2);
  assert.equal(jan.status, 'active');
  assert.equal(jan.email, 'jan@new.example.be', 'the latest registration\'s answer');
  const els = list.find((a) => a.id === elsPhone.accountId);
  assert.equal(els.devices, 1);
  assert.equal(els.national_number, '90.02.01-xxx.xx');
  const text = await cli('smartid', 'list');
  assert.equal(text.code, 0);
  assert.match(text.stdout, /^ACCOUNT_ID +NAME +NATIONAL_NUMBER +STATUS +DEVICES$/m);
  assert.match(text.stdout, new RegExp(`^${jan.id} +Jan Peeters +85\\.07\\.30-xxx\\.xx +active +2$`, 'm'));
  // The full number is on no screen.
  assert.doesNotMatch(text.stdout + JSON.stringify(list), /85073003328|033\.28|90020199704/);
});

test('smartid show: by account id, document number or national number as typed; devices, keys, serials',
  async () => {
    for (const what of [janPhone.accountId, janTablet.document, '85.07.30-033.28', '85073003328']) {
      const s = await cliJson('smartid', 'show', what);
      assert.equal(s.id, janPhone.accountId, what);
      assert.deepEqual(s.device_list.map((d) => d.id), [janPhone.deviceId, janTablet.deviceId]);
    }
    const s = await cliJson('smartid', 'show', janPhone.document);
    const [d1, d2] = s.device_list;
    assert.equal(d1.name, 'Pixel 8');
    assert.equal(d2.name, 'Tablet');
    assert.equal(d1.document_number, janPhone.document);
    assert.match(d1.document_number, /^PNOBE-85073003328-[0-9A-Z]{4}-Q$/);
    assert.equal(d1.status, 'active');
    assert.equal(d1.reason, null);
    assert.equal(typeof d1.created, 'number');
    for (const use of ['auth', 'sign']) {
      const { serial } = await serialOf(janPhone.certificates[use], `jan-${use}`);
      assert.equal(d1.keys[use].certificate_serial.toUpperCase(), serial, use);
      assert.equal(d1.keys[use].failures, 0);
      assert.equal(d1.keys[use].locked_until, null);
    }
    assert.notEqual(d1.keys.auth.certificate_serial, d2.keys.auth.certificate_serial);
    const text = await cli('smartid', 'show', JAN.rrn);
    assert.equal(text.code, 0);
    assert.match(text.stdout, /^national_number +85\.07\.30-xxx\.xx$/m);
    assert.match(text.stdout, new RegExp(`^${janPhone.deviceId} +active +${janPhone.document} `, 'm'));
    assert.match(text.stdout, /^ {2}auth +failures 0, locked until -, certificate [0-9A-Fa-f]+$/m);
  });

test('smartid unlock lifts a PIN lockout: one key with --key, both without; audit records', async () => {
  const dev = janTablet.deviceId;
  const now = Math.floor(Date.now() / 1000);
  await sql(`UPDATE sid_keys SET failures = 3, locked_until = ${now + 3 * 3600} WHERE device_id = '${dev}'` +
    ' AND key_use = \'auth\'');
  await sql(`UPDATE sid_keys SET failures = 9, locked_until = ${2n ** 63n - 1n} WHERE device_id = '${dev}'` +
    ' AND key_use = \'sign\'');
  const keys = async () => (await cliJson('smartid', 'show', janTablet.accountId)).device_list[1].keys;
  let k = await keys();
  assert.deepEqual([k.auth.failures, k.auth.locked_until], [3, now + 3 * 3600]);
  assert.deepEqual([k.sign.failures, k.sign.locked_until], [9, 'forever']);
  const seq = await auditMax(server);
  let r = await cli('smartid', 'unlock', dev, '--key', 'auth');
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /unlocked .*auth/);
  k = await keys();
  assert.deepEqual([k.auth.failures, k.auth.locked_until], [0, null]);
  assert.deepEqual([k.sign.failures, k.sign.locked_until], [9, 'forever'], 'the other key stays locked');
  r = await cli('smartid', 'unlock', dev);
  assert.equal(r.code, 0, r.stderr);
  k = await keys();
  assert.deepEqual([k.sign.failures, k.sign.locked_until], [0, null]);
  const rows = (await auditSince(server, seq)).filter((a) => a.event === 'smartid.unlock');
  assert.equal(rows.length, 2);
  assert.match(rows[0].detail, new RegExp(`^operator \\S+: device ${dev} ${janTablet.document}, auth$`));
  assert.match(rows[1].detail, /both keys$/);
  const [person] = await sql(`SELECT person_id FROM audit WHERE seq = ${rows[0].seq}`);
  const [acc] = await sql(`SELECT person_id FROM sid_accounts WHERE id = '${janTablet.accountId}'`);
  assert.equal(person.person_id, acc.person_id);
});

test('smartid revoke ends the device, fails its pending request and revokes both certificates (OCSP)',
  async () => {
    const files = {};
    for (const use of ['auth', 'sign']) {
      files[use] = (await serialOf(janPhone.certificates[use], `revoke-${use}`)).file;
      assert.equal(await ocsp(files[use]), 'good', use);
    }
    const other = (await serialOf(janTablet.certificates.auth, 'other-auth')).file;
    assert.equal(await ocsp(other), 'good');
    // A login waiting for Jan's phones.
    const now = Math.floor(Date.now() / 1000);
    await sql('INSERT INTO sid_requests (id, account_id, client_id, action, key_use, hash, digest, padding,'
      + ` status, created, expires) VALUES ('rq-cli', '${janPhone.accountId}', 'rp', 'login', 'auth', 'aA',`
      + ` 'SHA256', 'pkcs1', 'pending', ${now}, ${now + 180})`);
    assert.equal((await janPhone.status()).status, 200, 'the device API answers the phone');
    const seq = await auditMax(server);
    const r = await cli('smartid', 'revoke', janPhone.deviceId, '--reason', 'phone stolen');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`^revoked ${janPhone.deviceId} \\(${janPhone.document}\\)$`, 'm'));
    assert.equal((r.stdout.match(/^revoked certificate [0-9A-Fa-f]+ \((auth|sign)\)$/gm) || []).length, 2);
    const s = await cliJson('smartid', 'show', janPhone.accountId);
    assert.equal(s.device_list[0].status, 'revoked');
    assert.equal(s.device_list[0].reason, 'phone stolen');
    assert.equal(s.device_list[1].status, 'active');
    assert.equal(s.devices, 1);
    assert.deepEqual(await sql('SELECT status FROM sid_requests WHERE id = \'rq-cli\''), [{ status: 'failed' }]);
    assert.equal((await janPhone.status()).status, 401, 'the device API refuses the revoked phone');
    assert.equal((await janTablet.status()).status, 200, 'the other device goes on');
    for (const use of ['auth', 'sign']) assert.equal(await ocsp(files[use]), 'revoked', use);
    assert.equal(await ocsp(other), 'good', 'the other device is untouched');
    const rows = (await auditSince(server, seq)).filter((a) => a.event === 'smartid.revoke');
    assert.equal(rows.length, 1);
    assert.match(rows[0].detail, new RegExp(`device ${janPhone.deviceId} ${janPhone.document} of account `
      + `${janPhone.accountId}: phone stolen; \\d+ sessions ended, \\d+ tokens revoked$`));
    // Once: a revoked device stays as it ended.
    const again = await cli('smartid', 'revoke', janPhone.deviceId);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /is revoked already \(phone stolen\)/);
    // Without --reason the reason is "operator".
    const e = await cli('smartid', 'revoke', elsPhone.deviceId);
    assert.equal(e.code, 0, e.stderr);
    const es = await cliJson('smartid', 'show', elsPhone.accountId);
    assert.equal(es.device_list[0].reason, 'operator');
    assert.equal(es.devices, 0);
    const text = await cli('smartid', 'show', elsPhone.accountId);
    assert.match(text.stdout, /^ {2}ended: operator$/m);
  });
