// rp-cli.test.mjs — the operator's `sleutel rp add|list|show|set|disable|
// enable` (the Smart-ID RP API's relying parties), run as a process against
// a real sleuteld's configuration and database: the relyingPartyUUID a new
// RP gets (a random version-4 UUID, lower-case, a new one each time), what
// is stored (the name as typed, addresses normalised, permissions in
// order), listing, showing, disabling and enabling, every bad input
// refused with a message and exit 2 before anything is written, unknown
// RPs exit 1, and every change an audit record naming the operator.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startServer } from './lib/harness.mjs';
import { auditMax, auditSince } from './lib/eid.mjs';
import { operatorCli } from './lib/cli.mjs';

const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

let server;
let cli;
let cliJson;
let sql;

before(async () => {
  server = await startServer({ config: { smartid: { key_bits: 1024 } } });
  ({ cli, cliJson, sql } = operatorCli(server, { USER: 'operator-ann' }));
});
after(async () => {
  await server.stop();
});

async function rpCount() {
  return (await sql('SELECT count(*) AS n FROM sid_rps'))[0].n;
}

test('rp has --help, is in the top-level help; usage errors exit 2', async () => {
  const help = await cli('rp', '--help');
  assert.equal(help.code, 0);
  for (const verb of ['add', 'list', 'show', 'set', 'disable', 'enable']) assert.match(help.stdout, new RegExp(`rp ${verb}`));
  assert.match((await cli('--help')).stdout, /rp \.\.\./);
  for (const args of [['rp'], ['rp', 'frob'], ['rp', 'show'], ['rp', 'disable'], ['rp', 'enable'],
    ['rp', 'add'], ['rp', 'add', '--name'], ['rp', 'add', '--name', 'A', '--bogus', 'x'],
    ['rp', 'add', '--name', 'A', '--name', 'B'], ['rp', 'list', 'extra'], ['rp', 'disable', 'x', '--json']]) {
    const r = await cli(...args);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    // Bare `rp` prints the usage; everything else says what is wrong.
    if (args.length === 1) assert.match(r.stdout, /^usage: sleutel/);
    else assert.match(r.stderr, /^sleutel: (rp\b|--name)/);
  }
});

test('rp add prints a new random v4 UUID; the RP is stored active with auth, sign, cert, from this host only',
  async () => {
    const r = await cli('rp', 'add', '--name', 'DEMO');
    assert.equal(r.code, 0, r.stderr);
    const uuid = r.stdout.trim();
    assert.match(uuid, UUID_V4);
    assert.equal(r.stdout, `${uuid}\n`, 'only the UUID on stdout');
    const again = (await cli('rp', 'add', '--name', 'DEMO')).stdout.trim();
    assert.match(again, UUID_V4);
    assert.notEqual(again, uuid, 'a new UUID each time, even for the same name');
    const [row] = await sql(`SELECT * FROM sid_rps WHERE uuid = '${uuid}'`);
    assert.equal(row.name, 'DEMO');
    assert.equal(row.allow_ip, '127.0.0.1,::1', 'without --allow-ip: loopback only, never any address');
    assert.equal(row.permissions, 'auth sign cert', 'v2 is never a default');
    assert.equal(r.stderr, '', 'no warning');
    assert.equal(row.status, 'active');
    assert.ok(Math.abs(row.created - Date.now() / 1000) < 60);
  });

test('rp add --json: addresses normalised, permissions in order, the name as typed (UTF-8)', async () => {
  const rp = await cliJson('rp', 'add', '--name', 'Bänk Ëxample', '--allow-ip',
    '192.0.2.77/24, 2001:DB8:0:0::1 ,2001:db8:ff::/32,198.51.100.7', '--permissions', 'sign,auth');
  assert.match(rp.uuid, UUID_V4);
  assert.deepEqual(rp, {
    uuid: rp.uuid, name: 'Bänk Ëxample', status: 'active', created: rp.created, allow_any: false,
    allow_ip: ['192.0.2.0/24', '2001:db8::1', '2001:db8::/32', '198.51.100.7'],
    permissions: ['auth', 'sign'],
  });
  const [row] = await sql(`SELECT name, allow_ip, permissions FROM sid_rps WHERE uuid = '${rp.uuid}'`);
  assert.deepEqual(row, { name: 'Bänk Ëxample', allow_ip: '192.0.2.0/24,2001:db8::1,2001:db8::/32,198.51.100.7',
    permissions: 'auth sign' });
});

