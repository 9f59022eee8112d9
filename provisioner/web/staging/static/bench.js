// Refresh the bench rows every 2 s without a reload; the scan field keeps its focus and text.
(function () {
  "use strict";
  var table = document.querySelector("table.bench");
  if (!table) { return; }
  var url = table.getAttribute("data-rows-url");
  var body = document.getElementById("bench-rows");
  function refresh() {
    fetch(url, { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (response) {
        if (response.redirected) { window.location.assign(response.url); }  // logged out
        if (response.redirected || !response.ok) { throw new Error("bench refresh: " + response.status); }
        return response.text();
      })
      .then(function (html) { body.innerHTML = html; })
      .catch(function () { /* the next tick tries again */ })
      .finally(function () { window.setTimeout(refresh, 2000); });
  }
  window.setTimeout(refresh, 2000);
})();
