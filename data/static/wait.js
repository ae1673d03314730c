// wait.js — the wait page's live part: a countdown, and a long-poll that
// moves the browser on as soon as the login is confirmed elsewhere.  The
// server answers 204 after its wait timeout; the page then asks again.
(function () {
  'use strict';
  var box = document.getElementById('wait');
  if (!box) return;
  var req = box.getAttribute('data-req');
  var csrf = box.getAttribute('data-csrf');
  var remaining = parseInt(box.getAttribute('data-remaining'), 10) || 0;
  var counter = document.getElementById('countdown');
  var lang = document.documentElement.lang || 'nl';
  var finish = '/login/finish?req=' + encodeURIComponent(req) + '&csrf=' + encodeURIComponent(csrf) +
    '&lang=' + encodeURIComponent(lang);
  var timer = setInterval(function () {
    remaining = Math.max(0, remaining - 1);
    counter.textContent = String(remaining);
    if (remaining === 0) clearInterval(timer);
  }, 1000);
  // Once the person submits a form (continue, cancel) the page is leaving:
  // stop polling so no answer races the form's own navigation.
  var leaving = false;
  document.addEventListener('submit', function () { leaving = true; });
  function poll() {
    if (leaving) return;
    fetch('/login/poll?req=' + encodeURIComponent(req), { credentials: 'same-origin', cache: 'no-store' })
      .then(function (r) {
        if (leaving) return;
        if (r.status === 200 || r.status === 404) { window.location.assign(finish); return; }
        if (r.status === 204) { poll(); return; }
        setTimeout(poll, 2000);
      })
      .catch(function () { setTimeout(poll, 2000); });
  }
  poll();
})();
