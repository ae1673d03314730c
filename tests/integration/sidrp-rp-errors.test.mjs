// sidrp-rp-errors.test.mjs — every error class of the Smart-ID RP API v3 on
// sleutel, as the published spec names them, seen by the RP client of
// lib/sidrp-client.mjs: 400 with an RFC 9457 body naming the bad field (a
// representative bad value of every request field), 401 (wrong name,
// address not allowed), 403 (unknown UUID, a disabled RP, no permission),
// 404 (unknown person, document, session; NO_SUITABLE_ACCOUNT_FOUND), 480
// (the v1 path), idempotency (same body → same session; a nonce → another;
// after the window → another), timeoutMs bounds, a result gone after
// rp_result_keep (404), a QR of another second or with a forged authCode,
// and the end results TIMEOUT, USER_REFUSED, WRONG_VC,
// USER_REFUSED_INTERACTION (with details), USER_REFUSED_CERT_CHOICE,
// REQUIRED_INTERACTION_NOT_SUPPORTED_BY_APP, DOCUMENT_UNUSABLE (PIN2 wrong
// three times in a row locks the key).
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { after, before, test } from 'node:test';
import {
  buildBody, confirmationMessage, confirmationMessageAndVerificationCodeChoice, displayTextAndPIN, interactions,
  rpChallenge,
} from './lib/sidrp-client.mjs';
import {
  addRp, approve, assertProblem, CALLBACK, claimLink, cli, ELS, etsi, JAN, pendingRpRequest, refuse, RP_NAME, setup,
} from './lib/sidrp-rp.mjs';
import { rrn } from './lib/eid.mjs';

const ZOE = { given: 'Zoë', family: 'Claes', rrn: rrn('920315', 306) };
const LIFETIME = 10; // [smartid] rp_session_lifetime, its minimum
const KEEP = 10; // [smartid] rp_result_keep, its minimum
const IDEMPOTENCY = 3; // [smartid] rp_idempotency, seconds
let ctx;
let rp;
let jan;
let refused; // a session that ended USER_REFUSED, and when

before(async () => {
  ctx = await setup({ people: [JAN, ELS, ZOE],
    config: { smartid: { rp_session_lifetime: LIFETIME, rp_result_keep: KEEP, rp_idempotency: IDEMPOTENCY, certificate_level: 'QUALIFIED' } } });
  rp = ctx.rp;
  jan = ctx.phones[JAN.rrn];
});
after(async () => { await ctx?.server.stop(); });

const INTER = interactions([displayTextAndPIN('Log in')]);
const authBody = (over = {}) => ({ ...buildBody('authNotificationSemanticId', rp, { rpChallenge: rpChallenge(),
  interactions: INTER, hashAlgorithm: 'SHA-512' }), ...over });
const signBody = (over = {}) => ({ ...buildBody('signDeviceLinkSemanticId', rp, {
  digest: crypto.randomBytes(64).toString('base64'), interactions: INTER, initialCallbackUrl: CALLBACK }), ...over });
const params = (body, p) => ({ ...body, signatureProtocolParameters: { ...body.signatureProtocolParameters, ...p } });
const AUTH = `/v3/authentication/notification/etsi/PNOBE-${JAN.rrn}`;
const SIGN = `/v3/signature/device-link/etsi/PNOBE-${JAN.rrn}`;

