// Follows work that runs in the background (an import, an XLSX export): polls its
// progress and reloads the page when the step is over. The page marks the parts:
// [data-progress-url][data-status] around a <progress>, [data-progress-text] and
// [data-progress-status].
(function () {
  var root = document.querySelector("[data-progress-url]");
  if (!root) { return; }
  var bar = root.querySelector("progress");
  var text = root.querySelector("[data-progress-text]");
  var status = root.querySelector("[data-progress-status]");
  var unit = root.dataset.progressUnit || "rows";
  function poll() {
    fetch(root.dataset.progressUrl, {credentials: "same-origin"})
      .then(function (response) { return response.json(); })
      .then(function (data) {
        if (bar) { bar.value = data.percent; }
        if (text) { text.textContent = data.done + " of " + data.total + " " + unit + " (" + data.percent + "%)"; }
        if (status) { status.textContent = data.status_display; }
        if (data.status !== root.dataset.status) { window.location.reload(); return; }
        setTimeout(poll, 1000);
      })
      .catch(function () { setTimeout(poll, 3000); });
  }
  poll();
})();
