// proofing-bank.test.mjs — identity proofing through a bank: sleutel as an
// OpenID Connect client of the demo bank (npm oidc-provider), end to end
// through the phone's browser: the "leaving for the bank" page, the bank's
// login, the callback; then every way it can go wrong, each with its page,
// the enrolment left in "proofing" and nothing proofed.
import { test, before, after } from 'node:test';
import http from 'node:http';
import assert from 'node:assert/strict';
import { freePort, startServer } from './lib/harness.mjs';
import { startTestBank, makeEnrollment, getEnrollment, proofingAudit, Browser } from './lib/bank.mjs';
import { proofCodeOf } from './lib/phone.mjs';

let server;
let bank; // RS256, claims in the ID token
let esBank; // ES256, claims only at userinfo

before(async () => {
  bank = await startTestBank();
  esBank = await startTestBank({ alg: 'ES256', idTokenClaims: false, name: 'ES Bank' });
  const downPort = await freePort(); // nothing listens there
  server = await startServer({
    config: {
      'bank.demo': bank.config(),
      'bank.es': esBank.config(),
      'bank.down': { ...bank.config(), name: 'Closed Bank', issuer: `http://127.0.0.1:${downPort}` },
    },
  });
  bank.attach(server);
  esBank.attach(server);
});

after(async () => {
  await server?.stop();
  await bank?.close();
  await esBank?.close();
});

const urlFor = (e, { id = 'demo', lang = 'en' } = {}) =>
  `${server.issuer}/proofing/bank/${id}?t=${encodeURIComponent(e.ticket)}&lang=${lang}`;

async function assertStillProofing(e) {
  const row = await getEnrollment(server, e.id);
  assert.equal(row.status, 'proofing');
  assert.equal(row.person, null);
  assert.equal(row.proof_method, null);
}

test('happy path: the bank confirms, the phone types the page\'s code, the enrolment is proofed with the bank\'s person', async () => {
  const e = await makeEnrollment(server, { phone: '+32470123456' });
  const r = await bank.login(urlFor(e));
  assert.equal(r.status, 200, r.text);
  assert.match(r.text, /Type this code in the sleutel app/);
  assert.match(r.text, /Jan Peeters, your identity is confirmed/);
  assert.match(r.text, /id="proof-code">[2-9A-HJ-NP-Z]{4}-[2-9A-HJ-NP-Z]{4}</);
  assert.match(r.text, /ending in …34 56/);
  assert.match(r.text, /Never give this code to anyone/);
  assert.equal(r.redeemed.status, 200, JSON.stringify(r.redeemed.body));
  assert.equal(r.redeemed.body.status, 'proofed');
  assert.deepEqual(r.redeemed.body.person, { given_name: 'Jan', family_name: 'Peeters' });
  const row = await getEnrollment(server, e.id);
  assert.equal(row.status, 'proofed');
  assert.equal(row.proof_method, 'bank:demo');
  assert.deepEqual(JSON.parse(row.person),
    { rrn: '85073003328', given_name: 'Jan', family_name: 'Peeters', birthdate: '1985-07-30' });
  assert.deepEqual(JSON.parse(row.proof_state), {});
  assert.ok((await proofingAudit(server)).some((a) => a.result === 'ok' && a.key === 'bank:demo'));
  // A replay of the same callback: the enrolment is done with proofing.
  const again = await r.browser.request(r.url);
  assert.equal(again.status, 409);
  assert.match(await again.text(), /already confirmed/);
});

test('the page before the bank names the bank and the phone, and posts the ticket', async () => {
  const e = await makeEnrollment(server, { phone: '+32470123456' });
  const res = await fetch(urlFor(e));
  assert.equal(res.status, 200);
  const html = await res.text();
  assert.match(html, /Demo Bank/);
  assert.match(html, /34 56/);
  assert.doesNotMatch(html, /470123456/); // only the end of the number
  assert.match(html, /<form method="post" action="\/proofing\/bank\/demo">/);
  // Showing the page does not spend the ticket: a second look works.
  assert.equal((await fetch(urlFor(e))).status, 200);
});

