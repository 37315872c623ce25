// Secrets people must take with them (an app password, recovery codes, an authenticator key):
// a button [data-copy="#id"] copies the element's text (or its data-value); [data-download="#id"]
// saves it as a text file (data-filename), made here from what the page shows, since the server
// shows it once and keeps no copy. The clipboard API works only in a secure context (https or
// localhost); elsewhere (compose's default is plain http) the text is selected instead, for the
// person to copy. The buttons stay hidden without this script. No inline script: the CSP allows
// only the gateway's own files.
'use strict';
(function () {
  function textOf(target) {
    if (target.dataset.value) return target.dataset.value;
    var items = target.querySelectorAll('li');
    if (items.length) return Array.prototype.map.call(items, function (li) { return li.textContent.trim(); }).join('\n');
    return target.textContent.trim();
  }
  function say(button, message) {
    var status = document.getElementById(button.getAttribute('aria-describedby') || '');
    if (status) status.textContent = message;
  }
  function select(target) {
    var range = document.createRange();
    range.selectNodeContents(target);
    var selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
  }
  document.querySelectorAll('[data-copy]').forEach(function (button) {
    var target = document.querySelector(button.dataset.copy);
    if (!target) return;
    button.hidden = false;
    button.addEventListener('click', function () {
      var text = textOf(target);
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(text).then(
          function () { say(button, button.dataset.copied); },
          function () { select(target); say(button, button.dataset.selected); }
        );
      } else {
        select(target);
        say(button, button.dataset.selected);
      }
    });
  });
  document.querySelectorAll('[data-download]').forEach(function (button) {
    var target = document.querySelector(button.dataset.download);
    if (!target) return;
    button.hidden = false;
    button.addEventListener('click', function () {
      var url = URL.createObjectURL(new Blob([textOf(target) + '\n'], { type: 'text/plain;charset=utf-8' }));
      var link = document.createElement('a');
      link.href = url;
      link.download = button.dataset.filename || 'codes.txt';
      document.body.appendChild(link);
      link.click();
      link.remove();
      setTimeout(function () { URL.revokeObjectURL(url); }, 1000);
    });
  });
})();
