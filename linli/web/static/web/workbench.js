/* Behaviour every workbench page shares.

   1. The navigation (linli/web/navigation.py): a menu button on phones and one open group at
      a time. Without this script the groups are native <details> and the phone menu is
      simply shown open, so every page stays reachable.
   2. Tables wider than the screen scroll inside their box; the box takes keyboard focus so
      the arrow keys scroll it too. */
(function () {
  "use strict";
  var english = (document.documentElement.lang || "").indexOf("en") === 0;
  Array.prototype.forEach.call(document.querySelectorAll(".table-scroll"), function (box) {
    if (box.hasAttribute("tabindex")) { return; }
    box.setAttribute("tabindex", "0");
    box.setAttribute("role", "region");
    var heading = box.closest("section") && box.closest("section").querySelector("h2, h3");
    var name = heading ? heading.textContent.trim() : "";
    box.setAttribute("aria-label", name || (english ? "Table" : "表格"));
  });
}());

(function () {
  "use strict";
  var nav = document.getElementById("mainnav");
  var toggle = document.querySelector(".nav-toggle");
  if (!nav) { return; }
  var groups = Array.prototype.slice.call(nav.querySelectorAll("details"));
  var phone = window.matchMedia("(max-width: 760px)");

  document.documentElement.classList.add("nav-js");

  function setMenu(open) {
    if (!toggle) { return; }
    toggle.setAttribute("aria-expanded", open ? "true" : "false");
    nav.classList.toggle("open", open);
  }

  function closeGroups(except) {
    groups.forEach(function (group) {
      if (group !== except) { group.open = false; }
    });
  }

  if (toggle) {
    toggle.hidden = false;
    toggle.addEventListener("click", function () {
      var open = toggle.getAttribute("aria-expanded") !== "true";
      setMenu(open);
      if (open) {
        // On the phone the group of the current page starts open.
        var current = nav.querySelector(".nav-group.current details");
        if (current) { current.open = true; }
        var first = nav.querySelector("a, summary");
        if (first) { first.focus(); }
      }
    });
  }

  groups.forEach(function (group) {
    group.addEventListener("toggle", function () {
      if (group.open && !phone.matches) { closeGroups(group); }
    });
  });

  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") { return; }
    var inside = nav.contains(document.activeElement);
    var openGroup = groups.filter(function (g) { return g.open; })[0];
    if (openGroup && !phone.matches) {
      openGroup.open = false;
      if (inside) { openGroup.querySelector("summary").focus(); }
    } else if (toggle && toggle.getAttribute("aria-expanded") === "true") {
      setMenu(false);
      toggle.focus();
    }
  });

  document.addEventListener("click", function (event) {
    if (phone.matches || nav.contains(event.target)) { return; }
    closeGroups(null);
  });

  phone.addEventListener("change", function () {
    setMenu(false);
    closeGroups(null);
  });
}());
