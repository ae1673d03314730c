// proxy-xff.test.mjs — whose address a request behind a trusted proxy
// comes from when X-Forwarded-For arrives in several lines.  A client may
// send its own line; a proxy that adds a line of its own (HAProxy's option
// forwardfor) puts the hop it saw on the LAST line.  Believing the first
// line let anyone pose as an allow-listed relying party (review 10,
// finding 1): here an RP allowed only from 10.0.0.1 is refused unless the
// proxy's own (last) line says 10.0.0.1.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import https from 'node:https';
import { startServer, Agent } from './lib/harness.mjs';
import { sqlRows } from './lib/db.mjs';
import { registerRp, codeFlow } from './lib/flows.mjs';
import { operatorCli } from './lib/cli.mjs';

let server;
let uuid;

before(async () => {
  server = await startServer({ demo: true, config: { server: { trusted_proxies: '127.0.0.1' } } });
  const { cli } = operatorCli(server);
  const r = await cli('rp', 'add', '--name', 'Proxied Bank', '--allow-ip', '10.0.0.1');
  assert.equal(r.code, 0, r.stderr);
  uuid = r.stdout.trim();
});
after(async () => {
  await server?.stop();
});

// POST a v3 notification authentication for a person who has no account,
// with X-Forwarded-For as given (an array: one header line each).
function create(xff) {
  const body = JSON.stringify({
    relyingPartyUUID: uuid, relyingPartyName: 'Proxied Bank', signatureProtocol: 'ACSP_V2',
    signatureProtocolParameters: {
      rpChallenge: Buffer.alloc(32, 7).toString('base64'), signatureAlgorithm: 'rsassa-pss',
      signatureAlgorithmParameters: { hashAlgorithm: 'SHA-512' },
    },
    interactions: Buffer.from(JSON.stringify([{ type: 'displayTextAndPIN', displayText60: 'Log in' }]))
      .toString('base64'),
    vcType: 'numeric4',
  });
  const url = new URL('/smart-id/v3/authentication/notification/etsi/PNOBE-85073003328', server.base);
  const headers = { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) };
  if (xff) headers['X-Forwarded-For'] = xff;
  return new Promise((resolve, reject) => {
    const rq = https.request(url, { method: 'POST', headers }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode));
    });
    rq.on('error', reject);
    rq.end(body);
  });
}

test('X-Forwarded-For in two lines: the proxy\'s last line is believed, a first line the client wrote is not', async () => {
  // Authenticated (the person has no account: 404) only when the hop is 10.0.0.1.
  assert.equal(await create(['10.0.0.1']), 404);
  assert.equal(await create(['198.51.100.9, 10.0.0.1']), 404);
  assert.equal(await create(['10.0.0.1', '198.51.100.9']), 401, 'a client-written first line is not believed');
  assert.equal(await create(['198.51.100.9', '10.0.0.1']), 404, 'the proxy\'s own line comes last');
  assert.equal(await create(['10.0.0.1', '198.51.100.9, 203.0.113.4']), 401);
  assert.equal(await create(undefined), 401, 'from the proxy itself (127.0.0.1)');
});

// review7: behind a trusted proxy the audit trail (the citizen's history and
// its export, DESIGN §3 "from which IP") must hold the person's address,
// the hop the proxy saw, as the rate limits and the eID audit rows do
// (server_person_ip) — not the proxy's own address.  The login row
// (oidc/issue.c) and 20 other audit sites use http_client_ip().
class ProxiedAgent extends Agent {
  request(url, opts = {}) {
    return super.request(url, { ...opts, headers: { 'X-Forwarded-For': '203.0.113.9', ...(opts.headers || {}) } });
  }
}

test('review7: a login behind a trusted proxy is audited with the person\'s address, not the proxy\'s', async () => {
  const { c, config } = await registerRp(server);
  await codeFlow(server, config, { agent: new ProxiedAgent() });
  const [au] = sqlRows(server, `SELECT ip FROM audit WHERE event = 'login' AND client_id = '${c.client_id}'
    ORDER BY seq DESC LIMIT 1`);
  assert.ok(au, 'a login row');
  assert.equal(au.ip, '203.0.113.9');
});

// Every audit row takes its address from server_audit_ip (the person's,
// as above); a new audit site that takes http_client_ip (the proxy's
// address behind a trusted proxy) or server_person_ip directly fails here.
// A scan of the C sources: the fields an audit row's address comes from
// (store_audit's au_ip; the app request's as_ip, audited with the request).
test('every audit row\'s address comes from server_audit_ip (source scan)', async () => {
  const { readdirSync, readFileSync } = await import('node:fs');
  const src = new URL('../../src/', import.meta.url);
  const bad = [];
  let sites = 0;
  for (const f of readdirSync(src, { recursive: true })) {
    if (!f.endsWith('.c')) continue;
    const text = readFileSync(new URL(f, src), 'utf8');
    for (const m of text.matchAll(/\b(au_ip|as_ip)\s*=\s*([A-Za-z_]\w*)\s*\(/g)) {
      sites++;
      if (m[2] !== 'server_audit_ip') bad.push(`src/${f}: ${m[1]} = ${m[2]}(…)`);
    }
  }
  assert.ok(sites >= 25, `audit sites found: ${sites}`);
  assert.deepEqual(bad, [], 'audit rows must take server_audit_ip');
});
