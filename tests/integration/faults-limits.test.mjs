// faults-limits.test.mjs — [server] request limits at their edge (issue 12
// item 4, docs/faults.md "Every limit at its edge"): exactly at the limit
// is served, one byte or one parameter past it is refused with a clear
// answer.  One server with every limit set low, so each edge is a few
// hundred bytes away.  Which test covers each other limit: docs/faults.md.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { startServer } from './lib/harness.mjs';

const LIM = { max_body: 2048, max_query: 1024, max_cookie: 512, max_params: 8 };
let server;

before(async () => { server = await startServer({ config: { server: LIM } }); });
after(async () => { await server?.stop(); });

// A refusal a client can read: the status and a JSON error.
async function refusedJson(res, status) {
  assert.equal(res.status, status);
  assert.match(res.headers.get('content-type'), /^application\/json/);
  const body = await res.json();
  assert.equal(typeof body.error, 'string');
  return body;
}

async function served(res) {
  assert.equal(res.status, 200, `served: ${res.status}`);
  await res.arrayBuffer();
}

test('max_query: decoded parameters of exactly max_query bytes are served, one more byte is refused (400)', async () => {
  // Each parameter counts its name, its value and 2 (the = and &).
  const pad = (n) => `${server.base}/jwks?q=${'a'.repeat(n - 'q'.length - 2)}`;
  await served(await fetch(pad(LIM.max_query)));
  await refusedJson(await fetch(pad(LIM.max_query + 1)), 400);
  // Percent-encoded bytes count once decoded: %41 is one byte.
  await served(await fetch(`${server.base}/jwks?q=${'%41'.repeat(LIM.max_query - 3)}`));
});

test('max_params: exactly max_params parameters are served, one more is refused (400)', async () => {
  const q = (n) => new URLSearchParams(Array.from({ length: n }, (_, i) => [`p${i}`, '1']));
  await served(await fetch(`${server.base}/jwks?${q(LIM.max_params)}`));
  await refusedJson(await fetch(`${server.base}/jwks?${q(LIM.max_params + 1)}`), 400);
  // In a form body too.
  const form = (n) => ({ method: 'POST', body: q(n) });
  const at = await fetch(`${server.base}/token`, form(LIM.max_params));
  assert.notEqual(at.status, 400, 'max_params form fields are parsed (the client is then unknown: 401)');
  await refusedJson(at, 401);
  await refusedJson(await fetch(`${server.base}/token`, form(LIM.max_params + 1)), 400);
});

test('max_cookie: a Cookie header of exactly max_cookie bytes is served, one more byte is refused (400)', async () => {
  const cookie = (n) => `x=${'c'.repeat(n - 2)}`;
  await served(await fetch(`${server.base}/jwks`, { headers: { cookie: cookie(LIM.max_cookie) } }));
  await refusedJson(await fetch(`${server.base}/jwks`, { headers: { cookie: cookie(LIM.max_cookie + 1) } }), 400);
});

test('max_body: a body of exactly max_body bytes is read, one more byte is refused (413), with or without Content-Length', async () => {
  const headers = { 'content-type': 'application/x-www-form-urlencoded' };
  const body = (n) => `grant_type=authorization_code&pad=${'b'.repeat(n - 34)}`;
  assert.equal(body(LIM.max_body).length, LIM.max_body);
  // At the limit the body is read and judged: no client, 401.
  await refusedJson(await fetch(`${server.base}/token`, { method: 'POST', headers, body: body(LIM.max_body) }), 401);
  const t = await refusedJson(await fetch(`${server.base}/token`, { method: 'POST', headers, body: body(LIM.max_body + 1) }), 413);
  assert.equal(t.error, 'request_too_large');
  // Chunked (no Content-Length): counted as it arrives.
  const chunked = (s) => ({ method: 'POST', headers, duplex: 'half', body: Readable.from([s.slice(0, 1000), s.slice(1000)]) });
  await refusedJson(await fetch(`${server.base}/token`, chunked(body(LIM.max_body))), 401);
  await refusedJson(await fetch(`${server.base}/token`, chunked(body(LIM.max_body + 1))), 413);
  assert.equal((await fetch(`${server.base}/healthz`)).status, 200);
});
