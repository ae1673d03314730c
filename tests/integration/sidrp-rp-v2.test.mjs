// sidrp-rp-v2.test.mjs — the Smart-ID RP API v2 shape on sleutel
// (`{issuer}/smart-id/v2/`), for RPs not yet migrated, driven by the RP
// client of lib/sidrp-client.mjs written from SK's v2 README: hash +
// hashType, allowedInteractionsOrder as JSON, the verification code over
// the hash (the 7712 rule), authentication / signature / certificate choice
// on etsi and document, PKCS#1 signatures over the hash verified with the
// certificate, v2's end-result names, 471 (no suitable account), 480 (v1),
// a locked key (DOCUMENT_UNUSABLE, where the hosted service says 472),
// 401/403 as v3, 429 past rp_max_running.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { after, before, test } from 'node:test';
import { buildV2Body, displayTextAndPIN, confirmationMessage, vcForHash } from './lib/sidrp-client.mjs';
import { addRp, approve, etsi, JAN, pendingRpRequest, refuse, rpClient, setup, WITH_V2 } from './lib/sidrp-rp.mjs';
import { rrn } from './lib/eid.mjs';

const MAX_RUNNING = 3; // [smartid] rp_max_running; each test here runs one session at a time
let ctx;
let rp;
let phone;

before(async () => {
  ctx = await setup({ people: [JAN], rpArgs: WITH_V2,
    config: { smartid: { certificate_level: 'QUALIFIED', rp_max_running: MAX_RUNNING } } });
  rp = ctx.rp;
  phone = ctx.phones[JAN.rrn];
});
after(async () => { await ctx?.server.stop(); });

// The phone gets the v2 request with the hash's code, confirms or refuses;
// the RP long-polls /v2/session.
async function round(s, { refuseWith, interaction } = {}) {
  const rq = await pendingRpRequest(phone, s);
  assert.equal(rq.rp_api.api, 'v2');
  if (s.vc) assert.equal(rq.verification_code, s.vc, 'the phone shows the code of the hash');
  const r = refuseWith ? await refuse(phone, rq, refuseWith, interaction) : (await approve(phone, rq, { interaction })).r;
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return s.waitComplete({ timeoutMs: 5000 });
}

test('v2 authentication by etsi id: the 7712 rule code, a PKCS#1 signature over the RP\'s hash', async () => {
  const hash = crypto.createHash('sha512').update(crypto.randomBytes(64)).digest('base64');
  const s = await rp.startV2('authEtsi', { id: etsi(JAN), hash, hashType: 'SHA512',
    allowedInteractionsOrder: [confirmationMessage('Log in to Demo Bank?'), displayTextAndPIN('Log in')] });
  assert.equal(s.vc, vcForHash(hash));
  const running = await s.status({ timeoutMs: 1000 });
  assert.deepEqual(running.body, { state: 'RUNNING' });
  const st = await round(s);
  const who = s.verify(st, { identity: etsi(JAN) });
  assert.equal(who.documentNumber, phone.document);
  assert.equal(st.interactionFlowUsed, 'confirmationMessage');
  assert.equal(st.signature.algorithm, 'sha512WithRSAEncryption');
});

test('v2 authentication by document number, SHA256 and SHA384', async () => {
  for (const hashType of ['SHA256', 'SHA384']) {
    const s = await rp.startV2('authDocument', { id: phone.document, hashType });
    s.verify(await round(s), { identity: etsi(JAN) });
  }
});

test('v2 signature by etsi id and by document number', async () => {
  const s = await rp.startV2('signEtsi', { id: etsi(JAN), data: Buffer.from('v2 document') });
  const st = await round(s);
  s.verify(st, { identity: etsi(JAN) });
  assert.equal(new crypto.X509Certificate(Buffer.from(st.cert.value, 'base64')).fingerprint256,
    new crypto.X509Certificate(phone.certificates.sign).fingerprint256);
  const s2 = await rp.startV2('signDocument', { id: phone.document, data: Buffer.from('v2 document 2') });
  s2.verify(await round(s2), { identity: etsi(JAN) });
});

test('v2 certificate choice by etsi id and by document number', async () => {
  for (const ep of ['certChoiceEtsi', 'certChoiceDocument']) {
    const s = await rp.startV2(ep, { id: ep === 'certChoiceEtsi' ? etsi(JAN) : phone.document });
    const st = await round(s);
    const who = s.verify(st, { identity: etsi(JAN) });
    assert.equal(who.documentNumber, phone.document);
  }
});

test('v2 end results by interaction: USER_REFUSED_DISPLAYTEXTANDPIN, USER_REFUSED_CONFIRMATIONMESSAGE, ...', async () => {
  const cases = [
    ['displayTextAndPIN', [displayTextAndPIN('x')], 'USER_REFUSED_DISPLAYTEXTANDPIN'],
    ['confirmationMessage', [confirmationMessage('x')], 'USER_REFUSED_CONFIRMATIONMESSAGE'],
    ['confirmationMessageAndVerificationCodeChoice',
      [{ type: 'confirmationMessageAndVerificationCodeChoice', displayText200: 'x' }],
      'USER_REFUSED_CONFIRMATIONMESSAGE_WITH_VC_CHOICE'],
    ['verificationCodeChoice', [{ type: 'verificationCodeChoice', displayText60: 'x' }], 'USER_REFUSED_VC_CHOICE'],
  ];
  for (const [interaction, order, want] of cases) {
    const s = await rp.startV2('authEtsi', { id: etsi(JAN), allowedInteractionsOrder: order });
    const st = await round(s, { refuseWith: 'interaction', interaction });
    assert.equal(st.result.endResult, want, interaction);
  }
  const s = await rp.startV2('signEtsi', { id: etsi(JAN) });
  assert.equal((await round(s, { refuseWith: 'wrong_vc' })).result.endResult, 'WRONG_VC');
  // A nonce: the same body within the idempotency window would be the
  // (finished) certificate choice of the test above.
  const c = await rp.startV2('certChoiceEtsi', { id: etsi(JAN), nonce: 'refuse-choice' });
  assert.equal((await round(c, { refuseWith: 'cert_choice' })).result.endResult, 'USER_REFUSED_CERT_CHOICE');
});

