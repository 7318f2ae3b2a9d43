// Report form: the 大类 filter narrowing the 小类 list (optional: without it the form still
// posts). The position comes from the map picker (web/map-picker.js).
(function () {
  "use strict";
  var major = document.getElementById("major-filter");
  var minor = document.getElementById("id_category");
  if (major && minor) {
    major.addEventListener("change", function () {
      Array.prototype.forEach.call(minor.querySelectorAll("optgroup"), function (group) {
        group.hidden = Boolean(major.value) && group.label !== major.value;
      });
      var selected = minor.options[minor.selectedIndex];
      if (selected && selected.parentElement.hidden) { minor.value = ""; }
    });
  }
})();