test('rp add --uuid keeps the UUID an RP already has (lower-cased); a second time is refused', async () => {
  const uuid = '00000000-0000-4000-8000-0000000000AB';
  const r = await cli('rp', 'add', '--name', 'Migrated', '--uuid', uuid, '--permissions', 'cert');
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout.trim(), uuid.toLowerCase());
  const dup = await cli('rp', 'add', '--name', 'Other', '--uuid', uuid.toLowerCase());
  assert.equal(dup.code, 1);
  assert.match(dup.stderr, /exists already/);
  const shown = await cliJson('rp', 'show', uuid.toLowerCase());
  assert.equal(shown.name, 'Migrated', 'the first registration stays');
  assert.deepEqual(shown.permissions, ['cert']);
});

test('rp add refuses every bad name, address, permission and UUID with a message, writing nothing', async () => {
  const before = await rpCount();
  const bad = [
    [['--name', ''], /name must be 1 to 128 bytes/],
    [['--name', 'x'.repeat(129)], /name must be 1 to 128 bytes/],
    [['--name', 'tab\there'], /printable UTF-8/],
    [['--name', 'new\nline'], /printable UTF-8/],
    [['--name', 'del\x7f'], /printable UTF-8/],
    [['--name', 'c1\u0085control'], /printable UTF-8/],
    [['--name', 'A', '--allow-ip', '192.0.2.1/33'], /not an IPv4 or IPv6 address or CIDR/],
    [['--name', 'A', '--allow-ip', '2001:db8::/129'], /not an IPv4 or IPv6 address or CIDR/],
    [['--name', 'A', '--allow-ip', '192.0.2.256'], /not an IPv4 or IPv6 address or CIDR/],
    [['--name', 'A', '--allow-ip', 'example.com'], /not an IPv4 or IPv6 address or CIDR/],
    [['--name', 'A', '--allow-ip', '192.0.2.0/'], /not an IPv4 or IPv6 address or CIDR/],
    [['--name', 'A', '--allow-ip', '192.0.2.0/-1'], /not an IPv4 or IPv6 address or CIDR/],
    [['--name', 'A', '--allow-ip', '192.0.2.0/024'], /not an IPv4 or IPv6 address or CIDR/],
    [['--name', 'A', '--allow-ip', '192.0.2.1,,192.0.2.2'], /an empty item/],
    [['--name', 'A', '--allow-ip', '192.0.2.1,'], /an empty item/],
    [['--name', 'A', '--allow-ip', ''], /an empty item/],
    [['--name', 'A', '--allow-ip', Array.from({ length: 33 }, (_, i) => `192.0.2.${i}`).join(',')],
      /at most 32 addresses/],
    [['--name', 'A', '--permissions', 'auth,login'], /unknown permission "login"/],
    [['--name', 'A', '--permissions', 'V2'], /unknown permission "V2"/],
    [['--name', 'A', '--allow-ip', 'any,192.0.2.1'], /"any" is not an IPv4 or IPv6 address/],
    [['--name', 'A', '--allow-ip', 'ANY'], /"ANY" is not an IPv4 or IPv6 address/],
    [['--name', 'A', '--permissions', ''], /an empty item/],
    [['--name', 'A', '--uuid', 'not-a-uuid'], /is not a UUID/],
    [['--name', 'A', '--uuid', '00000000-0000-4000-8000-00000000000g'], /is not a UUID/],
  ];
  for (const [args, message] of bad) {
    const r = await cli('rp', 'add', ...args);
    assert.equal(r.code, 2, `${JSON.stringify(args)}: ${r.stderr}`);
    assert.match(r.stderr, message, JSON.stringify(args));
    assert.equal(r.stdout, '');
  }
  assert.equal(await rpCount(), before);
  // The limits themselves pass: 128 bytes of name (2-byte letters), 32 addresses.
  const edge = await cli('rp', 'add', '--name', 'é'.repeat(64), '--allow-ip',
    Array.from({ length: 32 }, (_, i) => `192.0.2.${i}`).join(','));
  assert.equal(edge.code, 0, edge.stderr);
  assert.equal(await rpCount(), before + 1);
});

