// wait.js — the live part of the pages that wait for another device: a
// countdown, and a long-poll that moves the browser on as soon as the login
// is confirmed (or refused, or over) elsewhere.  The server answers 204
// after its wait timeout; the page then asks again.  Every page works
// without this script: it has a "continue" button that does the same.
//
// The box #wait says what to poll (data-poll) and where to go next
// (data-next); the test key's wait page gives only data-req and data-csrf.
// With data-remaining it counts down, and with data-warn it says so in the
// status region once 30 seconds are left (the page has a button for more
// time: WCAG 2.2.1).  On the app login page it also renews the QR code
// each slot (#qr, data-refresh).
(function () {
  'use strict';
  var box = document.getElementById('wait');
  if (!box) return;
  var req = box.getAttribute('data-req');
  var csrf = box.getAttribute('data-csrf');
  var lang = document.documentElement.lang || 'nl';
  var pollUrl = box.getAttribute('data-poll') || ('/login/poll?req=' + encodeURIComponent(req));
  var next = box.getAttribute('data-next') || ('/login/finish?req=' + encodeURIComponent(req) + '&csrf=' +
    encodeURIComponent(csrf) + '&lang=' + encodeURIComponent(lang));
  var counter = document.getElementById('countdown');
  var status = document.getElementById('wait-status');
  var warn = box.getAttribute('data-warn');
  var hasCountdown = box.hasAttribute('data-remaining') && counter;
  var remaining = parseInt(box.getAttribute('data-remaining'), 10) || 0;
  // Once the person submits a form (continue, cancel, more time) the page is
  // leaving: stop polling so no answer races the form's own navigation.
  var leaving = false;
  document.addEventListener('submit', function () { leaving = true; });
  function go() {
    if (leaving) return;
    leaving = true;
    window.location.assign(next);
  }
  if (hasCountdown) {
    var warned = false;
    var timer = setInterval(function () {
      remaining = Math.max(0, remaining - 1);
      counter.textContent = String(remaining);
      if (warn && status && !warned && remaining <= 30 && document.getElementById('extend')) {
        warned = true;
        status.textContent = warn;
      }
      if (remaining === 0) clearInterval(timer);
    }, 1000);
  }
  function poll() {
    if (leaving) return;
    fetch(pollUrl, { credentials: 'same-origin', cache: 'no-store' })
      .then(function (r) {
        if (leaving) return;
        if (r.status === 200 || r.status === 404) { go(); return; }
        if (r.status === 204) { poll(); return; }
        setTimeout(poll, 2000);
      })
      .catch(function () { setTimeout(poll, 2000); });
  }
  poll();

  // The login page's QR code changes every slot (data-rotate seconds): fetch
  // the new one just after the slot turns and swap it in.  #qr is
  // aria-live="off": a screen reader is not told of every new code.
  var qr = document.getElementById('qr');
  var qrUrl = qr && qr.getAttribute('data-refresh');
  var qrLink = document.getElementById('qr-link');
  function refreshQr() {
    if (leaving) return;
    fetch(qrUrl, { credentials: 'same-origin', cache: 'no-store' })
      .then(function (r) { return r.status === 200 ? r.json() : null; })
      .then(function (j) {
        if (leaving || !j || j.status !== 'pending') return; // gone or done: the poll moves the page on
        qr.innerHTML = j.svg;
        qr.setAttribute('data-slot', String(j.slot));
        if (qrLink) {
          qrLink.setAttribute('href', j.link);
          qrLink.setAttribute('data-qr-token', j.link);
        }
        setTimeout(refreshQr, Math.max(1, j.next_in) * 1000 + 100);
      })
      .catch(function () { setTimeout(refreshQr, 2000); });
  }
  if (qrUrl) {
    var rotate = parseInt(qr.getAttribute('data-rotate'), 10) || 5;
    setTimeout(refreshQr, rotate * 1000);
  }
})();
