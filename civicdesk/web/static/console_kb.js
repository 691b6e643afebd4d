/* The quick-answer box: knowledge-base suggestions as the operator types (issue 15).
   Events are delegated from the document: the screen-pop swaps the call panel in.
   Keys: "??" in the answer jumps to the search; in the search, ↑/↓ choose, Enter inserts,
   Alt+1…5 insert a suggestion from anywhere in the form; Esc returns to the answer. */
(function () {
  "use strict";
  var timer = null;
  var lastQuery = null;
  var WAIT_MS = 250;

  function box() { return document.getElementById("kb-slot"); }
  function results() { return document.getElementById("kb-results"); }

  function search(query) {
    var slot = box();
    if (!slot) { return; }
    query = (query || "").trim();
    if (query === lastQuery) { return; }
    lastQuery = query;
    var url = slot.getAttribute("data-kb-url") + "?q=" + encodeURIComponent(query.slice(0, 2000));
    fetch(url, { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (response) { return response.ok ? response.text() : ""; })
      .then(function (html) {
        if (query === lastQuery && results()) { results().innerHTML = html; }
      })
      .catch(function () { /* the box keeps its last suggestions */ });
  }

  function later(query) {
    window.clearTimeout(timer);
    timer = window.setTimeout(function () { search(query); }, WAIT_MS);
  }

  function hits() {
    var list = results();
    return list ? Array.prototype.slice.call(list.querySelectorAll("[data-kb-article]")) : [];
  }

  function selected() {
    var all = hits();
    for (var i = 0; i < all.length; i++) {
      if (all[i].getAttribute("aria-selected") === "true") { return i; }
    }
    return all.length ? 0 : -1;
  }

  function select(index) {
    var all = hits();
    all.forEach(function (item, i) { item.setAttribute("aria-selected", i === index ? "true" : "false"); });
    if (all[index]) { all[index].scrollIntoView({ block: "nearest" }); }
  }

  function insert(articleId) {
    var template = document.querySelector('template[data-kb-text="' + articleId + '"]');
    var answer = document.getElementById("c-answer");
    var chosen = document.getElementById("kb-article");
    if (!template || !answer) { return; }
    answer.value = template.content ? template.content.textContent.trim() : template.textContent.trim();
    if (chosen) { chosen.value = String(articleId); }
    answer.focus();
    answer.setSelectionRange(answer.value.length, answer.value.length);
  }

  document.addEventListener("input", function (event) {
    var target = event.target;
    if (target.id === "kb-q") {
      later(target.value);
    } else if (target.id === "c-text") {
      var own = document.getElementById("kb-q");
      if (!own || !own.value.trim()) { later(target.value); }
    } else if (target.id === "c-answer") {
      var chosen = document.getElementById("kb-article");
      if (target.value.slice(-2) === "??") {
        target.value = target.value.slice(0, -2);
        var field = document.getElementById("kb-q");
        if (field) { field.focus(); }
      } else if (chosen && !target.value.trim()) {
        chosen.value = "";  // the inserted answer was cleared: no article was used
      }
    }
  });

  document.addEventListener("click", function (event) {
    var button = event.target.closest ? event.target.closest("[data-kb-insert]") : null;
    if (button) {
      event.preventDefault();
      insert(button.getAttribute("data-kb-insert"));
    }
  });

  document.addEventListener("keydown", function (event) {
    var target = event.target;
    if (event.altKey && /^[1-5]$/.test(event.key) && target.closest && target.closest("#appeal-form")) {
      var nth = hits()[Number(event.key) - 1];
      if (nth) { event.preventDefault(); insert(nth.getAttribute("data-kb-article")); }
      return;
    }
    if (target.id !== "kb-q") { return; }
    var index = selected();
    if (event.key === "ArrowDown") { event.preventDefault(); select(Math.min(index + 1, hits().length - 1)); }
    else if (event.key === "ArrowUp") { event.preventDefault(); select(Math.max(index - 1, 0)); }
    else if (event.key === "Enter") {
      event.preventDefault();  // never submits the form from the search field
      var all = hits();
      if (all[index]) { insert(all[index].getAttribute("data-kb-article")); }
    } else if (event.key === "Escape") {
      var answer = document.getElementById("c-answer");
      if (answer) { answer.focus(); }
    }
  });

  /* The call's text, when the panel arrives with one (a screen-pop, a refused form). */
  function fromCallText() {
    var text = document.getElementById("c-text");
    lastQuery = null;
    if (text && text.value.trim()) { search(text.value); }
  }
  document.addEventListener("DOMContentLoaded", fromCallText);
  new MutationObserver(function () {
    var slot = box();
    if (slot && !slot.hasAttribute("data-kb-ready")) {
      slot.setAttribute("data-kb-ready", "");
      fromCallText();
    }
  }).observe(document.documentElement, { childList: true, subtree: true });
})();