test('400: a bad value of every request field, each named in errors[].paramName', async () => {
  const cases = [
    ['relyingPartyUUID', AUTH, authBody({ relyingPartyUUID: 'not-a-uuid' })],
    ['relyingPartyName', AUTH, authBody({ relyingPartyName: undefined })],
    ['certificateLevel', AUTH, authBody({ certificateLevel: 'HIGH' })],
    // QSCD is a signing level only (AuthCertificateLevel: ADVANCED, QUALIFIED).
    ['certificateLevel', AUTH, authBody({ certificateLevel: 'QSCD' })],
    ['signatureProtocol', AUTH, authBody({ signatureProtocol: 'RAW_DIGEST_SIGNATURE' })],
    ['rpChallenge', AUTH, params(authBody(), { rpChallenge: crypto.randomBytes(31).toString('base64') })],
    ['rpChallenge', AUTH, params(authBody(), { rpChallenge: crypto.randomBytes(66).toString('base64') })],
    ['rpChallenge', AUTH, params(authBody(), { rpChallenge: `${'-'.repeat(44)}` })],
    ['signatureAlgorithm', AUTH, params(authBody(), { signatureAlgorithm: 'rsa-sha1' })],
    ['hashAlgorithm', AUTH, params(authBody(), { signatureAlgorithmParameters: { hashAlgorithm: 'MD5' } })],
    ['signatureAlgorithmParameters', AUTH, params(authBody(), { signatureAlgorithmParameters: undefined })],
    ['signatureProtocolParameters', AUTH, authBody({ signatureProtocolParameters: 'x' })],
    ['interactions', AUTH, authBody({ interactions: '%%%' })],
    ['interactions', AUTH, authBody({ interactions: Buffer.from('{"type":"x"}').toString('base64') })],
    ['interactions', AUTH, authBody({ interactions: interactions([]) })],
    ['interactions', AUTH, authBody({ interactions: interactions([displayTextAndPIN('x'.repeat(61))]) })],
    ['interactions', AUTH, authBody({ interactions: interactions([confirmationMessage('x'.repeat(201))]) })],
    ['interactions', AUTH, authBody({ interactions: interactions([{ type: 'verificationCodeChoice', displayText60: 'x' }]) })],
    ['vcType', AUTH, authBody({ vcType: 'alphaNumeric6' })],
    ['vcType', AUTH, authBody({ vcType: undefined })],
    ['requestProperties', AUTH, authBody({ requestProperties: 'yes' })],
    ['capabilities', AUTH, authBody({ capabilities: 'QUALIFIED' })],
    ['digest', SIGN, params(signBody(), { digest: crypto.randomBytes(31).toString('base64') })],
    ['digest', SIGN, params(signBody(), { digest: undefined })],
    ['initialCallbackUrl', SIGN, signBody({ initialCallbackUrl: 'http://bank.example/cb' })],
    ['initialCallbackUrl', SIGN, signBody({ initialCallbackUrl: 'https://bank.example/cb#frag' })],
    ['initialCallbackUrl', SIGN, signBody({ initialCallbackUrl: `https://bank.example/${'a'.repeat(1800)}` })],
    ['nonce', SIGN, signBody({ nonce: 'n'.repeat(31) })],
    ['nonce', SIGN, signBody({ nonce: '' })],
    // confirmationMessageAndVerificationCodeChoice is for notification flows only.
    ['interactions', SIGN, signBody({ interactions: interactions([confirmationMessageAndVerificationCodeChoice('x')]) })],
    ['linkedSessionID', `/v3/signature/notification/linked/${jan.document}`, { ...signBody({ linkedSessionID: 'nope',
      initialCallbackUrl: undefined }) }],
  ];
  for (const [field, path, body] of cases) {
    const r = await rp.post(path, JSON.parse(JSON.stringify(body)));
    assertProblem(r, 400, { paramName: field });
  }
});

test('400: a body that is not a JSON object', async () => {
  assertProblem(await rp.post(AUTH, '{"relyingPartyUUID":'), 400);
  assertProblem(await rp.post(AUTH, '[]'), 400);
  assertProblem(await rp.post(AUTH, '"text"'), 400);
});

test('401: a wrong relyingPartyName, an address not allowed; the name is matched ignoring case', async () => {
  assertProblem(await rp.post(AUTH, authBody({ relyingPartyName: 'Other Bank' })), 401);
  const upper = await rp.post(SIGN, signBody({ relyingPartyName: RP_NAME.toUpperCase() }));
  assert.equal(upper.status, 200, `the name matches case-insensitively: ${upper.text}`);
  const fenced = await addRp(ctx.server, 'Fenced Bank', '--allow-ip', '192.0.2.7,2001:db8::/32');
  const r = await rp.post(AUTH, authBody({ relyingPartyUUID: fenced, relyingPartyName: 'Fenced Bank' }));
  assertProblem(r, 401); // from 127.0.0.1, an RP allowed only from 192.0.2.7 and 2001:db8::/32
  const open = await addRp(ctx.server, 'Local Bank', '--allow-ip', '127.0.0.0/8');
  assert.equal((await rp.post(SIGN, signBody({ relyingPartyUUID: open, relyingPartyName: 'Local Bank' }))).status, 200);
});