test('a page elsewhere cannot post the ticket: the form carries a token bound to this browser', async () => {
  // The attack: a site auto-submits the attacker's ticket in the victim's
  // browser, skipping the warning, and the victim's bank login would proof
  // the attacker's enrolment.
  const e = await makeEnrollment(server);
  const post = (form, headers = {}) => fetch(`${server.issuer}/proofing/bank/demo`, {
    method: 'POST', redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams(form) });
  let res = await post({ t: e.ticket, lang: 'en' }, { origin: 'https://evil.example' });
  assert.equal(res.status, 403);
  res = await post({ t: e.ticket, lang: 'en', csrf: 'x'.repeat(43) });
  assert.equal(res.status, 403);
  // A token from the page in another browser does not fit this one.
  const page = await (await fetch(urlFor(e))).text();
  const csrf = /name="csrf" value="([^"]+)"/.exec(page)[1];
  res = await post({ t: e.ticket, lang: 'en', csrf });
  assert.equal(res.status, 403);
  await assertStillProofing(e);
  // The ticket was not spent: the real flow still completes.
  const r = await bank.login(urlFor(e));
  assert.equal(r.status, 200, r.text);
  assert.equal((await getEnrollment(server, e.id)).status, 'proofed');
});

test('claims only at userinfo, ES256 ID token, Zoë with accents and the 2000s number rule', async () => {
  const e = await makeEnrollment(server);
  const r = await esBank.login(urlFor(e, { id: 'es' }), { account: 'zoe' });
  assert.equal(r.status, 200, r.text);
  const row = await getEnrollment(server, e.id);
  assert.equal(row.proof_method, 'bank:es');
  assert.deepEqual(JSON.parse(row.person),
    { rrn: '15030112318', given_name: 'Zoë', family_name: 'Van den Bossche', birthdate: '2015-03-01' });
});

test('a ticket is spent when leaving for the bank: the same link cannot start a second flow', async () => {
  const e = await makeEnrollment(server);
  const r = await bank.login(urlFor(e), { stopAt: 'callback' });
  assert.match(r.url, /\/proofing\/bank\/callback\?/);
  const res = await fetch(urlFor(e));
  assert.equal(res.status, 404);
  assert.match(await res.text(), /no longer valid/);
});

test('bad and unknown tickets, unknown bank, expired enrolment', async () => {
  const e = await makeEnrollment(server);
  for (const t of ['', 'garbage', `${e.id}.AAAAAAAAAAAAAAAAAAAAAA`, `x${e.id}.AAAAAAAAAAAAAAAAAAAAAA`]) {
    const res = await fetch(`${server.issuer}/proofing/bank/demo?t=${encodeURIComponent(t)}`);
    assert.equal(res.status, 404, t);
  }
  assert.equal((await fetch(urlFor(e, { id: 'nosuchbank' }))).status, 404);
  const old = await makeEnrollment(server, { expiresIn: -5 });
  const res = await fetch(urlFor(old));
  assert.equal(res.status, 410);
  assert.match(await res.text(), /expired/);
  const done = await makeEnrollment(server, { status: 'proofed' });
  assert.equal((await fetch(urlFor(done))).status, 409);
});

test('the bank denies (the person cancels): a clear page, still proofing, and "try again" works', async () => {
  const e = await makeEnrollment(server);
  const r = await bank.login(urlFor(e), { cancel: true });
  assert.equal(r.status, 403);
  assert.match(r.text, /did not confirm your identity/);
  assert.match(r.text, /access_denied/);
  await assertStillProofing(e);
  const retry = /<a class="button" href="([^"]+)">Try again<\/a>/.exec(r.text);
  assert.ok(retry, 'a try-again link');
  const again = await bank.login(new URL(retry[1].replace(/&amp;/g, '&'), server.issuer).href,
    { browser: r.browser, account: 'els' });
  assert.equal(again.status, 200, again.text);
  assert.equal(JSON.parse((await getEnrollment(server, e.id)).person).rrn, '90020199704');
});

