// The Import page of the leads list (templates/admin/leads/lead/import.html).
(function () {
  "use strict";
  // The columns the page lists are the chosen campaign's: choosing another (before a
  // file is picked, which a reload would lose) shows its own.
  document.addEventListener("change", function (event) {
    if (event.target.id !== "id_campaign") { return; }
    var file = document.getElementById("id_import_file");
    if (event.target.value && !(file && file.files.length)) {
      window.location.search = "?campaign=" + encodeURIComponent(event.target.value);
    }
  });
  // A sample file is the chosen campaign's, so its address is known only on the click.
  document.addEventListener("click", function (event) {
    var link = event.target.closest("[data-sample]");
    if (!link) { return; }
    var campaign = document.getElementById("id_campaign").value;
    if (!campaign) { event.preventDefault(); window.alert("Choose the campaign first."); return; }
    link.href = link.closest("[data-sample-base]").dataset.sampleBase + campaign + "." + link.dataset.sample;
  });
})();
