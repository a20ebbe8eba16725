// The campaign page's dashboard follows the dialer: its figures are fetched again
// every few seconds while the page is visible (no reload, so the form below keeps
// whatever is being typed into it).
(function () {
  "use strict";
  const REFRESH_MS = 3000;
  function start() {
    const box = document.getElementById("campaign-dashboard");
    if (!box) return;
    async function refresh() {
      if (document.hidden) return;
      try {
        const response = await fetch(box.dataset.url, { credentials: "same-origin", headers: { "X-Requested-With": "fetch" } });
        if (response.ok) box.innerHTML = await response.text();
      } catch (error) {
        // Offline for a moment: the next refresh tries again.
      }
    }
    setInterval(refresh, REFRESH_MS);
  }
  document.addEventListener("DOMContentLoaded", start);
})();