test('rp list and show: every RP, text and JSON; an unknown UUID exits 1', async () => {
  const uuid = (await cli('rp', 'add', '--name', 'Listed Bank', '--allow-ip', '203.0.113.9')).stdout.trim();
  const list = await cliJson('rp', 'list');
  assert.equal(list.length, await rpCount());
  const mine = list.find((r) => r.uuid === uuid);
  assert.deepEqual(mine.allow_ip, ['203.0.113.9']);
  assert.deepEqual(mine.permissions, ['auth', 'sign', 'cert']);
  assert.ok(list.every((r) => UUID_V4.test(r.uuid) || r.uuid.startsWith('00000000-')), JSON.stringify(list));
  const text = await cli('rp', 'list');
  assert.equal(text.code, 0);
  assert.match(text.stdout, /^UUID +STATUS +PERMISSIONS +ALLOW_IP +NAME$/m);
  assert.match(text.stdout, new RegExp(`^${uuid} +active +auth,sign,cert +203\\.0\\.113\\.9 +Listed Bank$`, 'm'));
  const show = await cli('rp', 'show', uuid.toUpperCase());
  assert.equal(show.code, 0, show.stderr);
  assert.match(show.stdout, new RegExp(`^uuid +${uuid}$`, 'm'));
  assert.match(show.stdout, /^name +Listed Bank$/m);
  assert.match(show.stdout, /^allow_ip +203\.0\.113\.9$/m);
  assert.match(show.stdout, /^created +\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/m);
  for (const what of ['nope', '11111111-1111-4111-8111-111111111111']) {
    const r = await cli('rp', 'show', what);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /no relying party/);
  }
});

test('rp disable and enable: the status changes, twice is harmless, each change an audit record', async () => {
  const uuid = (await cli('rp', 'add', '--name', 'Toggled')).stdout.trim();
  const seq = await auditMax(server);
  let r = await cli('rp', 'disable', uuid);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout.trim(), `disabled ${uuid}`);
  assert.equal((await cliJson('rp', 'show', uuid)).status, 'disabled');
  r = await cli('rp', 'disable', uuid);
  assert.equal(r.code, 0);
  assert.match(r.stdout, /disabled already/);
  r = await cli('rp', 'enable', uuid);
  assert.equal(r.code, 0);
  assert.equal((await cliJson('rp', 'show', uuid)).status, 'active');
  const rows = (await auditSince(server, seq)).filter((a) => a.event.startsWith('rp.'));
  assert.deepEqual(rows.map((a) => a.event), ['rp.disable', 'rp.enable'], 'the repeated disable wrote nothing');
  for (const a of rows) {
    assert.equal(a.result, 'ok');
    assert.equal(a.client_id, uuid);
    assert.match(a.detail, /operator operator-ann: rp .* "Toggled"/);
  }
  for (const verb of ['disable', 'enable']) {
    const bad = await cli('rp', verb, '22222222-2222-4222-8222-222222222222');
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /no relying party 22222222-2222-4222-8222-222222222222/);
  }
});

test('rp add is audited with the name, permissions and addresses', async () => {
  const seq = await auditMax(server);
  const uuid = (await cli('rp', 'add', '--name', 'Audited', '--allow-ip', '2001:db8::5', '--permissions',
    'auth')).stdout.trim();
  const rows = (await auditSince(server, seq)).filter((a) => a.event === 'rp.add');
  assert.equal(rows.length, 1);
  assert.equal(rows[0].client_id, uuid);
  assert.equal(rows[0].detail,
    `operator operator-ann: rp ${uuid} "Audited", permissions auth, allow-ip 2001:db8::5`);
});

