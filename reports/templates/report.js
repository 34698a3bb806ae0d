// Copy buttons and the "only problems" filter. No data is embedded in scripts: buttons copy the text
// of the <code> element they point at, which the template already escaped.
(function () {
  "use strict";

  function copyFallback(text) {
    var area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.style.position = "fixed";
    area.style.opacity = "0";
    document.body.appendChild(area);
    area.select();
    var ok = false;
    try { ok = document.execCommand("copy"); } catch (e) { ok = false; }
    document.body.removeChild(area);
    return ok;
  }

  function flash(button, words) {
    var before = button.getAttribute("data-label") || button.textContent;
    button.setAttribute("data-label", before);
    button.textContent = words;
    setTimeout(function () { button.textContent = before; }, 1500);
  }

  document.querySelectorAll("button.copy").forEach(function (button) {
    button.addEventListener("click", function () {
      var source = document.getElementById(button.getAttribute("data-target"));
      var text = source ? source.textContent : "";
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(text).then(
          function () { flash(button, "Copied"); },
          function () { flash(button, copyFallback(text) ? "Copied" : "Copy failed"); });
      } else {
        flash(button, copyFallback(text) ? "Copied" : "Copy failed");
      }
    });
  });

  var filter = document.getElementById("only-problems");
  if (filter) {
    filter.addEventListener("change", function () {
      document.body.classList.toggle("only-problems", filter.checked);
    });
  }

  // Marks that the script ran to the end (the browser test looks for it in the DOM).
  document.documentElement.setAttribute("data-ready", String(document.querySelectorAll("tr.clause").length));
})();
