// webeid.js — the eID page's Web eID alternative: ask the portal for a
// challenge, hand it to the Web eID browser extension through window
// messages (the page API the web-eid.js library uses: "web-eid:authenticate",
// answered by "-ack", then "-success" with the token or "-failure" with a
// code), post the token back, and follow the portal's answer.  Without the
// extension no acknowledgement comes, and the page says so and points to
// the TLS "Log in" button, which stays the default way.
(function () {
  'use strict';
  var box = document.getElementById('webeid');
  if (!box) return;
  var button = document.getElementById('webeid-start');
  var status = document.getElementById('webeid-status');
  var missing = document.getElementById('webeid-missing');
  var req = box.getAttribute('data-req');
  var csrf = box.getAttribute('data-csrf');
  var lang = document.documentElement.lang || 'nl';
  var ACK_TIMEOUT = 2000; // ms the extension has to acknowledge (web-eid.js: 1 s + load delay)
  var LIBRARY_VERSION = '2.0.0';
  var pending = null; // { nonce, ackTimer }

  function say(text, code) {
    status.textContent = code ? text + ' (' + code + ')' : text;
  }

  function done() {
    if (pending) clearTimeout(pending.ackTimer);
    pending = null;
    button.disabled = false;
  }

  function form(fields) {
    var body = new URLSearchParams();
    Object.keys(fields).forEach(function (k) { body.append(k, fields[k]); });
    return { method: 'POST', credentials: 'same-origin', cache: 'no-store', body: body };
  }

  // The portal's JSON: { redirect } to go on, or { error, message }.
  function answer(r) {
    return r.json().then(function (j) {
      if (r.ok && j.redirect) {
        window.location.assign(j.redirect);
        return;
      }
      say(j.message || box.getAttribute('data-failed'), j.error);
      done();
    });
  }

  function failed(e) {
    say(box.getAttribute('data-failed'), e && e.message ? e.message : '');
    done();
  }

  function sendToken(token) {
    var nonce = pending.nonce;
    fetch('/login/eid/webeid', form({ req: req, csrf: csrf, challenge: nonce, token: JSON.stringify(token) }))
      .then(answer).catch(failed);
  }

  window.addEventListener('message', function (ev) {
    var m = ev.data;
    if (ev.source !== window || !pending || !m || typeof m.action !== 'string') return;
    if (m.action === 'web-eid:authenticate-ack') {
      clearTimeout(pending.ackTimer);
      missing.hidden = true;
    } else if (m.action === 'web-eid:authenticate-success') {
      clearTimeout(pending.ackTimer);
      sendToken({
        unverifiedCertificate: m.unverifiedCertificate, algorithm: m.algorithm, signature: m.signature,
        format: m.format, appVersion: m.appVersion,
      });
    } else if (m.action === 'web-eid:authenticate-failure') {
      var code = m.error && m.error.code ? m.error.code : '';
      say(box.getAttribute(code === 'ERR_WEBEID_USER_CANCELLED' ? 'data-cancelled' : 'data-failed'), code);
      done();
    }
  });

  button.addEventListener('click', function () {
    if (pending) return;
    button.disabled = true;
    missing.hidden = true;
    status.textContent = '';
    fetch('/login/eid/webeid/challenge', form({ req: req, csrf: csrf }))
      .then(function (r) {
        if (!r.ok) return answer(r);
        return r.json().then(function (j) {
          pending = {
            nonce: j.challengeNonce,
            ackTimer: setTimeout(function () { missing.hidden = false; status.textContent = ''; done(); }, ACK_TIMEOUT),
          };
          say(box.getAttribute('data-busy'));
          window.postMessage({
            action: 'web-eid:authenticate', libraryVersion: LIBRARY_VERSION, challengeNonce: j.challengeNonce,
            options: { lang: lang },
          }, window.location.origin);
        });
      })
      .catch(failed);
  });
})();
