// operator.test.mjs — the operator's commands for the app key, run as a
// process against a real sleuteld and its database: `sleutel account`
// (list, show, block, unblock, unlock), `sleutel device` (list, block,
// unblock, remove), `sleutel sms tail` (with --after, --json, --follow),
// and `client add --ciba-mode`.  A phone is enrolled through the device API
// (tests/integration/lib/phone.mjs) with its SMS code read by `sms tail`;
// the operator's changes are then checked where they matter: the portal's
// app login and the device API refuse what is blocked, and every change is
// an audit record.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import path from 'node:path';
import { startServer, Agent, hiddenInputs, SLEUTEL, DEMO_PERSON, trackProcess } from './lib/harness.mjs';
import { sql as dbSql, sqlRows } from './lib/db.mjs';
import { registerRp, authRequest, codeFlow } from './lib/flows.mjs';
import { Phone, enrolPhone, appLoginTokens, appLoginAlive } from './lib/phone.mjs';
import { operatorCli } from './lib/cli.mjs';

let server;
let rp;
let phone; // the enrolled phone: { number, deviceId, accountId }
let cli; // sleutel --config ...: { code, stdout, stderr } whatever the exit status (lib/cli.mjs)
let cliJson;

const sql = (q) => dbSql(server, q);

// The outbox as phone.mjs's SMS gateway: the last code sent to a number,
// read with `sleutel sms tail --json` (one JSON object a line).
const outbox = {
  code(number) {
    const out = execFileSync(SLEUTEL, ['--config', server.configPath, 'sms', 'tail', '--json'], { encoding: 'utf8' });
    const msgs = out.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l)).filter((m) => m.phone === number);
    assert.ok(msgs.length > 0, `no SMS to ${number} in the outbox`);
    return msgs[msgs.length - 1].text.match(/\b(\d{5})\b/)[1];
  },
};

const enrol = (typed, person = DEMO_PERSON) => enrolPhone(server, outbox, typed, person);

// Submit a phone number on the portal's app key page: the response.
async function appLogin(number) {
  const agent = new Agent();
  const { url } = await authRequest(rp.config);
  let res = await agent.get(String(url));
  const req = new URL(res.headers.get('location'), server.base).searchParams.get('req');
  res = await agent.get(`${server.base}/key/app?req=${req}&lang=en`);
  assert.equal(res.status, 200);
  const hidden = hiddenInputs(await res.text());
  return agent.post(`${server.base}/key/app/login`, { ...hidden, phone: number });
}

function audit(event) {
  return sqlRows(server, `SELECT person_id AS person, detail, result FROM audit WHERE event = '${event}' ORDER BY seq`);
}

before(async () => {
  server = await startServer({ config: { app: { rate_phone: 1000, rate_ip: 1000 } } });
  ({ cli, cliJson } = operatorCli(server));
  rp = await registerRp(server);
  phone = await enrol('0470 12 34 56');
});

after(async () => { await server?.stop(); });

test('account, device and sms have --help; usage errors exit 2, unknown ones exit 1', async () => {
  for (const cmd of ['account', 'device', 'sms']) {
    const r = await cli(cmd, '--help');
    assert.equal(r.code, 0, cmd);
    assert.match(r.stdout, new RegExp(`usage: sleutel .*${cmd}`));
    assert.equal((await cli(cmd)).code, 2, `${cmd} without a command`);
    const bad = await cli(cmd, 'frobnicate');
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /unknown command frobnicate/);
  }
  for (const args of [['account', 'show'], ['account', 'block'], ['device', 'list'], ['device', 'remove']]) {
    const r = await cli(...args);
    assert.equal(r.code, 2, args.join(' '));
    assert.match(r.stderr, /which/);
  }
  const top = await cli('--help');
  assert.match(top.stdout, /account \.\.\./);
  assert.match(top.stdout, /sms tail/);
  for (const args of [['account', 'show', '+32499999999'], ['account', 'block', 'no-such-id'],
    ['account', 'unlock', 'letters'], ['device', 'list', '0499 99 99 99']]) {
    const r = await cli(...args);
    assert.equal(r.code, 1, args.join(' '));
    assert.match(r.stderr, /no account/);
    assert.equal(r.stdout, '');
  }
  for (const verb of ['block', 'unblock', 'remove']) {
    const r = await cli('device', verb, 'no-such-device');
    assert.equal(r.code, 1);
    assert.match(r.stderr, /no device no-such-device/);
  }
  const after = await cli('sms', 'tail', '--after', 'x');
  assert.equal(after.code, 1);
  assert.match(after.stderr, /--after/);
});

