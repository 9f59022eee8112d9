// The print buttons of labels, pick lists and packing slips: a file, not an onclick attribute,
// so that the pages' Content-Security-Policy can refuse every inline script.
(function () {
  "use strict";
  document.querySelectorAll("button[data-print]").forEach(function (button) {
    button.addEventListener("click", function () { window.print(); });
  });
})();
