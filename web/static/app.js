// dbfleet web UI behaviour. Everything works without JavaScript; this file
// only adds live refresh, confirmations, default ports and busy buttons.
// Loaded with <script defer>; no inline scripts (the CSP forbids them).
(function () {
  'use strict';

  // Live regions: <div data-refresh="URL" data-interval="SECONDS"> is
  // replaced by the HTML that URL returns, every SECONDS while the tab is
  // visible. A 401 (session ended) stops the refresh and marks it stale.
  function live(el) {
    var url = el.getAttribute('data-refresh');
    var secs = parseInt(el.getAttribute('data-interval'), 10) || 10;
    var busy = false;
    var stopped = false;
    var timer = null;

    function tick() {
      if (stopped || busy || document.hidden) {
        return;
      }
      busy = true;
      fetch(url, {
        credentials: 'same-origin',
        cache: 'no-store',
        redirect: 'error',
        headers: { 'Accept': 'text/html', 'X-Requested-With': 'fetch' }
      }).then(function (resp) {
        if (resp.status === 401 || resp.status === 403) {
          stopped = true;
          clearInterval(timer);
          throw new Error('session ended');
        }
        if (!resp.ok) {
          throw new Error('HTTP ' + resp.status);
        }
        return resp.text();
      }).then(function (html) {
        el.innerHTML = html;
        el.classList.remove('stale');
        el.setAttribute('data-refreshed', String(Date.now()));
      }).catch(function () {
        el.classList.add('stale');
      }).then(function () {
        busy = false;
      });
    }

    timer = setInterval(tick, secs * 1000);
    document.addEventListener('visibilitychange', function () {
      if (!document.hidden) {
        tick();
      }
    });
  }

  // <form data-confirm="Really?"> asks before submitting.
  // <form data-busy="Checking…"> disables its button and relabels it while
  // the request runs (a check may take a few seconds).
  document.addEventListener('submit', function (e) {
    var form = e.target;
    var msg = form.getAttribute('data-confirm');
    if (msg && !window.confirm(msg)) {
      e.preventDefault();
      return;
    }
    var busy = form.getAttribute('data-busy');
    if (busy) {
      var btn = form.querySelector('button[type=submit], button:not([type])');
      if (btn) {
        // Defer so the submission is built before the button is disabled.
        setTimeout(function () {
          btn.disabled = true;
          btn.textContent = busy;
        }, 0);
      }
    }
  });

  // <select data-autosubmit> submits its form when changed (filters).
  document.addEventListener('change', function (e) {
    var el = e.target;
    if (el.matches && el.matches('select[data-autosubmit]') && el.form) {
      el.form.submit();
    }
  });

  // <select data-port-for="ID"> whose options carry data-port: choosing an
  // engine fills the port field with its default unless the user typed one.
  function defaultPorts(sel) {
    var input = document.getElementById(sel.getAttribute('data-port-for'));
    if (!input) {
      return;
    }
    var last = '';
    function portOf() {
      var opt = sel.options[sel.selectedIndex];
      return opt ? (opt.getAttribute('data-port') || '') : '';
    }
    function apply() {
      var p = portOf();
      if (input.value === '' || input.value === last) {
        input.value = p;
      }
      last = p;
    }
    last = input.value === portOf() ? input.value : '';
    if (input.value === '') {
      apply();
    }
    sel.addEventListener('change', apply);
  }

  function init() {
    Array.prototype.forEach.call(document.querySelectorAll('[data-refresh]'), live);
    Array.prototype.forEach.call(document.querySelectorAll('select[data-port-for]'), defaultPorts);
  }

  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', init);
  } else {
    init();
  }
}());
