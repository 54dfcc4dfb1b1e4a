/* Article assistant widget: one <script src=".../widget.js" defer> tag draws a
 * launcher and a chat panel inside a shadow root and calls {base}/api/ask.
 * Everything from the reader or the API is inserted as text, never as markup.
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
  var title = data.title || "Ask this article";
  var inline = data.mode === "inline";
  var HISTORY = 6;

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
    ".bar h2{flex:1;margin:0;font-size:16px;font-weight:600;line-height:1.3;overflow:hidden;text-overflow:ellipsis;white-space:nowrap}" +
    ".close{border:0;background:transparent;color:#fff;width:32px;height:32px;border-radius:8px;cursor:pointer;font-size:22px;line-height:1;padding:0}" +
    ".close:hover{background:rgba(255,255,255,.18)}" +
    ".log{position:relative;flex:1;overflow-y:auto;padding:14px;display:flex;flex-direction:column;gap:10px;background:var(--bg)}" +
    ".intro{color:var(--muted);font-size:14px;margin:0}" +
    ".chips{display:flex;flex-wrap:wrap;gap:6px}" +
    ".chip{border:1px solid var(--accent);background:transparent;color:var(--fg);border-radius:16px;padding:4px 10px;font-size:13px;cursor:pointer;text-align:left}" +
    ".chip:hover{background:var(--soft)}" +
    ".msg{max-width:92%;padding:8px 12px;border-radius:12px;white-space:pre-wrap;overflow-wrap:anywhere}" +
    ".user{align-self:flex-end;background:var(--accent);color:#fff;border-bottom-right-radius:4px}" +
    ".bot{align-self:flex-start;background:var(--soft);border-bottom-left-radius:4px}" +
    ".error{align-self:flex-start;background:transparent;border:1px solid #c0392b;color:var(--fg)}" +
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
    ".rate button{border:1px solid var(--line);background:var(--bg);border-radius:8px;padding:3px 8px;cursor:pointer;font-size:13px;line-height:1.4;display:inline-flex;align-items:center}" +
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
    var log = el("div", { class: "log", "aria-live": "polite" });
    var input = el("textarea", { rows: "1", placeholder: data.placeholder || "Ask about this article\u2026", "aria-label": "Your question" });
    var send = el("button", { class: "send", type: "submit" }, ["Send"]);
    var form = el("form", { class: "form" }, [input, send]);
    var panel = el("div", { class: "panel", id: "aa-panel", role: "dialog", "aria-label": title }, [
      el("div", { class: "bar" }, inline ? [el("h2", {}, [title])] : [el("h2", {}, [title]), close]),
      log, form,
      el("p", { class: "foot" }, ["Answers quote the article; not medical advice."]),
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

    log.appendChild(el("p", { class: "intro" }, ["Ask a question; the answer quotes the article, with numbered sources."]));
    var examples = (data.examples || "").split("|").map(function (q) { return q.trim(); }).filter(Boolean);
    if (examples.length) {
      log.appendChild(el("div", { class: "chips" }, examples.map(function (q) {
        var chip = el("button", { class: "chip", type: "button" }, [q]);
        chip.addEventListener("click", function () { ask(q); });
        return chip;
      })));
    }

    var history = [];
    var busy = false;

    function setOpen(open, quiet) {
      if (inline) return;
      if (open) showFreshness();
      panel.hidden = !open;
      launcher.setAttribute("aria-expanded", String(open));
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

    function showAnswer(node, body) {
      node.textContent = "";
      node.removeAttribute("aria-label");
      // a follow-up read in context says what it was taken to be about, so a wrong guess shows
      if (typeof body.about === "string" && body.about) node.appendChild(el("p", { class: "about" }, ["About " + body.about]));
      node.appendChild(document.createTextNode(String(body.answer || "")));
      var cites = Array.isArray(body.citations) ? body.citations : [];
      if (cites.length) node.appendChild(el("ol", { class: "cites" }, cites.map(citation)));
      if (typeof body.question_id === "string") node.appendChild(rating(body.question_id));
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

    function showError(node, message) {
      node.className = "msg error";
      node.removeAttribute("aria-label");
      node.textContent = message;
    }

    function ask(question) {
      question = question.trim();
      if (!question || busy) return;
      busy = true;
      send.disabled = true;
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
          return res.json().then(
            function (body) { return { ok: res.ok, status: res.status, body: body || {} }; },
            function () { return { ok: false, status: res.status, body: {} }; }
          );
        })
        .then(function (r) {
          if (!r.ok) {
            showError(pending, typeof r.body.error === "string" ? r.body.error : "The assistant could not answer (HTTP " + r.status + ").");
            return;
          }
          showAnswer(pending, r.body);
          history.push({ role: "user", content: question }, { role: "assistant", content: String(r.body.answer || "") });
          history = history.slice(-HISTORY);
        })
        .catch(function () {
          showError(pending, "Could not reach the assistant. Check your connection and try again.");
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
      }
    });
    launcher.addEventListener("click", function () { setOpen(panel.hidden); });
    close.addEventListener("click", function () { setOpen(false); });

    var style = el("style", {}, [STYLES]);
    shadow.appendChild(style);
    if (!inline) root.appendChild(launcher);
    root.appendChild(panel);
    shadow.appendChild(root);
    // Inline mode sits where the tag is (if that is in the body); the launcher floats.
    var parent = script.parentNode;
    if (inline && parent && parent !== document.head && document.body.contains(parent)) parent.insertBefore(host, script);
    else document.body.appendChild(host);
    if (data.open === "true") setOpen(true, true); // opened, but without stealing focus on load
    if (inline) showFreshness();
  }

  if (document.body) mount();
  else document.addEventListener("DOMContentLoaded", mount);
})();
