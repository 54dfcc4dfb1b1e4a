/* Article assistant widget: one <script src=".../widget.js" defer> tag draws a
 * launcher and a chat panel inside a shadow root and calls {base}/api/ask.
 * Everything from the reader or the API is inserted as text, never as markup.
 * The conversation is kept per tab (sessionStorage) across the blog's pages.
 * No dependencies and no requests to anyone but the script's own origin. */
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script) {
    var all = document.querySelectorAll("script[src]");
    for (var i = all.length - 1; i >= 0 && !script; i--) {
      if (/\/widget\.js(\?|#|$)/.test(all[i].src)) script = all[i];
    }
  }
  if (!script) return;
  var base = new URL(script.src, location.href).origin;
  var data = script.dataset;
  var SITE = {}; // the owner's texts (title, placeholder, note): filled in by the server that sends this file
  var title = data.title || SITE.title || "Ask this article";
  var inline = data.mode === "inline";
  var HISTORY = 6;
  var KEPT = 20; // answered turns kept in sessionStorage
  var KEY = "article-assistant:" + base;

  var STYLES =
    ":host{all:initial!important;display:block!important}" +
    ":host([inline]){height:100%!important;width:100%!important}" +
    ".root{--accent:#2458d3;--bg:#fff;--fg:#1d2330;--muted:#5b6475;--line:#dde1e8;--soft:#f2f4f8;--mark:#fff0a8;--markfg:#1d2330;" +
    "font:15px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;color:var(--fg);text-align:left;direction:ltr}" +
    ".t-dark{--bg:#181b22;--fg:#e8ebf1;--muted:#a3abba;--line:#323846;--soft:#232833;--mark:#5c4d00;--markfg:#fff6cc}" +
    "@media (prefers-color-scheme:dark){.t-auto{--bg:#181b22;--fg:#e8ebf1;--muted:#a3abba;--line:#323846;--soft:#232833;--mark:#5c4d00;--markfg:#fff6cc}}" +
    "*{box-sizing:border-box}" +
    "button,textarea{font:inherit;color:inherit}" +
    ":focus-visible{outline:3px solid var(--accent);outline-offset:2px}" +
    ".launcher{position:fixed;bottom:20px;right:20px;z-index:2147483000;width:56px;height:56px;border-radius:50%;border:0;" +
    "background:var(--accent);color:#fff;cursor:pointer;box-shadow:0 4px 16px rgba(0,0,0,.25);display:flex;align-items:center;justify-content:center;padding:0}" +
    ".left .launcher,.left .panel{right:auto;left:20px}" +
    ".launcher svg{width:28px;height:28px;fill:none;stroke:currentColor;stroke-width:2;stroke-linecap:round;stroke-linejoin:round}" +
    ".panel{position:fixed;bottom:88px;right:20px;z-index:2147483001;width:380px;max-width:calc(100vw - 40px);height:min(600px,80vh);" +
    "display:flex;flex-direction:column;background:var(--bg);color:var(--fg);border:1px solid var(--line);border-radius:14px;" +
    "box-shadow:0 12px 40px rgba(0,0,0,.28);overflow:hidden}" +
    ".panel[hidden]{display:none}" +
    ".inline{height:100%}.inline .panel{position:static;width:100%;max-width:none;height:100%;min-height:min(420px,100vh);border-radius:0;box-shadow:none;border:0}" +
    "@media (max-width:480px){.root:not(.inline) .panel{top:0;left:0;right:0;bottom:0;width:100vw;max-width:none;height:100vh;height:100dvh;border-radius:0;border:0}}" +
    ".bar{display:flex;align-items:center;gap:8px;padding:10px 10px 10px 16px;background:var(--accent);color:#fff}" +
    ".bar h1,.bar h2{flex:1;margin:0;font-size:16px;font-weight:600;line-height:1.3;overflow:hidden;text-overflow:ellipsis;white-space:nowrap}" +
    ".close,.new{border:0;background:transparent;color:#fff;min-width:32px;height:32px;border-radius:8px;cursor:pointer;font-size:22px;line-height:1;padding:0}" +
    ".new{font-size:13px;font-weight:600;padding:0 8px;border:1px solid rgba(255,255,255,.6)}" +
    ".close:hover,.new:hover{background:rgba(255,255,255,.18)}" +
    ".log{position:relative;flex:1;overflow-y:auto;padding:14px;display:flex;flex-direction:column;gap:10px;background:var(--bg)}" +
    ".intro{color:var(--muted);font-size:14px;margin:0}" +
    ".chips{display:flex;flex-wrap:wrap;gap:6px}" +
    ".chip{border:1px solid var(--accent);background:transparent;color:var(--fg);border-radius:16px;padding:4px 10px;font-size:13px;cursor:pointer;text-align:left}" +
    ".chip:hover{background:var(--soft)}" +
    ".msg{max-width:92%;padding:8px 12px;border-radius:12px;white-space:pre-wrap;overflow-wrap:anywhere}" +
    ".user{align-self:flex-end;background:var(--accent);color:#fff;border-bottom-right-radius:4px}" +
    ".bot{align-self:flex-start;background:var(--soft);border-bottom-left-radius:4px}" +
    ".error{align-self:flex-start;background:transparent;border:1px solid #c0392b;color:var(--fg);white-space:normal}" +
    ".error button,.chip{min-height:28px}.error button{margin-left:8px;border:1px solid var(--accent);background:var(--bg);color:var(--fg);border-radius:8px;padding:2px 10px;cursor:pointer}" +
    ".error button:disabled{opacity:.6;cursor:default}" +
    ".ref{color:var(--accent);font-weight:600;text-decoration:none}.t-dark .ref{color:#9db8ff}@media (prefers-color-scheme:dark){.t-auto .ref{color:#9db8ff}}" +
    ".next{margin-top:8px}.next .chip{font-size:12px}" +
    ".cites{list-style:none;margin:8px 0 0;padding:0;display:flex;flex-direction:column;gap:8px;white-space:normal}" +
    ".cites a{color:var(--accent);font-weight:600;font-size:13px;text-decoration:underline}" +
    ".t-dark .cites a{color:#9db8ff}@media (prefers-color-scheme:dark){.t-auto .cites a{color:#9db8ff}}" +
    ".about{margin:0 0 4px;color:var(--muted);font-size:12px;font-style:italic}" +
    ".quote{margin:4px 0 0;padding-left:8px;border-left:3px solid var(--line);color:var(--muted);font-size:13px}" +
    "mark{background:var(--mark);color:var(--markfg);padding:0 1px;border-radius:2px}" +
    ".form{display:flex;gap:8px;padding:10px;border-top:1px solid var(--line);background:var(--bg)}" +
    "textarea{flex:1;resize:none;height:44px;max-height:120px;padding:10px;font-size:16px;border:1px solid var(--line);border-radius:10px;background:var(--bg)}" +
    ".send{border:0;border-radius:10px;padding:0 14px;background:var(--accent);color:#fff;font-weight:600;cursor:pointer}" +
    ".send:disabled{opacity:.55;cursor:default}" +
    ".rate{display:flex;flex-wrap:wrap;align-items:center;gap:6px;margin-top:8px;font-size:13px;color:var(--muted);white-space:normal}" +
    ".rate button{border:1px solid var(--line);background:var(--bg);border-radius:8px;padding:3px 8px;min-width:32px;min-height:28px;cursor:pointer;font-size:13px;line-height:1.4;display:inline-flex;align-items:center;justify-content:center}" +
    ".rate svg{width:16px;height:16px;fill:none;stroke:currentColor;stroke-width:2;stroke-linecap:round;stroke-linejoin:round}" +
    ".rate button[aria-pressed=true]{border-color:var(--accent);background:var(--soft)}" +
    ".note{display:flex;gap:6px;width:100%}.rate input{flex:1;min-width:0;font:inherit;font-size:13px;padding:4px 8px;border:1px solid var(--line);border-radius:8px;background:var(--bg);color:var(--fg)}" +
    ".foot{margin:0;padding:0 12px 8px;font-size:11px;color:var(--muted);text-align:center;background:var(--bg)}";

  // Builds an element; children that are strings become text nodes.
  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    for (var k in attrs || {}) node.setAttribute(k, attrs[k]);
    (children || []).forEach(function (c) {
      node.appendChild(typeof c === "string" ? document.createTextNode(c) : c);
    });
    return node;
  }

  // Line icons as inline SVG (no emoji: not every system has an emoji font).
  var ICONS = {
    chat: "M21 12a8 8 0 0 1-11.6 7.1L4 20.5l1.4-4.9A8 8 0 1 1 21 12z",
    up: "M14 9V5a3 3 0 0 0-3-3l-4 9v11h11.3a2 2 0 0 0 2-1.7l1.4-9a2 2 0 0 0-2-2.3zM7 22H4a2 2 0 0 1-2-2v-7a2 2 0 0 1 2-2h3",
    down: "M10 15v4a3 3 0 0 0 3 3l4-9V2H5.7a2 2 0 0 0-2 1.7l-1.4 9a2 2 0 0 0 2 2.3zM17 2h2.7A2.3 2.3 0 0 1 22 4v7a2.3 2.3 0 0 1-2.3 2H17",
  };
  function icon(name) {
    var ns = "http://www.w3.org/2000/svg";
    var svg = document.createElementNS(ns, "svg");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("aria-hidden", "true");
    var path = document.createElementNS(ns, "path");
    path.setAttribute("d", ICONS[name]);
    svg.appendChild(path);
    return svg;
  }

  function mount() {
    var host = document.createElement("article-assistant");
    if (inline) host.setAttribute("inline", "");
    var shadow = host.attachShadow({ mode: "open" });
    var theme = data.theme === "dark" || data.theme === "light" ? data.theme : "auto";
    var root = el("div", { class: "root t-" + theme + (inline ? " inline" : data.position === "left" ? " left" : "") });
    if (data.accent && window.CSS && CSS.supports("color", data.accent)) root.style.setProperty("--accent", data.accent);

    var launcher = el("button", { class: "launcher", type: "button", "aria-label": title, "aria-expanded": "false", "aria-controls": "aa-panel" }, [icon("chat")]);
    var close = el("button", { class: "close", type: "button", "aria-label": "Close" }, ["\u00d7"]);
    var renew = el("button", { class: "new", type: "button", "aria-label": "New conversation", title: "New conversation" }, ["New"]);
    var log = el("div", { class: "log", "aria-live": "polite" });
    var input = el("textarea", { rows: "1", placeholder: data.placeholder || SITE.placeholder || "Ask a question\u2026", "aria-label": "Your question" });
    var send = el("button", { class: "send", type: "submit" }, ["Send"]);
    var form = el("form", { class: "form" }, [input, send]);
    var panel = el("div", { class: "panel", id: "aa-panel", role: "dialog", "aria-label": title }, [
      // inline on a page of its own (/embed), the title is the page's one h1
      el("div", { class: "bar" }, inline ? [el(document.querySelector("h1") ? "h2" : "h1", {}, [title]), renew] : [el("h2", {}, [title]), renew, close]),
      log, form,
      el("p", { class: "foot" }, [SITE.note || "Answers quote the article word for word."]),
    ]);
    var fresh = el("span", { class: "fresh" });
    panel.lastChild.appendChild(fresh);
    function showFreshness() { // when the index was built, from how much: readers see it is current
      fetch(base + "/healthz").then(function (r) { return r.ok ? r.json() : null; }).then(function (h) {
        if (!h || !h.built_at) return;
        var n = Number(h.articles) || 0;
        fresh.textContent = " Updated " + String(h.built_at).slice(0, 10) + " \u00b7 " + n + (n === 1 ? " article" : " articles") +
          ", " + (Number(h.passages) || 0) + " passages.";
      }).catch(function () {});
    }
    if (!inline) panel.hidden = true;

    var intro = el("p", { class: "intro" }, ["Ask a question; the answer quotes the article, with numbered sources."]);
    var chips = el("div", { class: "chips" });
    function chip(q) {
      var button = el("button", { class: "chip", type: "button" }, [q]);
      button.addEventListener("click", function () { ask(q); });
      return button;
    }
    function showExamples(list) {
      chips.textContent = "";
      list.slice(0, 3).forEach(function (q) { if (typeof q === "string" && q.trim()) chips.appendChild(chip(q.trim())); });
    }
    var examples = (data.examples || "").split("|").map(function (q) { return q.trim(); }).filter(Boolean);
    var examplesAsked = false;
    function loadExamples() { // none listed on the tag: three from the article's headings, once
      if (examples.length || examplesAsked || data.examples === "none") return;
      examplesAsked = true;
      fetch(base + "/api/examples", { credentials: "omit" }).then(function (r) { return r.ok ? r.json() : null; })
        .then(function (body) { if (body && Array.isArray(body.examples)) showExamples(body.examples); }).catch(function () {});
    }
    showExamples(examples);

    var history = [];
    var turns = []; // answered turns as shown: {q, body}, for the next page load
    var busy = false;

    function save() {
      try { sessionStorage.setItem(KEY, JSON.stringify({ history: history, turns: turns.slice(-KEPT) })); } catch (e) {}
    }
    function restore() {
      var saved = null;
      try { saved = JSON.parse(sessionStorage.getItem(KEY) || "null"); } catch (e) {}
      if (!saved || !Array.isArray(saved.turns)) return;
      history = Array.isArray(saved.history) ? saved.history.slice(-HISTORY) : [];
      saved.turns.forEach(function (t) {
        if (!t || typeof t.q !== "string" || !t.body || typeof t.body !== "object") return;
        turns.push(t);
        bubble("user", [t.q]);
        showAnswer(bubble("bot", []), t.body, false);
      });
    }
    function reset() {
      history = [];
      turns = [];
      try { sessionStorage.removeItem(KEY); } catch (e) {}
      log.textContent = "";
      log.appendChild(intro);
      log.appendChild(chips);
      input.value = "";
      input.focus();
    }

    var phone = window.matchMedia ? window.matchMedia("(max-width: 480px)") : { matches: false };
    function setOpen(open, quiet) {
      if (inline) return;
      if (open) { showFreshness(); loadExamples(); }
      panel.hidden = !open;
      launcher.setAttribute("aria-expanded", String(open));
      if (open && phone.matches) panel.setAttribute("aria-modal", "true");
      else panel.removeAttribute("aria-modal");
      if (!quiet) (open ? input : launcher).focus();
    }

    function bubble(cls, children) {
      var node = el("div", { class: "msg " + cls }, children);
      log.appendChild(node);
      log.scrollTop = log.scrollHeight;
      return node;
    }

    function safeHref(url) {
      try {
        var u = new URL(url, base);
        return u.protocol === "http:" || u.protocol === "https:" ? u.href : null;
      } catch (e) { return null; }
    }

    function citation(c) {
      var label = "[" + c.n + "] " + (c.section || c.doc_title || "Source");
      var href = safeHref(String(c.url || ""));
      var link = href ? el("a", { href: href, target: "_blank", rel: "noopener" }, [label]) : el("strong", {}, [label]);
      var text = String(c.text || "");
      var h = Array.isArray(c.highlight) ? c.highlight : [0, 0];
      var a = Math.max(0, Math.min(text.length, h[0] | 0)), b = Math.max(a, Math.min(text.length, h[1] | 0));
      var quote = el("p", { class: "quote" }, [text.slice(0, a), el("mark", {}, [text.slice(a, b)]), text.slice(b)]);
      return el("li", {}, [link, quote]);
    }

    // The answer's text with each [n] a link to its source: one click to check a quote.
    function linkedText(text, cites) {
      var hrefs = {};
      cites.forEach(function (c) { var h = safeHref(String(c.url || "")); if (h) hrefs[String(c.n)] = h; });
      var parts = text.split(/(\[\d+\])/);
      return parts.map(function (part) {
        var n = /^\[(\d+)\]$/.exec(part);
        if (!n || !hrefs[n[1]]) return document.createTextNode(part);
        return el("a", { class: "ref", href: hrefs[n[1]], target: "_blank", rel: "noopener", "aria-label": "Source " + n[1] }, [part]);
      });
    }

    function showAnswer(node, body, fresh) {
      node.textContent = "";
      node.removeAttribute("aria-label");
      // a follow-up read in context says what it was taken to be about, so a wrong guess shows
      if (typeof body.about === "string" && body.about) node.appendChild(el("p", { class: "about" }, ["About " + body.about]));
      var cites = Array.isArray(body.citations) ? body.citations.filter(function (c) { return c && typeof c === "object"; }) : [];
      linkedText(String(body.answer || ""), cites).forEach(function (part) { node.appendChild(part); });
      // only the sources the answer quotes: a related passage with a highlight would read as evidence
      var quoted = cites.filter(function (c) { return c.quoted !== false; });
      if (quoted.length) node.appendChild(el("ol", { class: "cites" }, quoted.map(citation)));
      if (typeof body.question_id === "string") node.appendChild(rating(body.question_id));
      var next = fresh && Array.isArray(body.suggestions) ? body.suggestions.filter(function (q) { return typeof q === "string"; }) : [];
      if (next.length) node.appendChild(el("div", { class: "chips next", role: "group", "aria-label": "Ask next" }, next.slice(0, 3).map(chip)));
    }
    // Thumbs under an answer -> POST /api/feedback; after a thumbs-down, an optional comment.
    function rating(questionId) {
      var up = el("button", { type: "button", "aria-label": "Helpful", "aria-pressed": "false" }, [icon("up")]);
      var down = el("button", { type: "button", "aria-label": "Not helpful", "aria-pressed": "false" }, [icon("down")]);
      var status = el("span", { class: "status", role: "status" });
      var row = el("div", { class: "rate", role: "group", "aria-label": "Was this answer helpful?" }, ["Helpful?", up, down, status]);
      var comment = null;
      function post(helpful, text, done) {
        fetch(base + "/api/feedback", {
          method: "POST", headers: { "content-type": "application/json" }, credentials: "omit",
          body: JSON.stringify({ question_id: questionId, helpful: helpful, comment: text || "" }),
        }).then(function (r) { done(r.ok); }, function () { done(false); });
      }
      function vote(helpful) {
        up.setAttribute("aria-pressed", String(helpful));
        down.setAttribute("aria-pressed", String(!helpful));
        post(helpful, "", function (ok) {
          status.textContent = ok ? "Thanks!" : "Feedback not saved.";
          if (ok && !helpful && !comment) {
            comment = el("input", { type: "text", maxlength: "500", placeholder: "What was missing? (optional)", "aria-label": "What was missing?" });
            var sendComment = el("button", { type: "button" }, ["Send"]);
            var submitComment = function () {
              if (!comment.value.trim()) return;
              post(false, comment.value.trim(), function (saved) {
                status.textContent = saved ? "Thanks, noted." : "Comment not saved.";
                if (saved) note.remove();
              });
            };
            sendComment.addEventListener("click", submitComment);
            comment.addEventListener("keydown", function (e) { if (e.key === "Enter") { e.preventDefault(); submitComment(); } });
            var note = el("div", { class: "note" }, [comment, sendComment]);
            row.appendChild(note);
            comment.focus();
          }
        });
      }
      up.addEventListener("click", function () { vote(true); });
      down.addEventListener("click", function () { vote(false); });
      return row;
    }

    // What went wrong, in the reader's words; `code` is the server's machine code when it sent one.
    var MESSAGES = {
      too_large: "That question is too long; please shorten it.",
      bad_request: "Please type a question about the article.",
      unavailable: "The assistant is busy or restarting; please try again in a moment.",
      internal: "Something went wrong on the assistant's side; please try again.",
      offline: "You seem to be offline. Check your connection and try again.",
      unreachable: "The assistant can't be reached right now; please try again in a moment.",
      not_allowed: "This site isn't allowed to use the assistant yet.",
    };
    function codeOf(r) {
      if (typeof r.body.code === "string") return r.body.code;
      if (r.status === 429) return "rate_limited";
      if (r.status === 413) return "too_large";
      if (r.status === 400 || r.status === 422) return "bad_request";
      if (r.status === 502 || r.status === 503 || r.status === 504) return "unavailable";
      return "internal";
    }
    function waitOf(r) { // Retry-After when CORS lets us read it, else the "in N s" of the message
      var seconds = Number(r.retryAfter);
      if (!(seconds > 0)) {
        var m = /in (\d+) ?s\b/.exec(String(r.body.error || ""));
        seconds = m ? Number(m[1]) : 30;
      }
      return Math.min(Math.ceil(seconds), 3600);
    }

    // A failed question: the message, the question back in the box, and a Retry button.
    function showError(node, asked, question, code, wait) {
      node.className = "msg error";
      node.removeAttribute("aria-label");
      node.setAttribute("role", "alert");
      node.textContent = "";
      var text = document.createTextNode("");
      var retry = el("button", { type: "button" }, ["Retry"]);
      node.appendChild(text);
      node.appendChild(retry);
      function again() {
        if (busy) return;
        node.remove();
        asked.remove();
        if (input.value.trim() === question) input.value = "";
        ask(question);
      }
      retry.addEventListener("click", again);
      if (code === "rate_limited") {
        var left = wait;
        retry.disabled = true;
        var tick = function () {
          if (!node.isConnected) return;
          if (left <= 0) {
            text.textContent = "You can ask again now.";
            retry.disabled = false;
            return;
          }
          text.textContent = "Too many questions right now; try again in " + left + " s.";
          left -= 1;
          setTimeout(tick, 1000);
        };
        tick();
      } else {
        text.textContent = MESSAGES[code] || MESSAGES.internal;
      }
      if (!input.value.trim()) { input.value = question; fit(); } // nothing typed is lost
    }

    // fetch() rejected: offline, the server down, or (page online, server up) CORS refused this origin.
    function whyUnreachable() {
      if (navigator.onLine === false) return Promise.resolve("offline");
      if (base === location.origin) return Promise.resolve("unreachable"); // same origin: CORS can't be why
      return fetch(base + "/healthz", { mode: "no-cors", cache: "no-store", credentials: "omit" }).then(function () {
        console.error("Article assistant: this page's origin, " + location.origin + ", may not call " + base +
          ". Add it to ASSISTANT_ALLOWED_ORIGINS on the assistant's server.");
        return "not_allowed";
      }, function () { return "unreachable"; });
    }

    function ask(question) {
      question = question.trim();
      if (!question || busy) return;
      busy = true;
      send.disabled = true;
      var old = log.querySelectorAll(".next");
      for (var i = 0; i < old.length; i++) old[i].remove(); // only the newest answer offers follow-ups
      var asked = bubble("user", [question]);
      var pending = bubble("bot", ["\u2026"]);
      pending.setAttribute("aria-label", "Looking in the article");
      var sent = history.slice(-HISTORY);
      fetch(base + "/api/ask", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ question: question, history: sent }),
        credentials: "omit",
      })
        .then(function (res) {
          var answer = function (body) {
            return { ok: res.ok, status: res.status, body: body && typeof body === "object" ? body : {}, retryAfter: res.headers.get("retry-after") };
          };
          return res.json().then(answer, function () { return answer({}); });
        }, function () {
          return whyUnreachable().then(function (code) { return { ok: false, code: code, body: {} }; });
        })
        .then(function (r) {
          if (!r.ok) {
            var code = r.code || codeOf(r);
            showError(pending, asked, question, code, code === "rate_limited" ? waitOf(r) : 0);
            return;
          }
          showAnswer(pending, r.body, true);
          history.push({ role: "user", content: question }, { role: "assistant", content: String(r.body.answer || "") });
          history = history.slice(-HISTORY);
          turns.push({ q: question, body: r.body });
          save();
        })
        .catch(function () {
          showError(pending, asked, question, "internal", 0);
        })
        .then(function () {
          busy = false;
          send.disabled = false;
          log.scrollTop = asked.offsetTop - 8; // the question on top, so the answer reads from its start
        });
    }

    form.addEventListener("submit", function (e) {
      e.preventDefault();
      if (busy) return;
      var q = input.value;
      if (!q.trim()) return;
      input.value = "";
      fit();
      ask(q);
    });
    function fit() { // grow with Shift+Enter lines, up to the CSS max-height
      input.style.height = "";
      if (input.scrollHeight > input.clientHeight) input.style.height = Math.min(input.scrollHeight + 2, 120) + "px";
    }
    input.addEventListener("input", fit);
    input.addEventListener("keydown", function (e) {
      if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
        e.preventDefault();
        form.requestSubmit ? form.requestSubmit() : send.click();
      }
    });
    panel.addEventListener("keydown", function (e) {
      if (e.key === "Escape" && !inline) {
        e.stopPropagation();
        setOpen(false);
      } else if (e.key === "Tab" && !inline && phone.matches) { // full screen on a phone: focus stays inside
        var items = Array.prototype.filter.call(panel.querySelectorAll("button,a[href],textarea,input"), function (x) {
          return !x.disabled && x.getClientRects().length;
        });
        if (!items.length) return;
        var first = items[0], last = items[items.length - 1], active = shadow.activeElement;
        if (e.shiftKey && (active === first || items.indexOf(active) < 0)) { e.preventDefault(); last.focus(); }
        else if (!e.shiftKey && (active === last || items.indexOf(active) < 0)) { e.preventDefault(); first.focus(); }
      }
    });
    launcher.addEventListener("click", function () { setOpen(panel.hidden); });
    close.addEventListener("click", function () { setOpen(false); });
    renew.addEventListener("click", reset);

    var style = el("style", {}, [STYLES]);
    shadow.appendChild(style);
    if (!inline) root.appendChild(launcher);
    root.appendChild(panel);
    shadow.appendChild(root);
    log.appendChild(intro);
    log.appendChild(chips);
    restore();
    // Inline mode sits where the tag is (if that is in the body). The floating launcher goes
    // first in the body, so it comes early in the tab order, not after the whole page.
    var parent = script.parentNode;
    if (inline && parent && parent !== document.head && document.body.contains(parent)) parent.insertBefore(host, script);
    else if (inline) document.body.appendChild(host);
    else document.body.insertBefore(host, document.body.firstChild);
    if (data.open === "true") setOpen(true, true); // opened, but without stealing focus on load
    if (inline) { showFreshness(); loadExamples(); }
  }

  if (document.body) mount();
  else document.addEventListener("DOMContentLoaded", mount);
})();
