/* The chat page's own behaviour on top of Gradio's: Copy gives plain text, each new
 * answer is scrolled into view from its top, and a rate-limit notice counts down. */
(function () {
  "use strict";

  // Copy: every answer carries its turn (with its plain text) in an HTML comment that is
  // never rendered; Gradio's Copy button would otherwise copy the escaped Markdown.
  var MARK = /<!--turn:([A-Za-z0-9+\/=]*)-->/;
  function plain(text) {
    var m = MARK.exec(text || "");
    if (!m) return text;
    try {
      var bytes = Uint8Array.from(atob(m[1]), function (c) { return c.charCodeAt(0); });
      return JSON.parse(new TextDecoder().decode(bytes)).copy || text;
    } catch (e) { return text; }
  }
  if (navigator.clipboard && navigator.clipboard.writeText) {
    var write = navigator.clipboard.writeText.bind(navigator.clipboard);
    navigator.clipboard.writeText = function (text) { return write(plain(text)); };
  }
  document.addEventListener("copy", function (e) { // Gradio's fallback copies a textarea's selection
    var target = e.target;
    if (!target || target.tagName !== "TEXTAREA" || !MARK.test(target.value)) return;
    e.clipboardData.setData("text/plain", plain(target.value));
    e.preventDefault();
  }, true);

  // Answer first, in view: when a new answer appears, its top goes to the top of the chat's
  // scroll area (the question just above stays in sight when there is room), and the page
  // scrolls too if the chat itself is out of view (phones).
  var answered = 0;
  function answers(chat) { return chat.querySelectorAll(".message-row.bot-row, .message-row.bubble.bot-row"); }
  function scroller(node) {
    for (var el = node.parentElement; el; el = el.parentElement) {
      var style = getComputedStyle(el);
      if (/(auto|scroll)/.test(style.overflowY) && el.scrollHeight > el.clientHeight) return el;
    }
    return null;
  }
  function showNewAnswer() {
    var chat = document.getElementById("chat");
    if (!chat) return;
    var rows = answers(chat);
    if (rows.length < answered) answered = 0; // cleared
    if (rows.length === answered) return;
    answered = rows.length;
    if (!rows.length) return;
    var answer = rows[rows.length - 1];
    var area = scroller(answer);
    if (area) {
      var question = answer.previousElementSibling;
      while (question && !question.classList.contains("user-row")) question = question.previousElementSibling;
      var top = answer.getBoundingClientRect().top - area.getBoundingClientRect().top + area.scrollTop;
      var lead = question ? Math.min(question.getBoundingClientRect().height + 8, area.clientHeight / 4) : 8;
      area.scrollTop = Math.max(0, top - lead);
    }
    var box = answer.getBoundingClientRect();
    if (box.top < 0 || box.top > window.innerHeight - 48) window.scrollBy(0, box.top - 8);
  }
  new MutationObserver(showNewAnswer).observe(document.documentElement, { childList: true, subtree: true });

  // "try again in N s": counted down where the chat shows it (#notice).
  setInterval(function () {
    var notice = document.querySelector("#notice p");
    var m = notice && /^(.*try again in )(\d+)( s\.)$/.exec(notice.textContent.trim());
    if (!m) return;
    var left = Number(m[2]) - 1;
    notice.textContent = left > 0 ? m[1] + left + m[3] : "You can ask again now.";
  }, 1000);
})();
