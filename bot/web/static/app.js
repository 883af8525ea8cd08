// The only script on the site: filter the item list as you type, and the print button.
// Everything works without it (the category chips are plain links filtered on the server).
(function () {
  "use strict";

  function setupPrint() {
    document.querySelectorAll("[data-print]").forEach(function (button) {
      button.addEventListener("click", function () { window.print(); });
    });
  }

  function setupBrowse() {
    var box = document.getElementById("browse");
    var input = document.getElementById("browse-filter");
    var select = document.getElementById("browse-dept");
    if (!box || !input || !select) { return; }
    var chips = box.querySelectorAll(".chip[data-kind]");
    var items = box.querySelectorAll("li.item");
    var groups = box.querySelectorAll(".dept-group");
    var blocks = box.querySelectorAll(".kind-block");
    var count = document.getElementById("browse-count");
    var empty = document.getElementById("browse-empty");
    var active = box.querySelector(".chip.active");
    var kind = active ? active.getAttribute("data-kind") : "";

    function apply() {
      var terms = input.value.toLowerCase().split(/\s+/).filter(Boolean);
      var dept = select.value;
      var shown = 0;
      items.forEach(function (li) {
        var text = (li.getAttribute("data-text") || "").toLowerCase();
        var ok = (!kind || li.getAttribute("data-kind") === kind) &&
          (!dept || li.getAttribute("data-dept") === dept) &&
          terms.every(function (t) { return text.indexOf(t) !== -1; });
        li.hidden = !ok;
        if (ok) { shown += 1; }
      });
      groups.forEach(function (g) { g.hidden = !g.querySelector("li.item:not([hidden])"); });
      blocks.forEach(function (b) { b.hidden = !b.querySelector("li.item:not([hidden])"); });
      if (count) { count.textContent = "显示 " + shown + " 项"; }
      if (empty) { empty.hidden = shown !== 0; }
    }

    chips.forEach(function (chip) {
      chip.addEventListener("click", function (event) {
        event.preventDefault();
        kind = chip.getAttribute("data-kind");
        chips.forEach(function (c) { c.classList.toggle("active", c === chip); });
        apply();
      });
    });
    // With the script the list filters in place; the form's submit is only the no-script path.
    var form = document.getElementById("browse-form");
    if (form) { form.addEventListener("submit", function (event) { event.preventDefault(); apply(); }); }
    input.addEventListener("input", apply);
    select.addEventListener("change", apply);
    apply();
  }

  document.addEventListener("DOMContentLoaded", function () {
    setupPrint();
    setupBrowse();
  });
}());