test('account list and show: phone, name, status, failures, lockout, devices', async () => {
  const list = await cliJson('account', 'list');
  assert.equal(list.length, 1);
  const a = list[0];
  assert.equal(a.id, phone.accountId);
  assert.equal(a.phone, '+32470123456');
  assert.equal(a.name, `${DEMO_PERSON.given_name} ${DEMO_PERSON.family_name}`);
  assert.equal(a.status, 'active');
  assert.equal(a.failures, 0);
  assert.equal(a.locked_until, null);
  assert.equal(a.devices, 1);
  const text = await cli('account', 'list');
  assert.match(text.stdout, /^PHONE +NAME +STATUS +FAILURES +LOCKED UNTIL +DEVICES$/m);
  assert.match(text.stdout, /\+32470123456 +Demo Citizen +active +0 +- +1/);
  // By id, by E.164 and as a person types it: the same account.
  for (const what of [phone.accountId, '+32470123456', '0470/12.34.56', '0032 470 12 34 56']) {
    const s = await cliJson('account', 'show', what);
    assert.equal(s.id, phone.accountId, what);
    assert.deepEqual(s.device_list.map((d) => d.id), [phone.deviceId]);
    assert.equal(s.device_list[0].name, 'Test phone');
  }
  const shown = await cli('account', 'show', '0470123456');
  assert.match(shown.stdout, /^status +active$/m);
  assert.match(shown.stdout, new RegExp(`^${phone.deviceId} +active `, 'm'));
});

test('account block refuses the app login until unblock; both are audit records', async () => {
  let res = await appLogin('0470 12 34 56');
  assert.equal(res.status, 303, 'an active account gets a request');
  const r = await cli('account', 'block', '0470 12 34 56');
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout.trim(), 'blocked +32470123456');
  assert.equal((await cliJson('account', 'show', phone.accountId)).status, 'blocked');
  const before = sql(`SELECT count(*) FROM app_requests WHERE account_id = '${phone.accountId}'`);
  res = await appLogin('0470 12 34 56');
  // The same page as for any number (nothing told), but no request.
  assert.equal(res.status, 303);
  assert.equal(sql(`SELECT count(*) FROM app_requests WHERE account_id = '${phone.accountId}'`), before,
    'a blocked account gets no request');
  assert.equal((await cli('account', 'unblock', phone.accountId)).code, 0);
  assert.equal((await cliJson('account', 'show', phone.accountId)).status, 'active');
  res = await appLogin('0470 12 34 56');
  assert.equal(res.status, 303, 'unblocked: requests again');
  const person = sql(`SELECT person_id FROM accounts WHERE id = '${phone.accountId}'`);
  for (const ev of ['account.block', 'account.unblock']) {
    const rows = audit(ev);
    assert.equal(rows.length, 1, ev);
    assert.equal(rows[0].person, person);
    assert.match(rows[0].detail, /^operator .*\+32470123456/);
  }
});

test('account unlock lifts a lockout: failures back to 0', async () => {
  const until = Math.floor(Date.now() / 1000) + 3 * 3600;
  sql(`UPDATE accounts SET failures = 3, locked_until = ${until} WHERE id = '${phone.accountId}'`);
  let a = await cliJson('account', 'show', phone.accountId);
  assert.equal(a.failures, 3);
  assert.equal(a.locked_until, until);
  const before = sql(`SELECT count(*) FROM app_requests WHERE account_id = '${phone.accountId}'`);
  await appLogin('+32470123456');
  assert.equal(sql(`SELECT count(*) FROM app_requests WHERE account_id = '${phone.accountId}'`), before,
    'a locked account gets no request');
  sql(`UPDATE accounts SET failures = 9, locked_until = ${'9223372036854775807'} WHERE id = '${phone.accountId}'`);
  assert.equal((await cliJson('account', 'show', phone.accountId)).locked_until, 'forever');
  assert.match((await cli('account', 'list')).stdout, /\+32470123456 +Demo Citizen +active +9 +forever/);
  const r = await cli('account', 'unlock', '+32470123456');
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout.trim(), 'unlocked +32470123456');
  a = await cliJson('account', 'show', phone.accountId);
  assert.equal(a.failures, 0);
  assert.equal(a.locked_until, null);
  assert.equal((await appLogin('+32470123456')).status, 303, 'unlocked');
  assert.equal(audit('account.unlock').length, 1);
});