test('state mismatch: an answer with another state is refused, the real one still completes', async () => {
  const e = await makeEnrollment(server);
  const r = await bank.login(urlFor(e), { stopAt: 'callback' });
  const forged = new URL(r.url);
  forged.searchParams.set('state', `${e.id}.AAAAAAAAAAAAAAAAAAAAAA`);
  let res = await r.browser.request(forged.href);
  assert.equal(res.status, 400);
  assert.match(await res.text(), /invalid_state/);
  const noState = new URL(r.url);
  noState.searchParams.delete('state');
  res = await r.browser.request(noState.href);
  assert.equal(res.status, 400);
  await assertStillProofing(e);
  res = await r.browser.request(r.url);
  assert.equal(res.status, 200);
  assert.equal((await e.app.proofCode(proofCodeOf(await res.text()))).status, 200);
  assert.equal((await getEnrollment(server, e.id)).status, 'proofed');
});

test('the callback in another browser is refused and does not end the flow', async () => {
  const e = await makeEnrollment(server);
  const r = await bank.login(urlFor(e), { stopAt: 'callback' });
  let res = await new Browser().request(r.url);
  assert.equal(res.status, 403);
  assert.match(await res.text(), /other_browser/);
  await assertStillProofing(e);
  res = await r.browser.request(r.url);
  assert.equal(res.status, 200);
});

test('replayed callback after a failure: the state is one-time', async () => {
  const e = await makeEnrollment(server);
  const r = await bank.login(urlFor(e), { cancel: true });
  assert.equal(r.status, 403);
  const res = await r.browser.request(r.url);
  assert.equal(res.status, 400);
  assert.match(await res.text(), /invalid_state/);
  await assertStillProofing(e);
});

test('an ID token with a bad signature is refused', async () => {
  const e = await makeEnrollment(server);
  bank.tamperIdToken = (jwt) => {
    const [h, p, s] = jwt.split('.');
    const i = 10;
    return `${h}.${p}.${s.slice(0, i)}${s[i] === 'A' ? 'B' : 'A'}${s.slice(i + 1)}`;
  };
  try {
    const r = await bank.login(urlFor(e));
    assert.equal(r.status, 502);
    assert.match(r.text, /could not be verified/);
    assert.match(r.text, /invalid_id_token/);
  } finally {
    bank.tamperIdToken = null;
  }
  await assertStillProofing(e);
});

test('an ID token with the claims changed (signed before) is refused', async () => {
  const e = await makeEnrollment(server);
  bank.tamperIdToken = (jwt) => {
    const [h, p, s] = jwt.split('.');
    const claims = JSON.parse(Buffer.from(p, 'base64url'));
    claims.rrn = '90020199704';
    return `${h}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.${s}`;
  };
  try {
    const r = await bank.login(urlFor(e));
    assert.equal(r.status, 502);
  } finally {
    bank.tamperIdToken = null;
  }
  await assertStillProofing(e);
});

test('wrong nonce: an ID token for another login is refused', async () => {
  const e = await makeEnrollment(server);
  const r = await bank.login(urlFor(e), {
    toBank: (u) => { const x = new URL(u); x.searchParams.set('nonce', 'someone-elses-nonce'); return x.href; },
  });
  assert.equal(r.status, 502);
  assert.match(r.text, /invalid_id_token/);
  await assertStillProofing(e);
  assert.ok((await proofingAudit(server)).some((a) => /nonce/.test(a.detail || '')));
});

