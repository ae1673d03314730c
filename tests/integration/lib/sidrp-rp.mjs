// sidrp-rp.mjs — the fixture of the sidrp-rp*.test.mjs files: a sleuteld
// with the demo PKI, a relying party added by the operator's `sleutel rp
// add`, people registered with the test phone (lib/smartid.mjs, whose
// claimLink/answerRp answer RP API requests as docs/smart-id.md "Device
// side" says), the RP client (lib/sidrp-client.mjs, written from the
// published spec) pointed at `{issuer}/smart-id`, and the checks of an RFC
// 9457 problem.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { operatorCli } from './cli.mjs';
import { startServer } from './harness.mjs';
import { rrn } from './eid.mjs';
import { registerSmartId } from './smartid.mjs';
import { SidRpClient } from './sidrp-client.mjs';

export const JAN = { given: 'Jan', family: 'Peeters', rrn: rrn('850730', 101) };
export const ELS = { given: 'Els', family: 'Maes', rrn: rrn('900201', 204) };
export const etsi = (person) => `PNOBE-${person.rrn}`;
export const RP_NAME = 'Demo Bank';
export const CALLBACK = 'https://bank.example/smart-id/callback?state=Xyz123';

// `sleutel --config ... args` (lib/cli.mjs); { code, stdout, stderr }
// whatever the exit.
export const cli = (server, ...args) => operatorCli(server).cli(...args);

// `sleutel rp add --name NAME [...]`: the relyingPartyUUID it prints.
export async function addRp(server, name, ...more) {
  const r = await cli(server, 'rp', 'add', '--name', name, ...more);
  assert.equal(r.code, 0, `sleutel rp add: ${r.stderr}`);
  const m = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/.exec(r.stdout);
  assert.ok(m, `sleutel rp add printed no UUID: ${r.stdout}`);
  return m[0];
}

// The RP client of relying party `uuid` on `server`, trusting the demo
// PKI's Smart-ID CA.
export function rpClient(server, uuid, name = RP_NAME, opts = {}) {
  return new SidRpClient({ base: `${server.issuer}/smart-id`, uuid, name,
    ca: readFileSync(path.join(server.pkiDir, 'smartid-ca.pem')), ...opts });
}

// The permissions of an RP that may use v2 as well (`v2` is never a
// default: v2 signs any hash with the PIN1 key).
export const WITH_V2 = ['--permissions', 'auth,sign,cert,v2'];

// A server, one RP (`sleutel rp add` with `rpArgs` more) and `people`
// registered (one phone each).  Returns { server, uuid, rp, phones:
// { [rrn]: phone } }.
export async function setup({ config = {}, people = [JAN], rpArgs = [] } = {}) {
  const { smartid = {}, ...rest } = config;
  const server = await startServer({ demo: true,
    config: { smartid: { key_bits: 1024, rate_ip: 1000, ...smartid }, ...rest } });
  const uuid = await addRp(server, RP_NAME, ...rpArgs);
  const phones = {};
  for (const p of people) phones[p.rrn] = await registerSmartId(server, p, { deviceName: `${p.given}'s phone` });
  return { server, uuid, rp: rpClient(server, uuid), phones };
}

// ---- the phone's side of the RP API (docs/smart-id.md "Device side") ----

// Does request `rq` belong to RP session `s` (an RpSession or
// RpSessionV2)?  By what the RP sent: its rpChallenge, its digest or hash;
// a certificate choice by its action.
export function ofSession(s) {
  const b64u = (b64) => Buffer.from(b64, 'base64').toString('base64url');
  return (rq) => {
    if (s.kind === 'cert') return rq.action === 'cert';
    if (s.inputs.rpChallenge) return rq.rp_api.rp_challenge === s.inputs.rpChallenge;
    const h = s.inputs.digest || s.inputs.hash;
    return h !== undefined && rq.hash === b64u(h);
  };
}

// The RP API request on `phone`'s channel (notification flows) of session
// `s` (any RP API request without one): polls GET /requests up to `ms`.
export async function pendingRpRequest(phone, s, { ms = 5000 } = {}) {
  const match = s ? ofSession(s) : () => true;
  const end = Date.now() + ms;
  for (;;) {
    const r = await phone.requests();
    assert.equal(r.status, 200, `GET /requests: ${r.status} ${JSON.stringify(r.body)}`);
    const rq = (r.body.requests || []).find((q) => q.rp_api && match(q));
    if (rq) return rq;
    assert.ok(Date.now() < end, 'no RP API request of this session reached the phone');
    await new Promise((res) => setTimeout(res, 100));
  }
}

// POST /link: the phone scans or opens a device link (the test phone's
// RP API side, lib/smartid.mjs).
export function claimLink(phone, link) {
  return phone.claimLink(link);
}

// Confirm `rq` as the app does (lib/smartid.mjs answerRp: the first
// interaction it supports or `interaction`, a fresh userChallenge for
// ACSP_V2, PIN1/PIN2; `wrongPin`).  Returns { r, verifier, callbackUrl }:
// the callback a same-device flow returns the person to, made as
// docs/smart-id.md says (initialCallbackUrl + sessionSecretDigest +
// userChallengeVerifier).
export async function approve(phone, rq, { interaction, wrongPin = false } = {}) {
  const a = rq.rp_api;
  const ans = await phone.answerRp(rq, { interaction, wrongPin });
  const r = { status: ans.status, body: ans.body };
  let callbackUrl;
  if (a.initial_callback_url && (a.flow_type === 'Web2App' || a.flow_type === 'App2App')) {
    const sep = a.initial_callback_url.includes('?') ? '&' : '?';
    callbackUrl = `${a.initial_callback_url}${sep}sessionSecretDigest=${a.session_secret_digest}` +
      (ans.verifier ? `&userChallengeVerifier=${ans.verifier}` : '');
  }
  return { r, verifier: ans.verifier, callbackUrl };
}

// Refuse `rq` with `reason` (refused, wrong_vc, interaction, cert_choice,
// not_supported) at `interaction`.
export function refuse(phone, rq, reason = 'refused', interaction) {
  return phone.answerRp(rq, { refuse: reason, interaction });
}

// An RFC 9457 problem as the hosted service sends it (application/json).
export function assertProblem(r, status, { paramName, code } = {}) {
  assert.equal(r.status, status, `want ${status}, got ${r.status}: ${r.text}`);
  assert.match(r.headers.get('content-type') || '', /^application\/(problem\+)?json/);
  const b = r.body;
  assert.equal(typeof b, 'object', `no JSON body: ${r.text}`);
  assert.equal(b.type, 'about:blank');
  assert.equal(b.status, status);
  // "usually HTTP status phrase"
  const phrase = { 400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found' }[status];
  if (phrase) assert.equal(b.title, phrase);
  assert.equal(typeof b.detail, 'string');
  assert.ok(b.detail.length > 0);
  if (paramName) {
    assert.ok(Array.isArray(b.errors) && b.errors.length > 0, `no errors[]: ${r.text}`);
    const leaf = paramName.split(/[./]/).pop();
    const e = b.errors.find((x) => typeof x.paramName === 'string' && x.paramName.split(/[./[\]]/).includes(leaf));
    assert.ok(e, `no error for ${paramName}: ${r.text}`);
    assert.equal(typeof e.detail, 'string');
    // ValidationErrorDetail's pointer: RFC 6901 to the same member.
    assert.equal(e.pointer, `/${e.paramName.replace(/\./g, '/')}`);
  }
  if (code) assert.ok((b.errors || []).some((x) => x.code === code), `no errors[].code ${code}: ${r.text}`);
  return b;
}
