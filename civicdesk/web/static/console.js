// The operator console's live parts: the screen-pop (Server-Sent Events), the queue
// header, and the form's "suggest" round-trip without reloading the page. Without this
// file the console still works: the form posts, "suggest" re-renders the page filled in.
(function () {
  "use strict";
  var root = document.getElementById("console");
  if (!root || !window.fetch) {
    return;
  }
  var liveState = document.getElementById("live-state");
  var callBox = document.getElementById("console-call");

  function setLive(state) {
    if (!liveState) {
      return;
    }
    liveState.dataset.state = state;
    var text = liveState.querySelector(".live-text");
    if (text) {
      text.textContent = state === "on" ? root.dataset.liveOn : root.dataset.liveOff;
    }
  }

  // ---- the screen-pop ---------------------------------------------------------------
  function showCall(callId) {
    var url = root.dataset.panel + "?call=" + encodeURIComponent(callId);
    return fetch(url, { credentials: "same-origin", headers: { Accept: "text/html" } })
      .then(function (response) {
        if (!response.ok) {
          throw new Error("panel " + response.status);
        }
        return response.text();
      })
      .then(function (html) {
        callBox.innerHTML = html;
        callBox.dataset.popped = callId;
        callBox.dataset.poppedAt = String(Date.now());
        var panel = document.getElementById("call-panel");
        if (panel) {
          panel.classList.add("popped");
        }
        // Keep the address bar on this call: a reload (or no-JS fallback) shows it again.
        if (window.history && window.history.replaceState) {
          window.history.replaceState(null, "", "?call=" + encodeURIComponent(callId));
        }
        var text = document.getElementById("c-text");
        if (text) {
          text.focus();
        }
        refreshMetrics();  // the header counts this call at once
      });
  }

  // A half-typed appeal is never thrown away by the next call: it waits for a click.
  var newCall = document.getElementById("new-call");
  var waitingCall = null;

  function unsaved() {
    var text = document.getElementById("c-text");
    var answer = document.getElementById("c-answer");
    return Boolean((text && text.value.trim()) || (answer && answer.value.trim()));
  }

  function popped(callId) {
    var shown = callBox.querySelector("[data-call]");
    var current = shown ? shown.getAttribute("data-call") : "";
    if (current && current !== callId && unsaved() && newCall) {
      waitingCall = callId;
      newCall.hidden = false;
      return;
    }
    showCall(callId).catch(function () { /* the next pop will try again */ });
  }

  if (newCall) {
    document.getElementById("open-call").addEventListener("click", function () {
      newCall.hidden = true;
      if (waitingCall) {
        showCall(waitingCall).catch(function () { newCall.hidden = false; });
        waitingCall = null;
      }
    });
  }

  function listen() {
    if (!window.EventSource) {
      return;
    }
    if (liveState) {
      liveState.hidden = false;  // without JavaScript there is no live state to show
    }
    var source = new EventSource(root.dataset.events);
    source.addEventListener("ready", function () { setLive("on"); });
    source.addEventListener("pop", function (event) {
      var data;
      try {
        data = JSON.parse(event.data);
      } catch (error) {
        return;
      }
      if (data && data.call_id) {
        popped(String(data.call_id));
      }
    });
    // EventSource reconnects by itself (the server asks for 2 s); just say so meanwhile.
    // "on" only after the server's "ready": the response opens before the subscription.
    source.addEventListener("error", function () { setLive("off"); });
  }

  // ---- the queue header ------------------------------------------------------------
  function refreshMetrics() {
    fetch(root.dataset.metrics, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (body) {
        if (!body || !body.cells) {
          return;
        }
        body.cells.forEach(function (cell) {
          var box = root.querySelector('[data-metric="' + cell.name + '"] .metric-value');
          if (box) {
            box.textContent = cell.text;
          }
        });
      })
      .catch(function () { /* keep the last figures */ });
  }

  // ---- the callback's outcome: asked until Asterisk says how it went ------------------
  function followCallback() {
    var box = document.getElementById("callback-status");
    if (!box || box.dataset.final || box.dataset.following) {
      return;
    }
    box.dataset.following = "1";
    var url = root.dataset.callbacks + encodeURIComponent(box.dataset.callback);
    var tries = 0;
    function ask() {
      tries += 1;
      fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (response) { return response.ok ? response.json() : null; })
        .then(function (body) {
          if (!body || !document.body.contains(box)) {
            return;
          }
          var text = box.querySelector(".callback-text");
          if (text) {
            text.textContent = body.text;
          }
          box.dataset.outcome = body.outcome;
          box.classList.toggle("alert-error", body.outcome === "failed");
          box.classList.toggle("alert-success", body.outcome !== "failed");
          if (body.final) {
            box.dataset.final = "1";
            var refresh = box.querySelector(".callback-refresh");
            if (refresh) {
              refresh.hidden = true;
            }
            return;
          }
          if (tries < 300) {  // ten minutes: a callback is over long before
            window.setTimeout(ask, 1500);
          }
        })
        .catch(function () {
          if (tries < 300) {
            window.setTimeout(ask, 3000);
          }
        });
    }
    ask();
  }

  // ---- "suggest": fill the form from the routing dry run ------------------------------
  function setSelect(form, name, value) {
    var select = form.elements[name];
    if (!select || !value) {
      return;
    }
    // Only fill what the operator has not chosen themselves.
    if (select.value === "" && select.querySelector('option[value="' + value + '"]')) {
      select.value = value;
      select.classList.add("suggested");
    }
  }

  function suggest(form, button) {
    var data = new URLSearchParams();
    ["csrf", "text", "phone", "category_code", "district_code", "address"].forEach(function (name) {
      if (form.elements[name]) {
        data.append(name, form.elements[name].value);
      }
    });
    var note = document.getElementById("suggest-note");
    var hints = document.getElementById("repeat-hints");
    button.disabled = true;
    fetch(root.dataset.suggest, {
      method: "POST",
      credentials: "same-origin",
      headers: { Accept: "application/json" },
      body: data
    })
      .then(function (response) { return response.json(); })
      .then(function (body) {
        if (body.error) {
          if (note) {
            note.textContent = body.message || body.error;
          }
          return;
        }
        setSelect(form, "category_code", body.category);
        setSelect(form, "district_code", body.district);
        setSelect(form, "organization_code", body.organization_code);
        setSelect(form, "urgency", body.urgency);
        setSelect(form, "caller_language", body.language);
        if (note) {
          note.textContent = body.note || "";
        }
        if (hints) {
          hints.textContent = "";
          (body.hints || []).forEach(function (hint) {
            var p = document.createElement("p");
            p.className = "note note-warn repeat-hint";
            p.textContent = hint.text;
            hints.appendChild(p);
          });
        }
      })
      .catch(function () { /* the button works without JavaScript too: nothing lost */ })
      .then(function () { button.disabled = false; });
  }

  document.addEventListener("click", function (event) {
    var button = event.target instanceof Element ? event.target.closest("#suggest-button") : null;
    if (!button) {
      return;
    }
    event.preventDefault();
    suggest(button.form, button);
  });

  listen();
  followCallback();
  var every = parseInt(root.dataset.metricsEvery, 10) || 10;
  window.setInterval(refreshMetrics, every * 1000);
})();
