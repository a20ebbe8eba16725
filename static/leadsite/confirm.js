// A form marked data-confirm="question" is sent only once the question is answered
// with OK (the import page's Undo, which deletes leads).
(function () {
  "use strict";
  document.addEventListener("submit", function (event) {
    var question = event.target.dataset && event.target.dataset.confirm;
    if (question && !window.confirm(question)) { event.preventDefault(); }
  });
})();