test('403: an unknown relyingPartyUUID, a disabled RP, an endpoint outside the RP\'s permissions', async () => {
  // The spec lists "Relying Party with given UUID does not exist" under 403.
  assertProblem(await rp.post(AUTH, authBody({ relyingPartyUUID: crypto.randomUUID() })), 403);
  const uuid = await addRp(ctx.server, 'Closed Bank');
  const body = () => signBody({ relyingPartyUUID: uuid, relyingPartyName: 'Closed Bank' });
  assert.equal((await rp.post(SIGN, body())).status, 200);
  const d = await cli(ctx.server, 'rp', 'disable', uuid);
  assert.equal(d.code, 0, d.stderr);
  assertProblem(await rp.post(SIGN, body()), 403);
  assert.equal((await cli(ctx.server, 'rp', 'enable', uuid)).code, 0);
  assert.equal((await rp.post(SIGN, body())).status, 200);
  const authOnly = await addRp(ctx.server, 'Login Only', '--permissions', 'auth');
  const asIt = { relyingPartyUUID: authOnly, relyingPartyName: 'Login Only' };
  assertProblem(await rp.post(SIGN, signBody(asIt)), 403);
  assertProblem(await rp.post(`/v3/signature/certificate/${jan.document}`, asIt), 403);
  assertProblem(await rp.post('/v3/signature/certificate-choice/device-link/anonymous', asIt), 403);
  const dl = buildBody('authDeviceLinkAnonymous', { uuid: authOnly, name: 'Login Only' },
    { rpChallenge: rpChallenge(), interactions: INTER });
  assert.equal((await rp.post('/v3/authentication/device-link/anonymous', dl)).status, 200);
});

test('404: unknown person, unknown document, unknown session; NO_SUITABLE_ACCOUNT_FOUND for a level above the operator\'s', async () => {
  const nobody = `/v3/authentication/notification/etsi/PNOBE-${rrn('700101', 999)}`;
  assertProblem(await rp.post(nobody, authBody()), 404);
  // Differences: only Belgian national numbers are people here.
  for (const id of ['PASKZ-987654321012', 'PNOEE-30001010004', 'IDCBE-123456789']) {
    assertProblem(await rp.post(`/v3/authentication/notification/etsi/${id}`, authBody()), 404);
  }
  assertProblem(await rp.post(`/v3/authentication/notification/document/PNOBE-${JAN.rrn}-ZZZZ-Q`, authBody()), 404);
  const st = await rp.status(crypto.randomUUID(), { timeoutMs: 1000 });
  assert.equal(st.status, 404);
  // The operator claims QUALIFIED: a QSCD signature finds no suitable account.
  const qscd = await rp.post(SIGN, signBody({ certificateLevel: 'QSCD' }));
  assertProblem(qscd, 404, { code: 'NO_SUITABLE_ACCOUNT_FOUND' });
  const cert = await rp.post(`/v3/signature/certificate/${jan.document}`,
    { relyingPartyUUID: rp.uuid, relyingPartyName: rp.name, certificateLevel: 'QSCD' });
  assert.equal(cert.status, 404);
});

test('480: the v1 path is a client too old', async () => {
  const r = await rp.post(`/v1/authentication/etsi/PNOBE-${JAN.rrn}`, authBody());
  assert.equal(r.status, 480);
});

test('idempotency: the same body returns the same session; a nonce or the window\'s end another', async () => {
  const body = signBody({ nonce: undefined });
  const a = await rp.post(SIGN, body);
  const b = await rp.post(SIGN, body);
  assert.equal(a.status, 200, a.text);
  assert.equal(b.body.sessionID, a.body.sessionID);
  assert.equal(b.body.sessionSecret, a.body.sessionSecret);
  const c = await rp.post(SIGN, { ...body, nonce: 'retry-1' });
  assert.notEqual(c.body.sessionID, a.body.sessionID);
  await new Promise((r) => setTimeout(r, (IDEMPOTENCY + 1) * 1000));
  const d = await rp.post(SIGN, body);
  assert.equal(d.status, 200);
  assert.notEqual(d.body.sessionID, a.body.sessionID);
});

test('timeoutMs: below 1000 or above 120000 or not a number is 400; 1000 long-polls a second', async () => {
  const s = await rp.start('signDeviceLinkSemanticId', { id: etsi(JAN), data: Buffer.from('t') });
  for (const t of [999, 120001, 'abc', -5]) assertProblem(await s.status({ timeoutMs: t }), 400, { paramName: 'timeoutMs' });
  const t0 = Date.now();
  const r = await s.status({ timeoutMs: 1000 });
  assert.equal(r.body.state, 'RUNNING');
  assert.ok(Date.now() - t0 >= 900);
});

test('a long poll wakes up when the person answers', async () => {
  const s = await rp.start('authNotificationSemanticId', { id: etsi(ELS) });
  const poll = s.status({ timeoutMs: 30000 });
  const els = ctx.phones[ELS.rrn];
  const rq = await pendingRpRequest(els, s);
  const t0 = Date.now();
  assert.equal((await refuse(els, rq)).status, 200);
  const r = await poll;
  assert.ok(Date.now() - t0 < 5000, 'answered long before the 30 s poll ends');
  assert.equal(r.body.state, 'COMPLETE');
  assert.equal(r.body.result.endResult, 'USER_REFUSED');
  refused = { s, at: Date.now() };
});