test('PKCE: a changed code challenge makes the bank refuse the code', async () => {
  const e = await makeEnrollment(server);
  const r = await bank.login(urlFor(e), {
    toBank: (u) => { const x = new URL(u); x.searchParams.set('code_challenge', 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM'); return x.href; },
  });
  assert.equal(r.status, 502);
  await assertStillProofing(e);
});

test('an answer naming another issuer (mix-up) is refused', async () => {
  const e = await makeEnrollment(server);
  const r = await bank.login(urlFor(e), {
    toCallback: (u) => { const x = new URL(u); x.searchParams.set('iss', 'https://evil.example'); return x.href; },
  });
  assert.equal(r.status, 400);
  assert.match(r.text, /wrong_issuer/);
  await assertStillProofing(e);
});

test('review9: a bank that advertises RFC 9207 must send iss: an answer without it is not redeemed', async () => {
  const d = await (await fetch(`${bank.issuer}/.well-known/openid-configuration`)).json();
  assert.equal(d.authorization_response_iss_parameter_supported, true, 'the demo bank advertises iss');
  const e = await makeEnrollment(server);
  const r = await bank.login(urlFor(e), {
    toCallback: (u) => { const x = new URL(u); x.searchParams.delete('iss'); return x.href; },
  });
  assert.equal(r.status, 502, r.text);
  await assertStillProofing(e);
  assert.equal(r.redeemed, null);
});

test('review9: the token and JWKS endpoints of a discovery document must be at the issuer\'s origin unless pinned', async () => {
  // A discovery document at another origin that sends the code and the
  // key fetch to the demo bank's.
  const real = await (await fetch(`${bank.issuer}/.well-known/openid-configuration`)).json();
  const elsewhere = http.createServer((req, res) => {
    const issuer = `http://127.0.0.1:${elsewhere.address().port}`;
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ ...real, issuer,
      authorization_endpoint: `${issuer}/auth` }));
  });
  await new Promise((r) => elsewhere.listen(0, '127.0.0.1', r));
  const issuer = `http://127.0.0.1:${elsewhere.address().port}`;
  const srv = await startServer({ config: {
    'bank.split': { ...bank.config(), issuer },
    'bank.pinned': { ...bank.config(), issuer, endpoint_origins: `https://other.example ${bank.issuer}` },
  } });
  try {
    const go = async (id) => {
      const e = await makeEnrollment(srv);
      return bank.login(`${srv.issuer}/proofing/bank/${id}?t=${encodeURIComponent(e.ticket)}&lang=en`,
        { stopAt: 'callback' });
    };
    const split = await go('split');
    assert.equal(split.status, 502, 'not at the issuer\'s origin: refused before leaving for the bank');
    const pinned = await go('pinned');
    assert.equal(pinned.steps[1], 303, 'pinned: the person leaves for the bank');
    assert.ok(pinned.url.startsWith(`${issuer}/auth?`), pinned.url);
  } finally {
    await srv.stop();
    await new Promise((r) => elsewhere.close(r));
  }
});

test('a customer without a national number: missing_rrn', async () => {
  const e = await makeEnrollment(server);
  const r = await bank.login(urlFor(e), { account: 'anon' });
  assert.equal(r.status, 403);
  assert.match(r.text, /did not give your national register number/);
  assert.match(r.text, /missing_rrn/);
  await assertStillProofing(e);
});

test('an unreachable bank: a clear page, and the ticket stays usable', async () => {
  const e = await makeEnrollment(server);
  const r = await bank.login(urlFor(e, { id: 'down' }));
  assert.equal(r.status, 502);
  assert.match(r.text, /cannot be reached/);
  assert.match(r.text, /bank_unreachable/);
  await assertStillProofing(e);
  assert.equal((await fetch(urlFor(e, { id: 'down' }))).status, 200);
  // The same ticket still goes to a bank that answers.
  const ok = await bank.login(urlFor(e));
  assert.equal(ok.status, 200, ok.text);
});

test('the bank goes down between login and callback: bank_unreachable, still proofing', async () => {
  const other = await startTestBank();
  const srv = await startServer({ config: { 'bank.demo': other.config() } });
  other.attach(srv);
  try {
    const e = await makeEnrollment(srv);
    const r = await other.login(`${srv.issuer}/proofing/bank/demo?t=${encodeURIComponent(e.ticket)}`, { stopAt: 'callback' });
    await other.close();
    const res = await r.browser.request(r.url);
    assert.equal(res.status, 502);
    assert.match(await res.text(), /bank_unreachable/);
    assert.equal((await getEnrollment(srv, e.id)).status, 'proofing');
  } finally {
    await srv.stop();
    await other.close();
  }
});

test('the bank rotates its keys: sleutel fetches the new JWKS and goes on', async () => {
  const e1 = await makeEnrollment(server);
  assert.equal((await bank.login(urlFor(e1))).status, 200);
  bank.rotateKeys();
  const e2 = await makeEnrollment(server);
  const r = await bank.login(urlFor(e2));
  assert.equal(r.status, 200, r.text);
});

test('pages in the enrolment\'s language', async () => {
  const e = await makeEnrollment(server, { lang: 'nl' });
  const res = await fetch(`${server.issuer}/proofing/bank/demo?t=${encodeURIComponent(e.ticket)}`);
  assert.equal(res.status, 200);
  assert.match(await res.text(), /<html lang="nl"/);
});