test('device block, unblock and remove: the device API follows', async () => {
  const devices = async () => (await phone.call('GET', '/devices')).status;
  assert.equal(await devices(), 200);
  let r = await cli('device', 'block', phone.deviceId);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout.trim(), `blocked ${phone.deviceId}`);
  assert.equal(await devices(), 401, 'a blocked device is refused');
  const list = await cliJson('device', 'list', '0470 12 34 56');
  assert.deepEqual(list.map((d) => [d.id, d.status]), [[phone.deviceId, 'blocked']]);
  assert.equal((await cli('device', 'unblock', phone.deviceId)).code, 0);
  assert.equal(await devices(), 200, 'unblocked');
  // A second phone of the same person on the same number, then removed.
  const second = await enrol('+32470123456');
  assert.equal(second.accountId, phone.accountId);
  assert.equal((await cliJson('account', 'show', phone.accountId)).devices, 2);
  r = await cli('device', 'remove', second.deviceId);
  assert.equal(r.code, 0, r.stderr);
  assert.equal((await second.call('GET', '/devices')).status, 401, 'a removed device is refused');
  assert.equal((await cliJson('account', 'show', phone.accountId)).devices, 1, 'removed devices are not counted');
  for (const verb of ['unblock', 'block', 'remove']) {
    r = await cli('device', verb, second.deviceId);
    assert.equal(r.code, 1, `${verb} of a removed device`);
    assert.match(r.stderr, /removed/);
  }
  assert.equal(await devices(), 200, 'the other device is untouched');
  for (const ev of ['device.block', 'device.unblock', 'device.remove']) {
    const rows = audit(ev);
    assert.equal(rows.length, 1, ev);
    assert.ok(rows[0].person, `${ev} names the person`);
  }
});

test('sms tail: every message, --after SEQ, text and JSON lines', async () => {
  const all = (await cli('sms', 'tail', '--json')).stdout.trim().split('\n').map((l) => JSON.parse(l));
  assert.ok(all.length >= 2, 'two enrolments, two messages');
  for (let i = 1; i < all.length; i++) assert.ok(all[i].seq > all[i - 1].seq, 'oldest first');
  for (const m of all) {
    assert.deepEqual(Object.keys(m).sort(), ['created', 'phone', 'seq', 'text']);
    assert.equal(m.phone, '+32470123456');
    assert.match(m.text, /\d{5}/);
  }
  const later = (await cli('sms', 'tail', '--json', '--after', String(all[0].seq))).stdout.trim().split('\n');
  assert.equal(later.length, all.length - 1);
  assert.equal((await cli('sms', 'tail', '--after', String(all[all.length - 1].seq))).stdout, '');
  const text = (await cli('sms', 'tail')).stdout;
  assert.match(text, new RegExp(`^${all[0].seq} +\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\dZ +\\+32470123456 +.*\\d{5}`, 'm'));
});

test('sms tail --follow prints new messages as they come, until interrupted', async () => {
  const last = Number(sql('SELECT max(seq) FROM sms_outbox'));
  const proc = trackProcess(spawn(SLEUTEL, ['--config', server.configPath, 'sms', 'tail', '--follow', '--json', '--after', String(last)]), 'sleutel');
  let out = '';
  proc.stdout.on('data', (d) => { out += d; });
  const exited = new Promise((resolve) => proc.on('exit', (code, signal) => resolve({ code, signal })));
  try {
    await new Promise((r) => setTimeout(r, 700));
    assert.equal(out, '', 'nothing new yet');
    const p = await new Phone(server).init();
    const r = await p.start('0470 99 88 77');
    assert.equal(r.status, 201);
    const deadline = Date.now() + 5000;
    while (!out.includes('\n') && Date.now() < deadline) await new Promise((res) => setTimeout(res, 50));
    const m = JSON.parse(out.trim().split('\n')[0]);
    assert.equal(m.phone, '+32470998877');
    assert.ok(m.seq > last);
  } finally {
    proc.kill('SIGINT');
  }
  assert.equal((await exited).signal, 'SIGINT');
});

