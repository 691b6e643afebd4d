/* The portal's "is it already answered?" (issue 15): likely knowledge-base answers shown
   while the citizen describes the question, before filing. Nothing is sent anywhere but
   the site's own public search; without JavaScript the form works as before. */
(function () {
  "use strict";
  var MIN_CHARS = 15;
  var WAIT_MS = 400;
  var timer = null;
  var asked = "";

  function show(box, hits) {
    var list = box.querySelector("[data-kb-list]");
    list.textContent = "";
    hits.forEach(function (hit) {
      var item = document.createElement("details");
      item.className = "kb-likely-item";
      var summary = document.createElement("summary");
      summary.textContent = hit.title;
      var answer = document.createElement("p");
      answer.className = "kb-likely-answer";
      answer.textContent = hit.answer;
      item.appendChild(summary);
      item.appendChild(answer);
      list.appendChild(item);
    });
    box.hidden = hits.length === 0;
  }

  function search(box, text) {
    text = text.trim();
    if (text.length < MIN_CHARS || text === asked) { if (text.length < MIN_CHARS) { show(box, []); } return; }
    asked = text;
    var url = box.getAttribute("data-kb-search") + "?k=3&lang=" + encodeURIComponent(box.getAttribute("data-lang")) +
      "&q=" + encodeURIComponent(text.slice(0, 2000));
    fetch(url, { headers: { "Accept": "application/json" } })
      .then(function (response) { return response.ok ? response.json() : { hits: [] }; })
      .then(function (body) {
        if (text !== asked) { return; }
        var floor = Number(box.getAttribute("data-min-confidence") || "0.3");
        show(box, (body.hits || []).filter(function (hit) { return hit.confidence >= floor; }));
      })
      .catch(function () { show(box, []); });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var box = document.getElementById("kb-likely");
    var text = document.getElementById("f-text");
    if (!box || !text) { return; }
    text.addEventListener("input", function () {
      window.clearTimeout(timer);
      timer = window.setTimeout(function () { search(box, text.value); }, WAIT_MS);
    });
    if (text.value) { search(box, text.value); }
  });
})();