test('v2 errors: 400 on hash/hashType/allowedInteractionsOrder, 404, 471 for QSCD, 480 for v1', async () => {
  const body = (over) => ({ ...buildV2Body('authEtsi', rp, { hash: crypto.randomBytes(64).toString('base64'),
    allowedInteractionsOrder: [displayTextAndPIN('x')] }), ...over });
  const path = `/v2/authentication/etsi/${etsi(JAN)}`;
  for (const over of [{ hashType: 'MD5' }, { hash: crypto.randomBytes(32).toString('base64') }, { hash: '***' },
    { allowedInteractionsOrder: 'displayTextAndPIN' }, { allowedInteractionsOrder: [] },
    { allowedInteractionsOrder: [displayTextAndPIN('x'.repeat(61))] }, { nonce: 'n'.repeat(31) }]) {
    const r = await rp.post(path, body(over));
    assert.equal(r.status, 400, `${JSON.stringify(over).slice(0, 80)}: ${r.status} ${r.text}`);
  }
  assert.equal((await rp.post(`/v2/authentication/etsi/PNOBE-${rrn('700101', 999)}`, body())).status, 404);
  assert.equal((await rp.status(crypto.randomUUID(), { version: 'v2' })).status, 404);
  const qscd = await rp.post(`/v2/signature/etsi/${etsi(JAN)}`, body({ certificateLevel: 'QSCD' }));
  assert.equal(qscd.status, 471, `QSCD on a QUALIFIED operator: ${qscd.text}`);
  assert.equal((await rp.post(`/v1/authentication/etsi/${etsi(JAN)}`, body())).status, 480);
  assert.equal((await rp.post(path, body({ relyingPartyUUID: crypto.randomUUID() }))).status, 403);
  assert.equal((await rp.post(path, body({ relyingPartyName: 'Other Bank' }))).status, 401);
});

// Differences: the hosted service answers 472 ("view the Smart-ID app")
// for an account with a problem; for a locked key sleutel makes the session
// and the phone's answer ends it DOCUMENT_UNUSABLE (472 is for an account
// that is not active: sidrp-api.test.mjs; docs/smart-id.md "Differences").
test('v2 on a locked key: the session is made (no 472) and ends DOCUMENT_UNUSABLE', async () => {
  const s = await rp.startV2('signEtsi', { id: etsi(JAN), nonce: 'lock-1' });
  const rq = await pendingRpRequest(phone, s);
  for (let i = 0; i < 3; i++) assert.equal((await approve(phone, rq, { wrongPin: true })).r.status, 400);
  assert.deepEqual((await s.waitComplete({ timeoutMs: 5000 })).result, { endResult: 'DOCUMENT_UNUSABLE' });
  const again = await rp.startV2('signEtsi', { id: etsi(JAN), nonce: 'lock-2' });
  const rq2 = await pendingRpRequest(phone, again);
  const a = await approve(phone, rq2);
  assert.equal(a.r.status, 403, JSON.stringify(a.r.body));
  assert.equal(a.r.body.error, 'locked');
  assert.deepEqual((await again.waitComplete({ timeoutMs: 5000 })).result, { endResult: 'DOCUMENT_UNUSABLE' });
});

// Differences: the hosted service lists no 429.
test('rp_max_running: one session more than the RP may have running is 429', async () => {
  const running = [];
  for (let i = 0; i < MAX_RUNNING; i++) running.push(await rp.start('authDeviceLinkAnonymous', {}));
  const more = await rp.start('authDeviceLinkAnonymous', {}).catch((e) => e.response);
  assert.equal(more.status, 429, more.text);
  const v2 = await rp.post(`/v2/authentication/etsi/${etsi(JAN)}`, buildV2Body('authEtsi', rp,
    { hash: crypto.randomBytes(64).toString('base64'), allowedInteractionsOrder: [displayTextAndPIN('x')] }));
  assert.equal(v2.status, 429, 'v2 and v3 sessions count together');
});

// v2 signs any hash with the PIN1 key, so it is an opt-in permission:
// `sleutel rp add` without `--permissions ...,v2` gives an RP v3 only.
test('an RP without the v2 permission: 403 on every v2 creation endpoint; v3 still works', async () => {
  const v3only = rpClient(ctx.server, await addRp(ctx.server, 'Demo Bank'));
  const body = (kind) => buildV2Body(kind, v3only, { hash: crypto.randomBytes(64).toString('base64'),
    allowedInteractionsOrder: [displayTextAndPIN('x')] });
  for (const [kind, p] of [['authEtsi', `authentication/etsi/${etsi(JAN)}`],
    ['authDocument', `authentication/document/${phone.document}`], ['signEtsi', `signature/etsi/${etsi(JAN)}`],
    ['signDocument', `signature/document/${phone.document}`],
    ['certChoiceEtsi', `certificatechoice/etsi/${etsi(JAN)}`]]) {
    const r = await v3only.post(`/v2/${p}`, body(kind));
    assert.equal(r.status, 403, `${p}: ${r.status} ${r.text}`);
    assert.equal(r.body.status, 403);
    assert.equal(r.body.title, 'Forbidden');
  }
  const s = await v3only.start('authDeviceLinkAnonymous', {});
  assert.match(s.sessionID, /^[0-9a-f-]{36}$/);
});