// Review 10, finding 2: the UUID and name are no secrets, so "any address"
// is asked for explicitly, warned about, and marked wherever RPs are shown.
test('rp add --allow-ip any: stored without a list, a warning on stderr; list and show mark it', async () => {
  const r = await cli('rp', 'add', '--name', 'Open Bank', '--allow-ip', 'any', '--permissions', 'v2,auth');
  assert.equal(r.code, 0, r.stderr);
  const uuid = r.stdout.trim();
  assert.match(uuid, UUID_V4);
  assert.match(r.stderr, /^warning: --allow-ip any: .*any address.*relyingPartyUUID is its only credential/);
  const [row] = await sql(`SELECT allow_ip, permissions FROM sid_rps WHERE uuid = '${uuid}'`);
  assert.deepEqual(row, { allow_ip: null, permissions: 'auth v2' });
  const json = await cliJson('rp', 'show', uuid);
  assert.equal(json.allow_ip, null);
  assert.equal(json.allow_any, true);
  assert.deepEqual(json.permissions, ['auth', 'v2']);
  const mine = (await cliJson('rp', 'list')).find((x) => x.uuid === uuid);
  assert.equal(mine.allow_any, true);
  const list = (await cli('rp', 'list')).stdout;
  assert.match(list, new RegExp(`^${uuid} +active +auth,v2 +any \\(!\\) +Open Bank$`, 'm'));
  assert.match(list, /^\(!\) any address: the relyingPartyUUID is the RP's only credential$/m);
  assert.match((await cli('rp', 'show', uuid)).stdout,
    /^allow_ip +any \(!\): the relyingPartyUUID is the RP's only credential$/m);
  // an RP with a list (the loopback default) is not marked
  const local = (await cli('rp', 'add', '--name', 'Local Bank')).stdout.trim();
  assert.equal((await cliJson('rp', 'show', local)).allow_any, false);
  assert.match((await cli('rp', 'show', local)).stdout, /^allow_ip +127\.0\.0\.1 ::1$/m);
  const seq = await auditMax(server);
  await cli('rp', 'add', '--name', 'Open Too', '--allow-ip', 'any');
  const [audit] = (await auditSince(server, seq)).filter((a) => a.event === 'rp.add');
  assert.match(audit.detail, /allow-ip any$/);
});

// An RP moving to new servers, or one that has not migrated to v3 yet,
// keeps its UUID: `rp set` replaces its addresses or permissions.
test('rp set replaces the addresses or the permissions, keeps the rest, audits; bad input changes nothing', async () => {
  const uuid = (await cli('rp', 'add', '--name', 'Moving Bank', '--allow-ip', '192.0.2.1')).stdout.trim();
  const seq = await auditMax(server);
  let r = await cli('rp', 'set', uuid, '--permissions', 'auth,v2');
  assert.equal(r.code, 0, r.stderr);
  let [row] = await sql(`SELECT allow_ip, permissions FROM sid_rps WHERE uuid = '${uuid}'`);
  assert.deepEqual(row, { allow_ip: '192.0.2.1', permissions: 'auth v2' });
  r = await cli('rp', 'set', uuid, '--allow-ip', '198.51.100.7/24, 2001:db8::1');
  assert.equal(r.code, 0, r.stderr);
  [row] = await sql(`SELECT allow_ip, permissions FROM sid_rps WHERE uuid = '${uuid}'`);
  assert.deepEqual(row, { allow_ip: '198.51.100.0/24,2001:db8::1', permissions: 'auth v2' });
  r = await cli('rp', 'set', uuid, '--allow-ip', 'any');
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /^warning: --allow-ip any/);
  assert.equal((await cliJson('rp', 'show', uuid)).allow_any, true);
  for (const args of [[], ['--allow-ip', '300.1.1.1'], ['--permissions', 'root'], ['--name', 'X'],
    ['--permissions', 'auth', '--permissions', 'sign']]) {
    const bad = await cli('rp', 'set', uuid, ...args);
    assert.equal(bad.code, 2, `${args.join(' ')}: ${bad.stderr}`);
    assert.ok(bad.stderr.length > 0);
  }
  [row] = await sql(`SELECT allow_ip, permissions FROM sid_rps WHERE uuid = '${uuid}'`);
  assert.deepEqual(row, { allow_ip: null, permissions: 'auth v2' }, 'refused input wrote nothing');
  assert.equal((await cli('rp', 'set', '22222222-2222-4222-8222-222222222222', '--permissions', 'auth')).code, 1);
  const rows = (await auditSince(server, seq)).filter((a) => a.event === 'rp.set');
  assert.deepEqual(rows.map((a) => a.detail), [
    `operator operator-ann: rp ${uuid} "Moving Bank", permissions auth v2, allow-ip 192.0.2.1`,
    `operator operator-ann: rp ${uuid} "Moving Bank", permissions auth v2, allow-ip 198.51.100.0/24,2001:db8::1`,
    `operator operator-ann: rp ${uuid} "Moving Bank", permissions auth v2, allow-ip any`,
  ]);
});

// The name is shown on every phone: no character that could make it read
// otherwise (the RP API refuses such a relyingPartyName too).
test('rp add refuses a name with a bidirectional override or an invisible character', async () => {
  for (const name of ['Bank\u202eknab', 'Ba\u200bnk', '\ufeffBank']) {
    const r = await cli('rp', 'add', '--name', name);
    assert.equal(r.code, 2, JSON.stringify(name));
    assert.match(r.stderr, /name/);
  }
});