test('client add --ciba-mode poll|ping --ciba-endpoint, shown by client show', async () => {
  const base = ['client', 'add', '--name', 'Bank', '--redirect-uri', 'https://bank.example/cb'];
  const poll = await cliJson(...base, '--ciba-mode', 'poll');
  assert.equal(poll.ciba_mode, 'poll');
  assert.equal(poll.ciba_endpoint, null);
  const ping = await cliJson(...base, '--ciba-mode', 'ping', '--ciba-endpoint', 'https://bank.example/ciba');
  const shown = await cliJson('client', 'show', ping.client_id);
  assert.equal(shown.ciba_mode, 'ping');
  assert.equal(shown.ciba_endpoint, 'https://bank.example/ciba');
  assert.match((await cli('client', 'show', ping.client_id)).stdout, /^ciba_endpoint +https:\/\/bank\.example\/ciba$/m);
  const local = await cliJson(...base, '--ciba-mode', 'ping', '--ciba-endpoint', 'http://127.0.0.1:8080/ciba');
  assert.equal(local.ciba_endpoint, 'http://127.0.0.1:8080/ciba');
  const plain = await cliJson(...base);
  assert.equal(plain.ciba_mode, null);
  assert.doesNotMatch((await cli('client', 'show', plain.client_id)).stdout, /ciba/, 'no CIBA lines without CIBA');
  assert.equal(sql(`SELECT ciba_mode || ' ' || ciba_endpoint FROM clients WHERE client_id = '${ping.client_id}'`),
    'ping https://bank.example/ciba');
  const cases = [
    [['--ciba-mode', 'push'], /poll or ping/],
    [['--ciba-mode', 'ping'], /needs --ciba-endpoint/],
    [['--ciba-mode', 'poll', '--ciba-endpoint', 'https://bank.example/ciba'], /ping only/],
    [['--ciba-endpoint', 'https://bank.example/ciba'], /goes with --ciba-mode ping/],
    [['--ciba-mode', 'ping', '--ciba-endpoint', 'http://bank.example/ciba'], /https/],
    [['--ciba-mode', 'ping', '--ciba-endpoint', 'http://localhost.evil.example/ciba'], /https/],
    [['--ciba-mode', 'ping', '--ciba-endpoint', 'https://bank.example/ciba#x'], /fragment/],
  ];
  for (const [args, re] of cases) {
    const r = await cli(...base, ...args);
    assert.equal(r.code, 1, args.join(' '));
    assert.match(r.stderr, re, args.join(' '));
  }
});

// secfix3: a block ends what was got through the app: the SSO session of
// an app login and the refresh and access tokens the site got with it
// (sessions and tokens keep the login's amr).  A login of the same person
// with another key (the test key here) goes on.
test('account block and device block end the app logins: SSO session, refresh and access tokens', async () => {
  // The requests the tests above left unanswered would fill the account's
  // pending bound.
  sql(`UPDATE app_requests SET status = 'expired' WHERE status = 'pending'`);
  const other = await codeFlow(server, rp.config, { params: { scope: 'openid offline_access' } });
  let login = await appLoginTokens(server, rp, phone, '+32470123456');
  let r = await cli('account', 'block', phone.accountId);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(await appLoginAlive(server, rp, login), [false, false, false],
    'after account block: [refresh, userinfo, SSO session]');
  assert.match(audit('account.block').at(-1).detail, /; 1 sessions ended, 2 tokens revoked$/);
  assert.equal((await cli('account', 'unblock', phone.accountId)).code, 0);

  login = await appLoginTokens(server, rp, phone, '+32470123456');
  r = await cli('device', 'block', phone.deviceId);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout.trim(), `blocked ${phone.deviceId}`);
  assert.deepEqual(await appLoginAlive(server, rp, login), [false, false, false], 'after device block');
  assert.match(audit('device.block').at(-1).detail, /; 1 sessions ended, 2 tokens revoked$/);
  assert.equal((await cli('device', 'unblock', phone.deviceId)).code, 0);
  assert.deepEqual(await appLoginAlive(server, rp, other), [true, true, true], 'the test-key login goes on');
});

