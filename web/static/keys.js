// Keyboard shortcuts; every page works without them. j/k move, Enter opens, / search, n note, r reply.
(function () {
  var at = -1;
  function rows() { return document.querySelectorAll("[data-row]"); }
  function mark(i) {
    var all = rows(); if (!all.length) return;
    at = Math.max(0, Math.min(all.length - 1, i));
    all.forEach(function (r) { r.classList.remove("focus"); });
    all[at].classList.add("focus"); all[at].scrollIntoView({block: "nearest"});
  }
  function open(id, focus) {
    var box = document.getElementById(id); if (!box) return false;
    box.open = true; var el = document.getElementById(focus); if (el) el.focus(); return true;
  }
  document.addEventListener("keydown", function (e) {
    var t = e.target.tagName;
    if (t === "INPUT" || t === "TEXTAREA" || t === "SELECT" || e.ctrlKey || e.metaKey || e.altKey) return;
    var done = true;
    if (e.key === "j") mark(at + 1);
    else if (e.key === "k") mark(at - 1);
    else if (e.key === "Enter" && at >= 0) { var a = rows()[at].querySelector("a"); if (a) a.click(); }
    else if (e.key === "/") { var q = document.getElementById("q"); if (q) q.focus(); }
    else if (e.key === "n") done = open("note-box", "note");
    else if (e.key === "r") done = open("reply-box", "reply");
    else done = false;
    if (done) e.preventDefault();
  });
})();