test('end results: USER_REFUSED_INTERACTION with details, WRONG_VC, USER_REFUSED_CERT_CHOICE, REQUIRED_INTERACTION_NOT_SUPPORTED_BY_APP', async () => {
  const els = ctx.phones[ELS.rrn];
  const round = async (endpoint, reason, o = {}) => {
    const s = await rp.start(endpoint, { id: etsi(ELS), ...o });
    const rq = await pendingRpRequest(els, s);
    assert.equal((await refuse(els, rq, reason, o.interaction)).status, 200);
    return s.waitComplete({ timeoutMs: 5000 });
  };
  const inter = interactions([confirmationMessageAndVerificationCodeChoice('Pay 10 EUR?'), displayTextAndPIN('Pay')]);
  let st = await round('authNotificationSemanticId', 'interaction', { interactions: inter,
    interaction: 'confirmationMessageAndVerificationCodeChoice' });
  assert.deepEqual(st.result, { endResult: 'USER_REFUSED_INTERACTION',
    details: { interaction: 'confirmationMessageAndVerificationCodeChoice' } });
  st = await round('authNotificationSemanticId', 'wrong_vc', { interactions: inter });
  assert.equal(st.result.endResult, 'WRONG_VC');
  st = await round('signCertChoiceNotificationSemanticId', 'cert_choice');
  assert.equal(st.result.endResult, 'USER_REFUSED_CERT_CHOICE');
  st = await round('signNotificationSemanticId', 'not_supported', { data: Buffer.from('x') });
  assert.equal(st.result.endResult, 'REQUIRED_INTERACTION_NOT_SUPPORTED_BY_APP');
  assert.equal(st.signature, undefined);
  assert.equal(st.cert, undefined);
});

test('TIMEOUT: nobody answers within rp_session_lifetime; a device link scanned late is refused', async () => {
  const s = await rp.start('authDeviceLinkAnonymous', {});
  // The QR must be the one of this second (within rp_link_skew), with the
  // authCode of this session's secret.
  assert.equal((await claimLink(jan, s.qrAt(60))).status, 410);
  const forged = s.qrNow().replace(/authCode=.*$/, `authCode=${'A'.repeat(43)}`);
  assert.equal((await claimLink(jan, forged)).status, 401);
  const st = await s.waitComplete({ timeoutMs: 5000, deadlineMs: (LIFETIME + 10) * 1000 });
  assert.equal(st.result.endResult, 'TIMEOUT');
  assert.ok(Date.now() - s.receivedAt >= (LIFETIME - 1) * 1000);
  const c = await claimLink(jan, s.qrNow());
  assert.equal(c.status, 410, JSON.stringify(c.body));
  // A result is kept rp_result_keep seconds, then the session is gone.
  // (the TIMEOUT may be seen a little before LIFETIME has passed here: wait
  // out the rest of the keep time rather than assume it is over)
  const rest = refused.at + (KEEP + 1) * 1000 - Date.now();
  if (rest > 0) await new Promise((resolve) => setTimeout(resolve, rest));
  assertProblem(await refused.s.status({ timeoutMs: 1000 }), 404);
});

test('a wrong PIN keeps the session running; three in a row lock the key: DOCUMENT_UNUSABLE', async () => {
  const zoe = ctx.phones[ZOE.rrn];
  const s = await rp.start('signNotificationSemanticId', { id: etsi(ZOE), data: Buffer.from('first') });
  let rq = await pendingRpRequest(zoe, s);
  let a = await approve(zoe, rq, { wrongPin: true });
  assert.equal(a.r.status, 400);
  assert.equal(a.r.body.error, 'wrong_pin');
  assert.deepEqual((await s.status({ timeoutMs: 1000 })).body, { state: 'RUNNING' });
  a = await approve(zoe, rq);
  assert.equal(a.r.status, 200, JSON.stringify(a.r.body));
  s.verify(await s.waitComplete({ timeoutMs: 5000 }), { identity: etsi(ZOE) });

  const s2 = await rp.start('signNotificationSemanticId', { id: etsi(ZOE), data: Buffer.from('second') });
  rq = await pendingRpRequest(zoe, s2);
  for (let i = 0; i < 3; i++) assert.equal((await approve(zoe, rq, { wrongPin: true })).r.status, 400);
  const st = await s2.waitComplete({ timeoutMs: 5000 });
  assert.deepEqual(st.result, { endResult: 'DOCUMENT_UNUSABLE' });
  assert.equal(st.signature, undefined);
});
