// The campaign page's dashboard follows the dialer: its figures are fetched again
// every few seconds while the page is visible (no reload, so the form below keeps
// whatever is being typed into it).
//
// The new dashboard is merged into the page's rather than put in its place: an
// element that is still there is kept, so the link a keyboard user is on keeps the
// focus (and a screen reader its place). What changed among the status and the
// figures is said once through the live region beside it.
(function () {
  "use strict";
  const REFRESH_MS = 3000;

  // Which element of the page a new one stands for: same tag and the same names.
  function key(node) {
    if (node.nodeType !== Node.ELEMENT_NODE) return "#" + node.nodeType;
    return [node.nodeName, node.id, node.className, node.dataset.figure, node.dataset.status].join("|");
  }

  function merge(node, incoming) {
    if (node.nodeType !== Node.ELEMENT_NODE) {
      if (node.nodeValue !== incoming.nodeValue) node.nodeValue = incoming.nodeValue;
      return;
    }
    for (const attribute of Array.from(node.attributes)) {
      if (!incoming.hasAttribute(attribute.name)) node.removeAttribute(attribute.name);
    }
    for (const attribute of Array.from(incoming.attributes)) {
      if (node.getAttribute(attribute.name) !== attribute.value) node.setAttribute(attribute.name, attribute.value);
    }
    mergeChildren(node, incoming);
  }

  function mergeChildren(parent, incomingParent) {
    let cursor = parent.firstChild;
    for (const incoming of Array.from(incomingParent.childNodes)) {
      let match = cursor && key(cursor) === key(incoming) ? cursor : null;
      // An element further on (a note or a bar segment appeared before it) is found;
      // text only where it stands, since whitespace is everywhere.
      if (!match && incoming.nodeType === Node.ELEMENT_NODE) {
        for (let node = cursor && cursor.nextSibling; node; node = node.nextSibling) {
          if (key(node) === key(incoming)) { match = node; break; }
        }
      }
      if (match) {
        while (cursor !== match) { const gone = cursor; cursor = cursor.nextSibling; gone.remove(); }
        merge(match, incoming);
        cursor = match.nextSibling;
      } else {
        parent.insertBefore(incoming, cursor);
      }
    }
    while (cursor) { const gone = cursor; cursor = cursor.nextSibling; gone.remove(); }
  }

  // The status line and each figure, as the dashboard words them.
  function figures(box) {
    const parts = [box.querySelector(".dashboard-state"), ...box.querySelectorAll(".dashboard-figures > div")];
    return parts.filter(Boolean).map((part) => part.textContent.replace(/\s+/g, " ").trim());
  }

  function start() {
    const box = document.getElementById("campaign-dashboard");
    if (!box) return;
    const news = document.getElementById("campaign-dashboard-changes");
    let said = figures(box);
    async function refresh() {
      if (document.hidden) return;
      let html;
      try {
        const response = await fetch(box.dataset.url, { credentials: "same-origin", headers: { "X-Requested-With": "fetch" } });
        if (!response.ok) return;
        html = await response.text();
      } catch (error) {
        return; // Offline for a moment: the next refresh tries again.
      }
      const focused = box.contains(document.activeElement) ? document.activeElement : null;
      const template = document.createElement("template");
      template.innerHTML = html;
      mergeChildren(box, template.content);
      // Should the focused element have gone after all, the focus goes to its
      // equivalent (the link to the same place) rather than to the page's start.
      if (focused && !box.contains(focused) && focused.hasAttribute("href")) {
        const same = Array.from(box.querySelectorAll("[href]")).find((link) => link.getAttribute("href") === focused.getAttribute("href"));
        if (same) same.focus();
      }
      const now = figures(box);
      const changed = now.filter((part, index) => part !== said[index]);
      said = now;
      if (news && changed.length) news.textContent = changed.join(". ");
    }
    setInterval(refresh, REFRESH_MS);
  }
  document.addEventListener("DOMContentLoaded", start);
})();
