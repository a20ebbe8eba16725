// A bulk action's confirmation page over a large selection: it shows the count at
// once and asks for what the action will skip here (the same post as the page's form,
// marked count_skips instead of apply), then lists the reasons.
(function () {
  "use strict";
  var box = document.getElementById("action-skips");
  var form = document.getElementById("action-form");
  var status = box && box.querySelector("[data-skips-status]");
  if (!status || !form) { return; }
  var list = box.querySelector("[data-skips-list]");
  var data = new FormData(form);
  data.delete("apply");
  data.set("count_skips", "1");
  function number(n) { return Number(n).toLocaleString("en-US"); }
  fetch(window.location.href, {method: "POST", body: data, credentials: "same-origin"})
    .then(function (response) {
      if (!response.ok) { throw new Error(response.status); }
      return response.json();
    })
    .then(function (answer) {
      if (!answer.counted) {
        status.textContent = "Too many to count in time; the result will say what was skipped.";
        return;
      }
      var count = Number(box.dataset.count);
      if (!answer.skipped.length) {
        status.textContent = "It will skip none of them.";
        return;
      }
      status.textContent = "It will skip " + number(answer.total) + " of them and change " +
        number(count - answer.total) + ":";
      answer.skipped.forEach(function (pair) {
        var item = document.createElement("li");
        item.textContent = number(pair[1]) + " " + pair[0];
        list.appendChild(item);
      });
    })
    .catch(function () {
      status.textContent = "What it will skip could not be counted; the result will say.";
    });
})();
