// Follows an import that runs in the background: polls its progress and reloads
// the page when the step is over.
(function () {
  var root = document.getElementById("import");
  if (!root) { return; }
  var bar = document.getElementById("import-progress");
  var text = document.getElementById("import-progress-text");
  var status = document.getElementById("import-status");
  function poll() {
    fetch(root.dataset.progressUrl, {credentials: "same-origin"})
      .then(function (response) { return response.json(); })
      .then(function (data) {
        bar.value = data.percent;
        text.textContent = data.done + " of " + data.total + " rows (" + data.percent + "%)";
        status.textContent = data.status_display;
        if (data.status !== root.dataset.status) { window.location.reload(); return; }
        setTimeout(poll, 1000);
      })
      .catch(function () { setTimeout(poll, 3000); });
  }
  poll();
})();
