// Progressive enhancement only: every page works without this file.
// Forms marked data-once disable their submit button after the first submit, so a
// double click sends one request (the server is idempotent anyway).
(function () {
  "use strict";
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!(form instanceof HTMLFormElement) || !form.hasAttribute("data-once")) {
      return;
    }
    if (form.dataset.sent === "1") {
      event.preventDefault();
      return;
    }
    form.dataset.sent = "1";
    var buttons = form.querySelectorAll("button[type=submit]");
    window.setTimeout(function () {
      buttons.forEach(function (button) { button.disabled = true; });
    }, 0);
  });
  // Coming back with the browser's back button: make the form usable again.
  window.addEventListener("pageshow", function () {
    document.querySelectorAll("form[data-once]").forEach(function (form) {
      form.dataset.sent = "";
      form.querySelectorAll("button[type=submit]").forEach(function (button) {
        button.disabled = false;
      });
    });
  });
})();
