// wait.js — the live part of the pages that wait for another device: a
// countdown, and a long-poll that moves the browser on as soon as the login
// is confirmed (or refused, or over) elsewhere.  The server answers 204
// after its wait timeout; the page then asks again.  Every page works
// without this script: it has a "continue" button that does the same.
//
// The box #wait says what to poll (data-poll) and where to go next
// (data-next); the test key's wait page gives only data-req and data-csrf.
// With data-remaining it counts down, says the time left in the status
// region at a few thresholds (data-say-N), and with data-warn offers more
// time once 30 seconds are left (the page has a button: WCAG 2.2.1).  On the app login page it also renews the QR code
// each slot (#qr, data-refresh).
// The login request's own time limit on its form pages (#timelimit: the
// key choice, the app number form, the consent page).  The page says the
// limit in words without script; here, once fewer than 2 minutes are left,
// the status region says so once (a screen reader hears it once) and shows
// it as a notice, and once more when the time is up (data-over): a form
// sent then would only meet the error page.  With a "more time" button
// (#timelimit-more: the form works without script too) the warning says
// to use it.  Back from more time, the focus goes to the line that says so.
// The countdown follows a deadline, as below.
(function () {
  'use strict';
  var box = document.getElementById('timelimit');
  var status = document.getElementById('timelimit-status');
  if (!box || !status || !box.hasAttribute('data-remaining')) return;
  var extended = document.getElementById('timelimit-extended');
  if (extended) extended.focus();
  var WARN_AT = 120;
  var deadline = Date.now() + (parseInt(box.getAttribute('data-remaining'), 10) || 0) * 1000;
  var warned = false;
  var timer = setInterval(function () {
    var left = Math.ceil((deadline - Date.now()) / 1000);
    if (left <= 0) {
      clearInterval(timer);
      status.textContent = box.getAttribute('data-over');
    } else if (left <= WARN_AT && !warned) {
      warned = true;
      status.textContent = box.getAttribute('data-warn');
    } else {
      return;
    }
    status.className = 'status notice';
  }, 1000);
})();
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
  // Nor when the person goes elsewhere (a link, the address bar): a poll
  // answered meanwhile must not pull them back.  Back again from the
  // page cache, the page waits on.
  window.addEventListener('beforeunload', function () { leaving = true; });
  window.addEventListener('pageshow', function (e) {
    if (e.persisted && leaving) { leaving = false; poll(); }
  });
  function go() {
    if (leaving) return;
    leaving = true;
    window.location.assign(next);
  }
  // The countdown follows a deadline, not the ticks: a background tab's
  // timers run late, and the number must stay true.  role="timer" with
  // aria-live="off": a screen reader is not told every second; the status
  // region says it at 2 minutes, 1 minute and 30 seconds (data-say-N),
  // only for thresholds crossed while the page is open, and only the
  // latest when several pass at once.  With a "more time" button the
  // 30-second line offers it (data-warn), and shows as a notice.
  var THRESHOLDS = [120, 60, 30];
  function say(text, notice) {
    if (!status || !text) return;
    status.textContent = text;
    if (notice) status.className = 'status notice';
  }
  // The countdown's text is the translator's plural entry: the server
  // renders it whole (right without script) and gives both forms with %1
  // kept (data-one, data-other); the language's plural rule picks one
  // (nl, de, en: only 1 is singular; fr: 0 and 1).
  var plural = null;
  try { plural = new Intl.PluralRules(lang); } catch (e) { plural = null; }
  function secondsLeft(n) {
    var one = plural ? plural.select(n) === 'one' : n === 1;
    var form = counter.getAttribute(one ? 'data-one' : 'data-other');
    return form ? form.split('%1').join(String(n)) : String(n);
  }
  if (hasCountdown) {
    var deadline = Date.now() + remaining * 1000;
    var said = {};
    var warned = false;
    THRESHOLDS.forEach(function (t) { if (remaining <= t) said[t] = true; });
    var tick = function () {
      remaining = Math.max(0, Math.ceil((deadline - Date.now()) / 1000));
      counter.textContent = secondsLeft(remaining);
      var line = null;
      THRESHOLDS.forEach(function (t) {
        if (!said[t] && remaining <= t) {
          said[t] = true;
          line = box.getAttribute('data-say-' + t);
        }
      });
      if (warn && !warned && remaining <= 30 && remaining > 0 && document.getElementById('extend')) {
        warned = true;
        say(warn, true);
      } else if (line) {
        say(line, remaining <= 30);
      }
      if (remaining === 0) clearInterval(timer);
    };
    var timer = setInterval(tick, 1000);
  }
  // Back from "more time": say so where the focus is (the button that was
  // pressed is gone with the old page).
  var extended = document.getElementById('wait-extended');
  if (extended) extended.focus();
  function poll() {
    if (leaving) return;
    fetch(pollUrl, { credentials: 'same-origin', cache: 'no-store' })
      .then(function (r) {
        if (leaving) return;
        // The app's wait page asks the poll to finish the login (finish=1):
        // its answer then names the RP's address with the code.
        if (r.status === 200) {
          r.json().then(function (j) {
            if (j && typeof j.location === 'string' && !leaving) {
              leaving = true;
              window.location.assign(j.location);
            } else {
              go();
            }
          }, go);
          return;
        }
        if (r.status === 404) { go(); return; }
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

// The app's number form: with this script the server answers the number
// with the wait page itself (inline=1, one request fewer than a redirect),
// and the wait page puts its own address in the history (data-self), so
// a reload asks for the wait page and never posts the number again.
(function () {
  'use strict';
  var inline = document.querySelector('form[action="/key/app/login"] input[name="inline"]');
  if (inline && window.history && typeof window.history.replaceState === 'function') inline.value = '1';
  var box = document.getElementById('wait');
  var self = box && box.getAttribute('data-self');
  // Only on the answer to the post (or the hint): the wait page's own
  // address keeps its query (more=1 after "more time").
  if (self && window.history && typeof window.history.replaceState === 'function' &&
      new URL(self, window.location.href).pathname !== window.location.pathname) {
    window.history.replaceState(null, '', self);
  }
})();
